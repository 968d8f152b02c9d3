"""condgan-blocks: the building blocks of pix2pixHD as clean, tested PyTorch modules."""

from . import editing, evaluation, visualization
from ._version import __version__
from .feature_bank import FeatureBank
from .feature_matching_loss import FeatureMatchingLoss, feature_matching_loss
from .gan_loss import GANLoss, gan_loss
from .global_generator import GlobalGenerator
from .image_pyramid import downsample, image_pyramid
from .init_weights import init_weights
from .instance_boundary import InstanceBoundary, instance_boundary
from .instance_encoder import InstanceFeatureEncoder
from .instance_ids import instance_to_class
from .instance_pool import InstanceAveragePool, instance_average_pool
from .local_enhancer import EnhancerStage, LocalEnhancer
from .multiscale_discriminator import MultiscaleDiscriminator
from .nlayer_discriminator import NLayerDiscriminator
from .one_hot import OneHotLabels, one_hot_labels
from .padding import crop_padding, pad_to_multiple
from .resnet_block import ResnetBlock
from .vgg19_features import VGG19Features
from .vgg_perceptual_loss import VGGPerceptualLoss, vgg_perceptual_loss

__all__ = [
    "EnhancerStage",
    "FeatureBank",
    "FeatureMatchingLoss",
    "GANLoss",
    "GlobalGenerator",
    "InstanceAveragePool",
    "InstanceBoundary",
    "InstanceFeatureEncoder",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "OneHotLabels",
    "ResnetBlock",
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
    "one_hot_labels",
    "pad_to_multiple",
    "vgg_perceptual_loss",
    "visualization",
]
