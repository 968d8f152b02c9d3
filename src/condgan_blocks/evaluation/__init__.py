"""The paper's evaluation: segment synthesised images and compare with the input labels.

pix2pixHD is scored by running a segmentation network, trained on REAL images, over the
synthesised images and measuring how well it recovers the label maps they were made from
(pixel accuracy and mean IoU, Table 1 of the paper). The same numbers for the real images are
the oracle, and for a flat-colour painting of the labels (every class in its mean real colour)
the floor.

- :func:`confusion_matrix`, :class:`ConfusionMatrix`, :func:`pixel_accuracy`, :func:`mean_iou`,
  :func:`per_class_iou`: the scores, vectorised with ``bincount``.
- :class:`SegmentationNet`, :func:`train_segmenter`, :func:`segment`, :func:`save_segmenter`,
  :func:`load_segmenter`: a small fully-convolutional segmenter and its TorchScript files.
- :func:`mean_class_colours`, :func:`flat_colour_image`: the flat-colour floor.
- :func:`masked_mean_colour`: the mean colour of a region, to compare object styles.
- `high_frequency_energy`, `HighFrequencyMeter`: chroma and luminance noise of images.

``import condgan_blocks`` makes it available as ``condgan_blocks.evaluation``; it needs torch
only.
"""

from .flat_colour import flat_colour_image, masked_mean_colour, mean_class_colours
from .high_frequency import HighFrequencyMeter, high_frequency_energy
from .metrics import ConfusionMatrix, confusion_matrix, mean_iou, per_class_iou, pixel_accuracy
from .segmenter import (
    SegmentationNet,
    load_segmenter,
    save_segmenter,
    segment,
    train_segmenter,
)

__all__ = [
    "ConfusionMatrix",
    "HighFrequencyMeter",
    "SegmentationNet",
    "confusion_matrix",
    "flat_colour_image",
    "high_frequency_energy",
    "load_segmenter",
    "masked_mean_colour",
    "mean_class_colours",
    "mean_iou",
    "per_class_iou",
    "pixel_accuracy",
    "save_segmenter",
    "segment",
    "train_segmenter",
]
