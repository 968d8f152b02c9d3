"""condgan-blocks: the building blocks of pix2pixHD as clean, tested PyTorch modules."""

from . import editing, evaluation, visualization
from ._version import __version__
from .discriminators import MultiscaleDiscriminator, NLayerDiscriminator
from .generators import EnhancerStage, GlobalGenerator, LocalEnhancer
from .instance import (
    FeatureBank,
    InstanceAveragePool,
    InstanceBoundary,
    InstanceFeatureEncoder,
    OneHotLabels,
    instance_average_pool,
    instance_boundary,
    instance_to_class,
    one_hot_labels,
)
from .layers import (
    LabelModulatedNorm,
    ResnetBlock,
    crop_padding,
    downsample,
    image_pyramid,
    init_weights,
    pad_to_multiple,
)
from .losses import (
    FeatureMatchingLoss,
    GANLoss,
    LocalTextureLoss,
    VGG19Features,
    VGGPerceptualLoss,
    feature_matching_loss,
    gan_loss,
    local_detail_energy,
    vgg_perceptual_loss,
)
from .synthesis import Synthesizer

__all__ = [
    "EnhancerStage",
    "FeatureBank",
    "FeatureMatchingLoss",
    "GANLoss",
    "GlobalGenerator",
    "InstanceAveragePool",
    "InstanceBoundary",
    "InstanceFeatureEncoder",
    "LabelModulatedNorm",
    "LocalEnhancer",
    "LocalTextureLoss",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "OneHotLabels",
    "ResnetBlock",
    "Synthesizer",
    "VGG19Features",
    "VGGPerceptualLoss",
    "__version__",
    "crop_padding",
    "downsample",
    "editing",
    "evaluation",
    "feature_matching_loss",
    "gan_loss",
    "image_pyramid",
    "init_weights",
    "instance_average_pool",
    "instance_boundary",
    "instance_to_class",
    "local_detail_energy",
    "one_hot_labels",
    "pad_to_multiple",
    "vgg_perceptual_loss",
    "visualization",
]
