"""The coarse-to-fine generator of pix2pixHD (paper section 3.2): G1 and the local enhancers."""

from .global_generator import GlobalGenerator
from .local_enhancer import EnhancerStage, LocalEnhancer

__all__ = ["EnhancerStage", "GlobalGenerator", "LocalEnhancer"]
