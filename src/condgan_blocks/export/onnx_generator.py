"""Run an exported ONNX generator with onnxruntime on torch tensors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from .._checks import check_divisible_size, check_image_batch
from ._extra import import_extra
from .onnx_export import MIN_SIZE_KEY, SIZE_MULTIPLE_KEY

# onnxruntime's element types and the torch dtypes they hold.
_DTYPES = {
    "tensor(float)": torch.float32,
    "tensor(double)": torch.float64,
    "tensor(float16)": torch.float16,
}


class OnnxGenerator:
    """An ONNX file written by ``export_onnx``, callable like the generator in eval mode.

    Inputs are checked as the generator's forward checks them (channels, H and W multiples of
    ``size_multiple``, at least ``min_size``; exact sizes where the export fixed them), with the
    same ``ValueError`` messages, since the ONNX graph keeps no checks. The tensor is copied to
    the CPU for onnxruntime and the output comes back on the input's device. Needs onnxruntime
    (``pip install "condgan-blocks[onnx]"``).

    Args:
        path: The ``.onnx`` file.
        providers: onnxruntime execution providers in order of preference; ``None`` means
            every provider this onnxruntime build has (CUDA before CPU where present).

    Attributes:
        in_channels: Input channels C.
        out_channels: Output channels.
        size_multiple: The number H and W must be divisible by.
        min_size: The smallest H and W accepted.
        session: The ``onnxruntime.InferenceSession``.

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of ``size_multiple``.
        - Output: (N, out_channels, H, W).

    Raises:
        ImportError: If onnxruntime is not installed.
        ValueError: If the file was not written by ``export_onnx``.

    Examples:
        >>> import torch
        >>> from condgan_blocks.export import OnnxGenerator
        >>> generator = OnnxGenerator("generator.onnx")  # doctest: +SKIP
        >>> generator(torch.randn(1, 3, 32, 48)).shape  # doctest: +SKIP
        torch.Size([1, 3, 32, 48])
    """

    def __init__(self, path: str | os.PathLike, *, providers: Sequence[str] | None = None) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        onnxruntime = import_extra("onnxruntime", "OnnxGenerator")
        self.path = Path(path)
        if providers is None:
            providers = onnxruntime.get_available_providers()
        self.session = onnxruntime.InferenceSession(str(self.path), providers=list(providers))
        metadata = self.session.get_modelmeta().custom_metadata_map
        if SIZE_MULTIPLE_KEY not in metadata or MIN_SIZE_KEY not in metadata:
            raise ValueError(
                f"{str(self.path)!r} has no condgan_blocks size metadata; write it with "
                "condgan_blocks.export.export_onnx"
            )
        self.size_multiple = int(metadata[SIZE_MULTIPLE_KEY])
        self.min_size = int(metadata[MIN_SIZE_KEY])
        (graph_input,) = self.session.get_inputs()
        (graph_output,) = self.session.get_outputs()
        self._input_name = graph_input.name
        # Static dimensions are ints, dynamic ones names such as "16*h_blocks".
        self._input_shape = tuple(graph_input.shape)
        self.in_channels = int(self._input_shape[1])
        self.out_channels = int(graph_output.shape[1])
        self._dtype = _DTYPES[graph_input.type]

    def __call__(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.in_channels)
        if x.dtype != self._dtype:
            raise TypeError(f"expected input of dtype {self._dtype} (as exported), got {x.dtype}")
        for axis, (size, expected) in enumerate(zip(x.shape, self._input_shape, strict=True)):
            if isinstance(expected, int) and size != expected:
                raise ValueError(
                    f"the ONNX model was exported for input shape {self._input_shape}: "
                    f"dimension {axis} must be {expected}, got {tuple(x.shape)}"
                )
        check_divisible_size(x, self.size_multiple, why="the exported generator's size multiple")
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"input {tuple(x.shape)} is too small: height and width must be at least "
                f"{self.min_size}"
            )
        array = x.detach().cpu().contiguous().numpy()
        (output,) = self.session.run(None, {self._input_name: array})
        return torch.from_numpy(output).to(x.device)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, in_channels={self.in_channels}, "
            f"out_channels={self.out_channels}, size_multiple={self.size_multiple}, "
            f"min_size={self.min_size})"
        )
