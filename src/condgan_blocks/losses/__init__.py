"""The training objective of pix2pixHD (paper section 3.2, equation 4): adversarial,
discriminator feature matching and VGG perceptual losses."""

from .adversarial import GANLoss, gan_loss
from .feature_matching import FeatureMatchingLoss, feature_matching_loss
from .perceptual import VGGPerceptualLoss, vgg_perceptual_loss
from .vgg19 import VGG19Features

__all__ = [
    "FeatureMatchingLoss",
    "GANLoss",
    "VGG19Features",
    "VGGPerceptualLoss",
    "feature_matching_loss",
    "gan_loss",
    "vgg_perceptual_loss",
]
