"""ONNX files of the generators, through torch's torch.export-based ONNX exporter."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from .._checks import check_bool, check_positive_int
from .._files.atomic import atomic_path
from .._version import __version__
from ._extra import import_extra
from ._files import check_output_path
from ._tracing import check_generator, exporting, plan_trace

INPUT_NAME = "input"
OUTPUT_NAME = "output"
# Keys of the ONNX model's metadata_props that OnnxGenerator reads back.
METADATA_PREFIX = "condgan_blocks."
SIZE_MULTIPLE_KEY = METADATA_PREFIX + "size_multiple"
MIN_SIZE_KEY = METADATA_PREFIX + "min_size"


def export_onnx(
    generator: torch.nn.Module,
    path: str | os.PathLike,
    *,
    example_input: Tensor | Sequence[int] | None = None,
    opset: int | None = None,
    dynamic_size: bool = True,
    batch_dynamic: bool = True,
) -> Path:
    """Write a generator as an ONNX model whose height, width and batch size can vary.

    Needs the ``onnx`` extra (``pip install "condgan-blocks[onnx]"``): torch's ONNX exporter
    uses onnxscript. The generator is traced by ``export_program``'s rules: in eval mode
    (batch norm uses its running statistics) and without autograd, every submodule's mode
    restored afterwards; with ``dynamic_size``, the input's height and width are the symbolic
    ``{size_multiple}*h_blocks`` and ``{size_multiple}*w_blocks``. The graph has one input
    ``"input"`` (N, in_channels, H, W) and one output ``"output"``; its metadata records
    ``condgan_blocks.size_multiple`` and ``condgan_blocks.min_size`` (the smallest H and W),
    which ``OnnxGenerator`` uses to check inputs, since ONNX keeps no such checks.

    The file is written in a temporary folder beside ``path`` and moved onto it, so readers
    never see a partial file. A model over protobuf's 2 GB limit (a local enhancer whose global
    generator is 128 channels wide, for example) keeps its weights in ``<path>.data`` beside it;
    onnxruntime finds them there.

    Args:
        generator: A ``GlobalGenerator`` or ``LocalEnhancer``.
        path: The ``.onnx`` file to write; its folder must exist.
        example_input: An input tensor or its shape (N, C, H, W); see ``export_program``.
        opset: ONNX opset version; ``None`` is torch's default.
        dynamic_size: Export for every H and W the generator accepts; ``False`` fixes them to
            the example's.
        batch_dynamic: Export for any batch size N; ``False`` fixes N to the example's.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        ImportError: If onnx or onnxscript is not installed.
        TypeError: For a wrong kind of ``generator``, ``path``, ``example_input`` or ``opset``.
        ValueError: For an ``example_input`` the generator would reject.
        FileNotFoundError: If the folder of ``path`` does not exist.

    Examples:
        >>> import torch
        >>> from condgan_blocks import GlobalGenerator
        >>> from condgan_blocks.export import OnnxGenerator, export_onnx
        >>> net = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)
        >>> path = export_onnx(net, "generator.onnx")  # doctest: +SKIP
        >>> OnnxGenerator(path)(torch.randn(1, 3, 32, 48)).shape  # doctest: +SKIP
        torch.Size([1, 3, 32, 48])
    """
    check_generator(generator)
    path = check_output_path(path)
    if opset is not None:
        check_positive_int("opset", opset)
    check_bool("dynamic_size", dynamic_size)
    check_bool("batch_dynamic", batch_dynamic)
    with exporting(generator):
        trace = plan_trace(
            generator, example_input, dynamic_size=dynamic_size, batch_dynamic=batch_dynamic
        )
        import_extra("onnx", "export_onnx")
        import_extra("onnxscript", "export_onnx")
        onnx_program = torch.onnx.export(
            generator,
            (trace.example,),
            dynamo=True,
            dynamic_shapes=trace.dynamic_shapes,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            verbose=False,
        )
    onnx_program.model.metadata_props.update(
        {
            METADATA_PREFIX + "generator": type(generator).__name__,
            METADATA_PREFIX + "version": __version__,
            SIZE_MULTIPLE_KEY: str(trace.size_multiple),
            MIN_SIZE_KEY: str(trace.min_size),
        }
    )
    with atomic_path(path) as temporary:
        onnx_program.save(temporary)
    return path
