"""Run an exported ONNX generator with onnxruntime on torch tensors."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import torch
from torch import Tensor

from .._checks import check_divisible_size, check_image_batch
from .._files.archive import check_input_file, fail
from ._extra import import_extra
from .onnx_export import MIN_SIZE_KEY, SIZE_MULTIPLE_KEY

_WHAT = "ONNX file"
_MAX_SIZE = 2**20  # bound of the size metadata; generators need far less
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

    It takes the generator's input, not label maps: to generate from label maps of any size,
    with the padding, condition and styles of every other path, put it behind a
    [`Synthesizer`][condgan_blocks.synthesis.Synthesizer]:
    ``synthesizer.with_generator(OnnxGenerator(path))`` or
    ``Synthesizer.from_training(training, generator=OnnxGenerator(path))``.

    Args:
        path: The ``.onnx`` file.
        providers: onnxruntime execution providers in order of preference; ``None`` means
            every provider this onnxruntime build has (CUDA before CPU where present).

    Attributes:
        in_channels: Input channels C.
        out_channels: Output channels.
        size_multiple: The number H and W must be divisible by.
        min_size: The smallest H and W accepted.
        dtype: The torch dtype of the graph's input (as exported).
        session: The ``onnxruntime.InferenceSession``.

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of ``size_multiple``.
        - Output: (N, out_channels, H, W).

    The file is parsed by onnxruntime and its graph runs onnxruntime's own kernels: loading
    runs no Python code from the file, but onnxruntime's parser and kernels are trusted with
    its content. The metadata is checked before it is used.

    Raises:
        ImportError: If onnxruntime is not installed.
        TypeError: If ``path`` is not a str or os.PathLike, or ``providers`` not strings.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is empty, truncated or otherwise not loadable by onnxruntime,
            was not written by ``export_onnx``, or its size metadata are not ints in
            [1, 2**20] (the message names the file and the metadata key).

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
        if providers is not None and (
            isinstance(providers, str) or not all(isinstance(p, str) for p in providers)
        ):
            raise TypeError(f"providers must be a sequence of str or None, got {providers!r}")
        onnxruntime = import_extra("onnxruntime", "OnnxGenerator")
        self.path = check_input_file(path, _WHAT)
        if providers is None:
            providers = onnxruntime.get_available_providers()
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), providers=list(providers))
        except Exception as error:  # onnxruntime's InvalidProtobuf, InvalidArgument, Fail, ...
            raise fail(
                self.path, _WHAT, f"onnxruntime cannot load it ({type(error).__name__}: {error})"
            ) from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if SIZE_MULTIPLE_KEY not in metadata or MIN_SIZE_KEY not in metadata:
            raise ValueError(
                f"{str(self.path)!r} has no condgan_blocks size metadata; write it with "
                "condgan_blocks.export.export_onnx"
            )
        self.size_multiple = self._metadata_int(metadata, SIZE_MULTIPLE_KEY)
        self.min_size = self._metadata_int(metadata, MIN_SIZE_KEY)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise fail(
                self.path,
                _WHAT,
                f"export_onnx writes one input and one output, the graph has {len(inputs)} "
                f"and {len(outputs)}",
            )
        (graph_input,), (graph_output,) = inputs, outputs
        self._input_name = graph_input.name
        # Static dimensions are ints, dynamic ones names such as "16*h_blocks".
        self._input_shape = tuple(graph_input.shape)
        if (
            len(self._input_shape) != 4
            or len(graph_output.shape) != 4
            or not isinstance(self._input_shape[1], int)
            or not isinstance(graph_output.shape[1], int)
            or graph_input.type not in _DTYPES
        ):
            raise fail(
                self.path,
                _WHAT,
                f"expected an input and output (N, C, H, W) with fixed C of one of the types "
                f"{sorted(_DTYPES)}, got {graph_input.type} {self._input_shape} and "
                f"{graph_output.type} {tuple(graph_output.shape)}",
            )
        self.in_channels = self._input_shape[1]
        self.out_channels = graph_output.shape[1]
        self._dtype = _DTYPES[graph_input.type]
        self.dtype = self._dtype

    def _metadata_int(self, metadata: dict[str, str], key: str) -> int:
        value = metadata[key]
        if re.fullmatch(r"[0-9]{1,7}", value) is None or not 1 <= int(value) <= _MAX_SIZE:
            raise fail(
                self.path,
                _WHAT,
                f"its metadata {key} must be an int in [1, {_MAX_SIZE}], got {value!r}",
            )
        return int(value)

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
