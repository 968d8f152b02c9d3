"""Compatibility layers for checkpoints trained with other implementations.

- [`condgan_blocks.compat.pix2pixhd`][condgan_blocks.compat.pix2pixhd]: NVIDIA's original
  pix2pixHD code.
"""
