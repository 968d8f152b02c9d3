"""Layers shared by every network: the residual block, label-modulated norms, padding,
downsampling and initialisation."""

from .initialization import init_weights
from .label_modulation import LabelModulatedNorm
from .padding import crop_padding, pad_to_multiple
from .pyramid import downsample, image_pyramid
from .resnet_block import ResnetBlock

__all__ = [
    "LabelModulatedNorm",
    "ResnetBlock",
    "crop_padding",
    "downsample",
    "image_pyramid",
    "init_weights",
    "pad_to_multiple",
]
