"""The paper's evaluation: segment synthesised images and compare with the input labels.

pix2pixHD is scored by running a segmentation network, trained on REAL images, over the
synthesised images and measuring how well it recovers the label maps they were made from
(pixel accuracy and mean IoU, Table 1 of the paper). The same numbers for the real images are
the oracle, and for a flat-colour painting of the labels (every class in its mean real colour)
the floor.

- [`confusion_matrix`][condgan_blocks.evaluation.confusion_matrix],
  [`ConfusionMatrix`][condgan_blocks.evaluation.ConfusionMatrix],
  [`pixel_accuracy`][condgan_blocks.evaluation.pixel_accuracy],
  [`mean_iou`][condgan_blocks.evaluation.mean_iou],
  [`per_class_iou`][condgan_blocks.evaluation.per_class_iou]: the scores, vectorised with
  ``bincount``.
- [`SegmentationNet`][condgan_blocks.evaluation.SegmentationNet],
  [`train_segmenter`][condgan_blocks.evaluation.train_segmenter],
  [`segment`][condgan_blocks.evaluation.segment],
  [`save_segmenter`][condgan_blocks.evaluation.save_segmenter],
  [`load_segmenter`][condgan_blocks.evaluation.load_segmenter],
  [`load_or_train_segmenter`][condgan_blocks.evaluation.load_or_train_segmenter]: a small
  fully-convolutional segmenter and its files.
- [`mean_class_colours`][condgan_blocks.evaluation.mean_class_colours],
  [`flat_colour_image`][condgan_blocks.evaluation.flat_colour_image]: the flat-colour floor.
- [`masked_mean_colour`][condgan_blocks.evaluation.masked_mean_colour]: the mean colour of a region,
  to compare object styles.
- `high_frequency_energy`, `HighFrequencyMeter`: chroma and luminance noise of images.
- `summarize_evaluation`, `evaluation_warnings`, `format_evaluation` and the other
  `format_*` functions: the results dict, its warnings and its text report.
- `psnr`, `ssim`, `ImagePairMeter`: full-reference scores of generated images against their
  targets, for image-to-image runs that have no labels to segment.
- `render_instance_styles`: one object rendered with each feature-bank cluster of its class,
  and how far apart the styles' colours are.
- `frechet_distance`, `kernel_inception_distance` (and `feature_statistics`,
  `frechet_distance_from_statistics`): FID and KID between two feature sets;
  `InceptionFeatures`, `load_inception_features`, `inception_weights_path`: the Inception-v3
  of the standard FID weights; `FidKidMeter`, `fid_kid`, `format_fid_kid`: both scores of
  generated against real images.

``import condgan_blocks`` makes it available as ``condgan_blocks.evaluation``; it needs torch
only.
"""

from .feature_distances import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    kernel_inception_distance,
)
from .flat_colour import flat_colour_image, masked_mean_colour, mean_class_colours
from .high_frequency import HighFrequencyMeter, high_frequency_energy
from .image_metrics import ImagePairMeter, psnr, ssim
from .inception import (
    FID_WEIGHTS_URL,
    INCEPTION_WEIGHTS_ENV,
    InceptionFeatures,
    inception_weights_path,
    load_inception_features,
)
from .inception_scores import FidKidMeter, fid_kid, format_fid_kid
from .metrics import ConfusionMatrix, confusion_matrix, mean_iou, per_class_iou, pixel_accuracy
from .report import (
    SMOKE_RUN_WARNING,
    evaluation_warnings,
    format_class_ratios,
    format_evaluation,
    format_noise,
    format_pair_scores,
    format_ratio,
    format_score_table,
    format_style_draws,
    summarize_evaluation,
)
from .segmenter import (
    SegmentationNet,
    load_or_train_segmenter,
    load_segmenter,
    save_segmenter,
    segment,
    train_segmenter,
)
from .style_spread import render_instance_styles

__all__ = [
    "ConfusionMatrix",
    "FID_WEIGHTS_URL",
    "FidKidMeter",
    "HighFrequencyMeter",
    "INCEPTION_WEIGHTS_ENV",
    "ImagePairMeter",
    "InceptionFeatures",
    "SMOKE_RUN_WARNING",
    "SegmentationNet",
    "confusion_matrix",
    "evaluation_warnings",
    "feature_statistics",
    "fid_kid",
    "flat_colour_image",
    "format_evaluation",
    "format_fid_kid",
    "format_class_ratios",
    "format_noise",
    "format_pair_scores",
    "format_ratio",
    "format_score_table",
    "format_style_draws",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "high_frequency_energy",
    "inception_weights_path",
    "kernel_inception_distance",
    "load_inception_features",
    "load_or_train_segmenter",
    "load_segmenter",
    "masked_mean_colour",
    "mean_class_colours",
    "mean_iou",
    "per_class_iou",
    "pixel_accuracy",
    "psnr",
    "render_instance_styles",
    "save_segmenter",
    "segment",
    "ssim",
    "summarize_evaluation",
    "train_segmenter",
]
