"""The training objective of pix2pixHD (paper section 3.2, equation 4): adversarial,
discriminator feature matching and VGG perceptual losses, and the offline texture and
class-balanced L1 terms."""

from .adversarial import GANLoss, gan_loss
from .class_balance import class_balance_weights, class_balanced_l1
from .feature_matching import FeatureMatchingLoss, feature_matching_loss
from .perceptual import VGGPerceptualLoss, vgg_perceptual_loss
from .texture import LocalTextureLoss, local_detail_energy
from .vgg19 import VGG19Features

__all__ = [
    "FeatureMatchingLoss",
    "GANLoss",
    "LocalTextureLoss",
    "VGG19Features",
    "VGGPerceptualLoss",
    "class_balance_weights",
    "class_balanced_l1",
    "feature_matching_loss",
    "gan_loss",
    "local_detail_energy",
    "vgg_perceptual_loss",
]
