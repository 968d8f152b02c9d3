"""Read an original pix2pixHD experiment folder: opt.txt and its network checkpoints."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ._instance import DEFAULTS as ENCODER_DEFAULTS
from ._networks import DEFAULTS as NETWORK_DEFAULTS
from ._options import option_problem, width_problem
from ._registry import BUILDERS
from ._state_dict import load_state_dict, read_state_dict

_MAX_OPTIONS_BYTES = 1 << 20


def parse_options(text: str, *, source: str = "opt.txt") -> dict[str, Any]:
    """Parse the ``opt.txt`` the original writes (``name: value`` lines between two rulers).

    Values are read as Python literals where possible (ints, floats, bools, lists, None) and
    kept as strings otherwise. The options that the networks are built from are checked by kind
    and range (``ngf`` an int in [1, 65536], ``n_downsample_global`` in [0, 10], ``no_instance``
    a bool, ``netG`` "global" or "local", ...), and the widths they imply (``ngf *
    2**n_downsample_global`` and the like) must stay within 65536 channels, so that a crafted
    or damaged file is refused before anything is allocated.

    Args:
        text: The content of ``opt.txt``.
        source: What to call the text in error messages (``load_experiment`` passes the path).

    Raises:
        TypeError: If ``text`` is not a str.
        ValueError: Naming ``source``, the line and the option: for a control character (binary
            content) or an option of the wrong kind or out of range.

    Examples:
        >>> text = "------------ Options -------------\\nname: label2city\\nngf: 64\\n"
        >>> text += "no_instance: False\\n-------------- End ----------------\\n"
        >>> parse_options(text)
        {'name': 'label2city', 'ngf': 64, 'no_instance': False}
        >>> parse_options("ngf: abc")
        Traceback (most recent call last):
        ...
        ValueError: opt.txt line 1: ngf must be an int, got str 'abc'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    options: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in line):
            raise ValueError(
                f"{source} line {number}: holds control characters; an opt.txt is text "
                "(is this a binary file?)"
            )
        name, sep, value = line.partition(":")
        if not sep or line.startswith("-") or not name.strip():
            continue
        name, value = name.strip(), value.strip()
        try:
            options[name] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            options[name] = value
        lines[name] = number
    _check_options(options, lines, source)
    return options


def _check_options(options: dict[str, Any], lines: dict[str, int], source: str) -> None:
    for name, value in options.items():
        problem = option_problem(name, value)
        if problem is not None:
            raise ValueError(f"{source} line {lines[name]}: {problem[1]}")

    def value(name: str, defaults: dict[str, Any]) -> Any:
        return options.get(name, defaults[name])

    generator = [("n_downsample_global", value("n_downsample_global", NETWORK_DEFAULTS))]
    if options.get("netG") == "local":
        generator.insert(0, ("n_local_enhancers", value("n_local_enhancers", NETWORK_DEFAULTS)))
    for problem in (
        width_problem(("ngf", value("ngf", NETWORK_DEFAULTS)), *generator),
        width_problem(
            ("nef", value("nef", ENCODER_DEFAULTS)),
            ("n_downsample_E", value("n_downsample_E", ENCODER_DEFAULTS)),
        ),
    ):
        if problem is not None:
            blamed, message = problem
            where = f" line {lines[blamed]}" if blamed in lines else ""
            raise ValueError(f"{source}{where}: {message}")


