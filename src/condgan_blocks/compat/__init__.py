"""Compatibility layers for checkpoints trained with other implementations.

- :mod:`condgan_blocks.compat.pix2pixhd`: NVIDIA's original pix2pixHD code.
"""
