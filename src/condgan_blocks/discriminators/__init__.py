"""The multi-scale PatchGAN discriminators of pix2pixHD (paper section 3.2)."""

from .multiscale import MultiscaleDiscriminator
from .nlayer import NLayerDiscriminator

__all__ = ["MultiscaleDiscriminator", "NLayerDiscriminator"]