def read_options_file(path: Path) -> dict[str, Any]:
    """Read and parse ``opt.txt``: at most 1 MiB of UTF-8 text; errors name the file and line."""
    size = path.stat().st_size
    if size > _MAX_OPTIONS_BYTES:
        raise ValueError(
            f"{path} is {size} bytes; an opt.txt is a few kilobytes (at most {_MAX_OPTIONS_BYTES})"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: not UTF-8 text (byte {data[error.start]:#04x}); is this a "
            "binary file?"
        ) from None
    return parse_options(text, source=str(path))


def network_options(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Options per network, with input channels derived exactly as the original model does.

    Returns:
        ``{"G": ..., "D": ..., "E": ...}``, each holding ``kind`` and the options for ``build``.
    """
    label_nc = options.get("label_nc", 35)
    input_nc = label_nc if label_nc != 0 else options.get("input_nc", 3)
    output_nc = options.get("output_nc", 3)
    with_instance = not options.get("no_instance", False)
    use_features = options.get("instance_feat", False) or options.get("label_feat", False)
    feat_num = options.get("feat_num", 3)

    generator_nc = input_nc + int(with_instance) + (feat_num if use_features else 0)
    generator_kind = (
        "local_enhancer" if options.get("netG", "global") == "local" else "global_generator"
    )
    return {
        "G": {**options, "kind": generator_kind, "input_nc": generator_nc},
        "D": {
            **options,
            "kind": "multiscale_discriminator",
            "input_nc": input_nc + output_nc + int(with_instance),
            "use_sigmoid": options.get("no_lsgan", False),
            "getIntermFeat": not options.get("no_ganFeat_loss", False),
        },
        "E": {**options, "kind": "encoder", "input_nc": output_nc},
    }


@dataclass
class Pix2PixHDExperiment:
    """The networks of an original pix2pixHD experiment, rebuilt from our blocks.

    Attributes:
        options: The parsed ``opt.txt``.
        generator: ``netG`` (a GlobalGenerator or LocalEnhancer).
        discriminator: ``netD`` if its checkpoint exists, else None.
        encoder: ``netE`` if its checkpoint exists, else None.

    Examples:
        >>> from condgan_blocks.compat import pix2pixhd
        >>> net = pix2pixhd.build("global_generator", {"input_nc": 4, "ngf": 4})
        >>> experiment = pix2pixhd.Pix2PixHDExperiment({"ngf": 4}, net)
        >>> experiment.discriminator is None, experiment.files
        (True, {})
    """

    options: dict[str, Any]
    generator: nn.Module
    discriminator: nn.Module | None = None
    encoder: nn.Module | None = None
    files: dict[str, Path] = field(default_factory=dict)


def load_experiment(
    experiment_dir: str | os.PathLike, which_epoch: str | int = "latest"
) -> Pix2PixHDExperiment:
    """Load the networks of an original pix2pixHD experiment folder.

    Reads ``opt.txt`` (written by the original's training or test script) and
    ``<which_epoch>_net_G.pth``, plus ``_net_D.pth`` and ``_net_E.pth`` when present, with
    ``weights_only=True``. Input channels are derived as the original does: ``label_nc`` (or
    ``input_nc`` when ``label_nc`` is 0), +1 for the instance boundary map unless
    ``no_instance``, +``feat_num`` with ``instance_feat``/``label_feat``.

    Every network is returned in eval mode. The original's ``test.py`` never called ``.eval()``,
    so with ``norm=batch`` it normalised with batch statistics; call ``.train()`` to reproduce that.

    Args:
        experiment_dir: The folder holding ``opt.txt`` and the ``.pth`` files.
        which_epoch: The checkpoint prefix, "latest" or an epoch number.

    ``opt.txt`` is checked as [`parse_options`][condgan_blocks.compat.pix2pixhd.parse_options]
    describes, and every checkpoint as
    [`load_checkpoint`][condgan_blocks.compat.pix2pixhd.load_checkpoint] describes, before
    anything is built or loaded.

    Raises:
        FileNotFoundError: If ``opt.txt`` or the generator checkpoint is missing.
        ValueError: If ``opt.txt`` is not text or holds an option of the wrong kind or out of
            range (the message names the file and the line), or a checkpoint is empty,
            truncated, damaged, holds objects that ``weights_only=True`` refuses, or does not
            match the options (the message names the file).

    Examples:
        >>> import os, tempfile, torch
        >>> from condgan_blocks.compat import pix2pixhd
        >>> folder = tempfile.mkdtemp()
        >>> options = {"input_nc": 4, "ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1}
        >>> net = pix2pixhd.build("global_generator", options)
        >>> torch.save(
        ...     pix2pixhd.to_original_state_dict(net), os.path.join(folder, "latest_net_G.pth")
        ... )
        >>> lines = ["label_nc: 3", "ngf: 4", "n_downsample_global: 1", "n_blocks_global: 1"]
        >>> with open(os.path.join(folder, "opt.txt"), "w") as f:
        ...     _ = f.write("\\n".join(["--- Options ---", *lines, "--- End ---"]))
        >>> experiment = pix2pixhd.load_experiment(folder)
        >>> type(experiment.generator).__name__, experiment.discriminator, sorted(experiment.files)
        ('GlobalGenerator', None, ['G'])
        >>> experiment.generator(torch.zeros(1, 4, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """
    folder = Path(experiment_dir)
    opt_file = folder / "opt.txt"
    if not opt_file.is_file():
        raise FileNotFoundError(
            f"no opt.txt in {folder}; expected the original's experiment folder"
        )
    options = read_options_file(opt_file)
    per_network = network_options(options)
    modules: dict[str, nn.Module] = {}
    files: dict[str, Path] = {}
    for name, net_options in per_network.items():
        path = folder / f"{which_epoch}_net_{name}.pth"
        if not path.is_file():
            if name == "G":
                raise FileNotFoundError(f"no generator checkpoint {path.name} in {folder}")
            continue
        state = read_state_dict(path)
        module = BUILDERS[net_options["kind"]](net_options)
        load_state_dict(module, state)
        modules[name] = module.eval()
        files[name] = path
    return Pix2PixHDExperiment(options, modules["G"], modules.get("D"), modules.get("E"), files)
