"""condgan-blocks: the building blocks of pix2pixHD as clean, tested PyTorch modules."""

from ._version import __version__
from .global_generator import GlobalGenerator
from .image_pyramid import downsample, image_pyramid
from .init_weights import init_weights
from .local_enhancer import EnhancerStage, LocalEnhancer
from .multiscale_discriminator import MultiscaleDiscriminator
from .nlayer_discriminator import NLayerDiscriminator
from .padding import crop_padding, pad_to_multiple
from .resnet_block import ResnetBlock

# losses (issue 3): add imports here

# instance-level blocks (issue 4): add imports here

__all__ = [
    "EnhancerStage",
    "GlobalGenerator",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "ResnetBlock",
    "__version__",
    "crop_padding",
    "downsample",
    "image_pyramid",
    "init_weights",
    "pad_to_multiple",
]
