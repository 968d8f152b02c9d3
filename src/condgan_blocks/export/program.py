"""torch.export programs of the generators: deployment without ONNX."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.export import ExportedProgram

from .._checks import check_bool
from .._files.atomic import atomic_path
from .._files.program_check import read_program_archive
from ._files import check_output_path
from ._tracing import check_generator, exporting, plan_trace


def export_program(
    generator: torch.nn.Module,
    example_input: Tensor | Sequence[int] | None = None,
    *,
    dynamic_size: bool = True,
    batch_dynamic: bool = True,
) -> ExportedProgram:
    """Export a generator with ``torch.export.export``, for any input size it accepts.

    The generator is exported in eval mode (batch norm uses its running statistics, not the
    batch's) and without autograd; afterwards every submodule is back in the mode it had. With
    ``dynamic_size``, height and width are exported as ``size_multiple * h_blocks`` and
    ``size_multiple * w_blocks`` from the smallest size the generator accepts upwards; the
    program's ``.module()`` rejects other sizes (with torch's ``AssertionError`` or
    ``RuntimeError``, not the generator's ``ValueError``).

    Args:
        generator: A ``GlobalGenerator`` or ``LocalEnhancer``.
        example_input: An input tensor or its shape (N, C, H, W), checked like a real input;
            only its shape, dtype and device matter, never its values. Optional with
            ``dynamic_size``: the default uses the generator's parameters' dtype and device.
            Dynamic dimensions are traced at size 2 or more whatever the example says.
        dynamic_size: Export for every H and W the generator accepts. ``False`` fixes them to
            the example's (then ``example_input`` is required).
        batch_dynamic: Export for any batch size N; ``False`` fixes N to the example's.

    Returns:
        The ``torch.export.ExportedProgram``; call ``program.module()(x)`` to run it and
        ``save_program`` to store it. Like any torch.export program it shares the generator's
        parameter tensors: further training changes it until it is saved.

    Raises:
        TypeError: If ``generator`` is not one of the generators, or ``example_input`` is not a
            tensor or shape of ints, or has another dtype than the generator.
        ValueError: If ``example_input`` has the wrong channels, a size the generator rejects,
            or is missing with ``dynamic_size=False``.

    Examples:
        >>> import torch
        >>> from condgan_blocks import GlobalGenerator
        >>> from condgan_blocks.export import export_program
        >>> net = GlobalGenerator(3, base_channels=4, num_downsamples=2, num_blocks=1)
        >>> program = export_program(net)
        >>> runnable = program.module()
        >>> x = torch.randn(1, 3, 32, 48)
        >>> with torch.no_grad():
        ...     torch.allclose(runnable(x), net.eval()(x), atol=1e-5)
        True
    """
    check_generator(generator)
    check_bool("dynamic_size", dynamic_size)
    check_bool("batch_dynamic", batch_dynamic)
    with exporting(generator):
        trace = plan_trace(
            generator, example_input, dynamic_size=dynamic_size, batch_dynamic=batch_dynamic
        )
        return torch.export.export(generator, (trace.example,), dynamic_shapes=trace.dynamic_shapes)


def save_program(program: ExportedProgram, path: str | os.PathLike) -> Path:
    """Write ``program`` with ``torch.export.save``, atomically.

    The file is written in a temporary folder beside ``path`` and moved onto it, so readers
    never see a partial file. The ``.pt2`` suffix is the convention.

    Args:
        program: What ``export_program`` returned.
        path: The file to write; its folder must exist.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        TypeError: If ``program`` is not a ``torch.export.ExportedProgram``.
        FileNotFoundError: If the folder of ``path`` does not exist.

    Examples:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from condgan_blocks import GlobalGenerator
        >>> from condgan_blocks.export import export_program, load_program, save_program
        >>> net = GlobalGenerator(3, base_channels=4, num_downsamples=1, num_blocks=1)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = save_program(export_program(net), Path(folder) / "generator.pt2")
        ...     generator = load_program(path).module()
        >>> generator(torch.randn(2, 3, 12, 8)).shape
        torch.Size([2, 3, 12, 8])
    """
    if not isinstance(program, ExportedProgram):
        raise TypeError(
            f"program must be a torch.export.ExportedProgram, got {type(program).__name__}"
        )
    path = check_output_path(path)
    with atomic_path(path) as temporary:
        torch.export.save(program, temporary)
    return path


def load_program(path: str | os.PathLike) -> ExportedProgram:
    """Read a program written by ``save_program``; only torch is needed.

    ``torch.export.load`` on its own runs code from the file: it unpickles weights and
    constants marked ``use_pickle``, evaluates symbolic sizes with ``sympy.sympify`` (which
    calls ``eval``), compiles the guards with ``exec`` in ``.module()`` and lets graph nodes call
    any attribute of ``torch``. So the archive is inspected first and refused when it holds
    anything but raw tensor bytes and a JSON graph of ``torch.ops`` operators, with symbolic
    sizes and guards that are plain arithmetic (see ``condgan_blocks._files.program_check``). What
    stays trusted is torch's JSON deserializer and the operators the graph names; running the
    program runs those operators on your inputs.

    Args:
        path: A ``.pt2`` file.

    Returns:
        The ``torch.export.ExportedProgram``; ``load_program(path).module()`` is a module
        that runs like the generator in eval mode (for the sizes it was exported for).

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is empty, truncated, damaged (a CRC32 does not match), not a
            ``torch.export`` archive, or holds a pickle, compiled code or a graph that calls
            anything but operators; the message names the file and the member.

    Examples:
        >>> import os, tempfile, torch
        >>> from condgan_blocks import GlobalGenerator
        >>> from condgan_blocks.export import export_program, load_program, save_program
        >>> net = GlobalGenerator(3, base_channels=2, num_downsamples=1, num_blocks=1).eval()
        >>> path = os.path.join(tempfile.mkdtemp(), "generator.pt2")
        >>> _ = save_program(export_program(net), path)
        >>> program = load_program(path)
        >>> type(program).__name__
        'ExportedProgram'
        >>> x = torch.randn(1, 3, 8, 12)
        >>> with torch.no_grad():
        ...     torch.allclose(program.module()(x), net(x), atol=1e-5)
        True
    """
    return read_program_archive(path)
