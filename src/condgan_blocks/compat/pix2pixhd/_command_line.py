"""The original's train.py / test.py options, translated into the recipe's command line.

The recipe (``examples/pix2pixhd.py``) names its flags after what they set (``--epochs``,
``--data-root``, ``--set training.generator.num_blocks=6``); NVIDIA's scripts use their own
names (``--niter``, ``--dataroot``, ``--n_blocks_global``). This module knows every option of
the original's ``base_options.py``, ``train_options.py`` and ``test_options.py``: what each
one means in the recipe, which have no effect there and which are not supported, and why.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...training.checkpoint import LATEST_NAME, epoch_checkpoint_name
from ._options import option_problem

# The original's options by script, with their kind: "flag" (store_true), "int", "float", "str".
BASE_OPTIONS: dict[str, str] = {
    "name": "str", "gpu_ids": "str", "checkpoints_dir": "str", "model": "str", "norm": "str",
    "use_dropout": "flag", "data_type": "int", "verbose": "flag", "fp16": "flag",
    "local_rank": "int", "batchSize": "int", "loadSize": "int", "fineSize": "int",
    "label_nc": "int", "input_nc": "int", "output_nc": "int", "dataroot": "str",
    "resize_or_crop": "str", "serial_batches": "flag", "no_flip": "flag", "nThreads": "int",
    "max_dataset_size": "int", "display_winsize": "int", "tf_log": "flag", "netG": "str",
    "ngf": "int", "n_downsample_global": "int", "n_blocks_global": "int",
    "n_blocks_local": "int", "n_local_enhancers": "int", "niter_fix_global": "int",
    "no_instance": "flag", "instance_feat": "flag", "label_feat": "flag", "feat_num": "int",
    "load_features": "flag", "n_downsample_E": "int", "nef": "int", "n_clusters": "int",
}  # fmt: skip
TRAIN_OPTIONS: dict[str, str] = {
    "display_freq": "int", "print_freq": "int", "save_latest_freq": "int",
    "save_epoch_freq": "int", "no_html": "flag", "debug": "flag", "continue_train": "flag",
    "load_pretrain": "str", "which_epoch": "str", "phase": "str", "niter": "int",
    "niter_decay": "int", "beta1": "float", "lr": "float", "num_D": "int", "n_layers_D": "int",
    "ndf": "int", "lambda_feat": "float", "no_ganFeat_loss": "flag", "no_vgg_loss": "flag",
    "no_lsgan": "flag", "pool_size": "int",
}  # fmt: skip
# test.py's ``--onnx`` (run an ONNX model) is left to the recipe's generate --onnx, which means
# the same; it is not translated.
TEST_OPTIONS: dict[str, str] = {
    "ntest": "int", "results_dir": "str", "aspect_ratio": "float", "phase": "str",
    "which_epoch": "str", "how_many": "int", "cluster_path": "str", "use_encoded_image": "flag",
    "export_onnx": "str", "engine": "str",
}  # fmt: skip
ORIGINAL_OPTIONS: dict[str, str] = {**BASE_OPTIONS, **TRAIN_OPTIONS, **TEST_OPTIONS}

RESIZE_OR_CROP = ("resize_and_crop", "scale_width", "scale_width_and_crop", "crop", "none")
# train.py without --preset behaves as the original's train.py: the recipe's folder preset (the
# layout the original reads) with the original's defaults of these options.
TRAIN_DEFAULTS: dict[str, Any] = {
    "dataroot": "./datasets/cityscapes/",
    "label_nc": 35,
    "resize_or_crop": "scale_width",  # with --loadSize 1024
    "niter": 100,
    "niter_decay": 100,
    "batchSize": 1,
}
DEFAULT_CHECKPOINTS_DIR = "./checkpoints"
DEFAULT_NAME = "label2city"

# Options that change nothing in the recipe, with what happens instead.
NO_EFFECT = {
    "verbose": "the resolved configuration is shown by --print-config",
    "tf_log": "TensorBoard logs are written whenever tensorboard is installed",
    "no_html": "RUN/index.html is always written",
    "display_winsize": "RUN/index.html shows the images at their size",
    "use_dropout": "pix2pixHD's networks never used it either",
    "local_rank": "torchrun passes the rank in LOCAL_RANK",
    "save_epoch_freq": "a checkpoint is written every epoch (checkpoints/epoch_NNNN.pt) and the "
    "last --keep-last kept",
    "ntest": "the original ignores it too",
    "aspect_ratio": "only the original's HTML page used it",
}
# Options the recipe cannot honour, with what to use instead.
UNSUPPORTED = {
    "label_feat": "label features are not supported in training (load_experiment reads the "
    "checkpoints of such runs); use --instance_feat",
    "load_features": "label features are not supported; use --instance_feat",
    "debug": "use train --dry-run N to time a few steps, or --niter 1 --niter_decay 0 on a "
    "small data folder",
    "max_dataset_size": "point --dataroot at a folder holding fewer samples",
    "cluster_path": "the styles come from RUN/checkpoints/feature_bank.npz, written by "
    "encode-features",
    "export_onnx": "use condgan_blocks.export.export_onnx, then generate --onnx FILE",
    "engine": "TensorRT engines are not supported; export ONNX (condgan_blocks.export) and run "
    "it with generate --onnx FILE",
}
# Options that fix the networks: generate, encode-features, evaluate and edit read them from
# the run's recipe.json, so given ones are dropped.
ARCHITECTURE = frozenset(
    ("label_nc", "input_nc", "output_nc", "netG", "ngf", "n_downsample_global",
     "n_blocks_global", "n_blocks_local", "n_local_enhancers", "niter_fix_global",
     "no_instance", "instance_feat", "feat_num", "n_downsample_E", "nef", "norm", "model",
     "batchSize", "nThreads", "serial_batches", "no_flip", "data_type", "n_clusters")
)  # fmt: skip
# Original option -> the recipe key it sets with --set, for the one-to-one ones.
SETTINGS = {
    "n_local_enhancers": "training.generator.num_enhancers",
    "n_downsample_global": "training.generator.num_downsamples",
    "n_blocks_global": "training.generator.num_blocks",
    "n_blocks_local": "training.generator.num_blocks_local",
    "niter_fix_global": "training.freeze_global_epochs",
    "ndf": "training.discriminator.base_channels",
    "n_layers_D": "training.discriminator.num_layers",
    "num_D": "training.discriminator.num_scales",
    "lr": "training.optimizer.lr",
    "beta1": "training.optimizer.beta1",
    "nThreads": "training.num_workers",
    "n_clusters": "recipe.n_clusters",
}
# Original option -> the recipe flag taking the same value.
FLAGS = {
    "dataroot": "--data-root",
    "niter": "--epochs",
    "niter_decay": "--decay-epochs",
    "batchSize": "--batch-size",
    "pool_size": "--fake-pool",
}
# Original switch -> the recipe arguments it becomes.
SWITCHES = {
    "continue_train": ["--resume"],
    "no_instance": ["--no-instance-boundary"],
    "instance_feat": ["--instance-features"],
    "fp16": ["--precision", "fp16"],
    "no_flip": ["--set", "data.flip=false"],
    "serial_batches": ["--set", "training.shuffle=false"],
    "no_lsgan": ["--set", "training.losses.gan_mode=vanilla"],
}
COMMANDS = ("train", "generate", "encode-features", "evaluate", "edit")
# Original options that are also recipe flags of the same meaning: left to the recipe.
SHARED = {"generate": frozenset({"phase"})}


def translate_command_line(argv: Sequence[str]) -> list[str]:
    """Translate NVIDIA pix2pixHD's option names in a recipe command line into the recipe's.

    ``argv`` is what follows ``python examples/pix2pixhd.py``: the subcommand, then any mix of
    the recipe's own flags (passed on untouched, after the translated ones, so they win) and
    the original's options (``--name``, ``--niter``, ``--netG local``, ...). ``train`` takes
    train.py's options; ``generate`` takes test.py's; ``encode-features``, ``evaluate`` and
    ``edit`` take ``--name``/``--checkpoints_dir``, ``--gpu_ids`` and ``--which_epoch latest``
    (and ``--n_clusters`` for encode-features). A command line without original options is
    returned unchanged.

    - ``--checkpoints_dir D --name N`` is the run folder ``D/N`` (``--output`` of train,
      ``--run`` of the others; the original's defaults are ``./checkpoints`` and
      ``label2city``).
    - ``--label_nc K`` sets both ``training.num_classes`` and ``data.label_nc`` (and
      ``--output_nc``, ``--input_nc`` with ``--label_nc 0`` the channels of both sections).
    - ``--resize_or_crop``, ``--loadSize`` and ``--fineSize`` set ``data.width``
      (scale_width), ``data.resize`` (resize_and_crop: a ``loadSize`` square) and
      ``data.crop`` (the ``*crop`` modes: a random ``fineSize`` square, drawn once per
      training sample for label, instance and image alike); ``none`` keeps the frames as they
      are.
    - ``train`` with original options and neither ``--preset`` nor ``--smoke`` nor a resume
      behaves as the original's train.py: the ``folder`` preset, with the original's defaults
      for the data root (``./datasets/cityscapes/``), ``--label_nc 35``, ``--loadSize 1024``
      scale_width, ``--niter 100 --niter_decay 100`` and ``--batchSize 1``. With a preset,
      only the options given change it.
    - ``generate`` reads ``--dataroot`` (default ``./datasets/cityscapes/``) in the folder
      layout, phase ``--phase`` (default test), as test.py does; ``--results_dir R`` writes
      to ``R/NAME/PHASE_EPOCH``. The network options of test.py (``--netG``, ``--ngf``, ...)
      are dropped: the run's ``recipe.json`` holds them.

    Options that change nothing here (``--tf_log``, ``--save_epoch_freq``, ...) are dropped
    with one warning that names them and says what happens instead.

    Args:
        argv: The recipe's command line without the program name, e.g.
            ``["train", "--name", "label2city_512p", "--niter", "50"]``.

    Returns:
        The recipe's command line, e.g. ``["train", "--preset", "folder", ...,
        "--output", "./checkpoints/label2city_512p", ..., "--epochs", "50", ...]``.

    Raises:
        TypeError: If ``argv`` is not a sequence of str.
        ValueError: For an unknown original option (with the nearest known name), an option
            the subcommand does not take, an unsupported option or value (saying what to use
            instead), a value of the wrong kind, or a run folder given twice.

    Examples:
        >>> from condgan_blocks.compat.pix2pixhd import translate_command_line
        >>> translate_command_line(["train", "--preset", "folder", "--niter", "5", "--fp16"])
        ['train', '--epochs', '5', '--precision', 'fp16', '--preset', 'folder']
        >>> translate_command_line(["generate", "--name", "city", "--dataroot", "data"])
        ['generate', '--run', 'checkpoints/city', '--folder', 'data']
        >>> translate_command_line(["train", "--epochs", "5"])  # nothing to translate
        ['train', '--epochs', '5']
        >>> translate_command_line(["train", "--niter_decays", "2"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown pix2pixHD option --niter_decays (did you mean --niter_decay?)...
    """
    if isinstance(argv, str) or not isinstance(argv, Sequence):
        raise TypeError(f"argv must be a sequence of str, got {type(argv).__name__}")
    for token in argv:
        if not isinstance(token, str):
            raise TypeError(f"argv must hold only str, got {type(token).__name__} {token!r}")
    argv = list(argv)
    if not argv or argv[0].startswith("-"):
        return argv
    command = argv[0]
    if command not in COMMANDS:
        return argv
    options, rest = _split(command, argv[1:])
    if not options:
        return argv
    ignored: list[str] = []
    if command == "train":
        translated = _train(options, rest, ignored)
    elif command == "generate":
        translated = _generate(options, rest, ignored)
    else:
        translated = _run_command(command, options, rest, ignored)
    if ignored:
        warnings.warn(
            "pix2pixHD options with no effect here: " + "; ".join(ignored), UserWarning,
            stacklevel=2,
        )  # fmt: skip
    return [command, *translated, *rest]


def _looks_original(name: str) -> bool:
    """The recipe's flags are lower case with hyphens; the original's use ``_`` or capitals."""
    return "_" in name or any(c.isupper() for c in name)


def _split(command: str, tokens: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The original options (name -> parsed value) and the other tokens, in order."""
    options: dict[str, Any] = {}
    rest: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":  # everything after it is not ours to read
            rest.extend(tokens[index - 1 :])
            break
        if not token.startswith("--"):
            rest.append(token)
            continue
        name, has_value, value = token[2:].partition("=")
        kind = None if name in SHARED.get(command, ()) else ORIGINAL_OPTIONS.get(name)
        if kind is None:
            if _looks_original(name):
                close = difflib.get_close_matches(name, ORIGINAL_OPTIONS, n=1)
                hint = f" (did you mean --{close[0]}?)" if close else ""
                raise ValueError(
                    f"unknown pix2pixHD option --{name}{hint}; the recipe's own flags are "
                    f"listed by {command} --help"
                )
            rest.append(token)
            continue
        if kind == "flag":
            if has_value:
                raise ValueError(f"--{name} is a switch and takes no value, got {token!r}")
            options[name] = True
            continue
        if not has_value:
            if index >= len(tokens) or tokens[index].startswith("--"):
                raise ValueError(f"--{name} needs a value ({kind})")
            value = tokens[index]
            index += 1
        options[name] = _parse_value(name, kind, value)
    return options, rest


def _parse_value(name: str, kind: str, text: str) -> Any:
    try:
        value = {"int": int, "float": float, "str": str}[kind](text)
    except ValueError:
        raise ValueError(f"--{name} needs an {kind} value, got {text!r}") from None
    problem = option_problem(name, value)  # the ranges compat.pix2pixhd builds with
    if problem is not None:
        raise ValueError(f"--{problem[1]}")
    if kind == "float" and not math.isfinite(value):
        raise ValueError(f"--{name} needs a finite number, got {text!r}")
    return value


def _names(options: dict[str, Any]) -> str:
    return ", ".join(f"--{name}" for name in options)


def _given(rest: list[str]) -> set[str]:
    """The recipe flags present among ``rest`` (``--output=x`` counts as ``--output``)."""
    flags = set()
    for token in rest:
        if token == "--":
            break
        if token.startswith("--"):
            flags.add(token.partition("=")[0])
    return flags


def _value(rest: list[str], flag: str, default: str) -> str:
    """The value of the last ``flag`` among ``rest`` (``--flag V`` or ``--flag=V``)."""
    value = default
    for index, token in enumerate(rest):
        if token == flag and index + 1 < len(rest):
            value = rest[index + 1]
        elif token.startswith(f"{flag}="):
            value = token.partition("=")[2]
    return value


def _set(key: str, value: Any) -> list[str]:
    return ["--set", f"{key}={json.dumps(value, separators=(',', ':'))}"]


def _check_command(options: dict[str, Any], allowed: set[str] | frozenset, script: str) -> None:
    for name in options:
        if name in UNSUPPORTED:
            raise ValueError(f"--{name} is not supported: {UNSUPPORTED[name]}")
    wrong = [name for name in options if name not in allowed]
    if wrong:
        owner = "train.py" if script == "test.py" else "test.py"
        raise ValueError(
            f"{_names({n: None for n in wrong})}: not an option of the original's {script} "
            f"(it is one of {owner}), so this subcommand does not take it"
        )


def _no_effect(options: dict[str, Any], ignored: list[str]) -> None:
    ignored.extend(f"--{name} ({NO_EFFECT[name]})" for name in options if name in NO_EFFECT)


def _run_folder(options: dict[str, Any]) -> str:
    directory = options.get("checkpoints_dir", DEFAULT_CHECKPOINTS_DIR)
    return os.path.normpath(os.path.join(directory, options.get("name", DEFAULT_NAME)))


def _device(gpu_ids: str) -> list[str]:
    ids = [part.strip() for part in gpu_ids.split(",") if part.strip()]
    if not all(part.lstrip("-").isdigit() for part in ids):
        raise ValueError(f"--gpu_ids needs comma-separated ints (-1: CPU), got {gpu_ids!r}")
    ids = [int(part) for part in ids if int(part) >= 0]
    if not ids:
        return ["--device", "cpu"]
    if len(ids) > 1:
        raise ValueError(
            f"--gpu_ids {gpu_ids}: one process trains on one GPU here; start one process per "
            f"GPU with torchrun --nproc_per_node={len(ids)} examples/pix2pixhd.py train ... "
            "(CUDA_VISIBLE_DEVICES picks the GPUs)"
        )
    return ["--device", f"cuda:{ids[0]}"]


def _latest_only(options: dict[str, Any], command: str) -> None:
    epoch = options.get("which_epoch", "latest")
    if epoch != "latest":
        raise ValueError(
            f"--which_epoch {epoch}: {command} uses the run's checkpoints/{LATEST_NAME}; to use "
            f"epoch {epoch}, copy the run folder and put its checkpoints/epoch_NNNN.pt in place "
            f"of checkpoints/{LATEST_NAME} in the copy"
        )


def _which_epoch(options: dict[str, Any]) -> str:
    epoch = options.get("which_epoch", "latest")
    if epoch != "latest" and not epoch.isdigit():
        raise ValueError(f"--which_epoch must be 'latest' or an epoch number, got {epoch!r}")
    return epoch


def _steps(options: dict[str, Any], name: str) -> int:
    """A frequency in samples (the original counts samples) as steps of ``--batchSize``."""
    return max(1, options[name] // options.get("batchSize", 1))


# ------------------------------------------------------------------------------- train
def _train(options: dict[str, Any], rest: list[str], ignored: list[str]) -> list[str]:
    _check_command(options, BASE_OPTIONS.keys() | TRAIN_OPTIONS.keys(), "train.py")
    given = _given(rest)
    resume = options.get("continue_train", False) or "--resume" in given
    out: list[str] = []
    as_original = not resume and not {"--preset", "--smoke"} & given
    if as_original:  # the folder preset with the original's losses and generator (the preset
        # adds a class-balanced L1 term, texture, skips of the condition and modulated norms)
        out += ["--preset", "folder", *_set("training.losses.l1_weight", 0.0)]
        out += _set("training.losses.l1_class_balance", 0.0)
        out += _set("training.losses.texture_weight", 0.0)
        out += _set("training.generator.condition_skips", False)
        out += _set("training.generator.label_modulation", 0)
        out += _set("training.generator.label_modulation_blocks", False)
        options = {**TRAIN_DEFAULTS, **options}
    named = "name" in options or "checkpoints_dir" in options
    if named or (as_original and "--output" not in given):
        if "--output" in given:
            raise ValueError(
                "the run folder is given twice: as --checkpoints_dir/--name (the folder "
                "CHECKPOINTS_DIR/NAME) and as --output; keep one"
            )
        out += ["--output", _run_folder(options)]
    for name, flag in FLAGS.items():
        if name in options:
            out += [flag, str(options[name])]
    for name, switch in SWITCHES.items():
        if options.get(name):
            out += switch
    if "gpu_ids" in options:
        out += _device(options["gpu_ids"])
    _check_fixed(options, "model", "pix2pixHD", "the recipe trains pix2pixHD only")
    _check_fixed(options, "phase", "train", "train reads DATAROOT/train_*")
    data_type = options.get("data_type", 32)
    if data_type != 32:
        raise ValueError(
            f"--data_type {data_type} is not supported: weights are float32; use --fp16 (or "
            "--precision bf16) for mixed precision"
        )
    if "label_nc" in options:
        label_nc = options["label_nc"]
        out += _set("training.num_classes", label_nc) + _set("data.label_nc", label_nc)
        if label_nc == 0:  # image to image: _A / _B pairs of input_nc channels
            input_nc = options.get("input_nc", 3)
            out += _set("training.input_channels", input_nc) + _set("data.input_nc", input_nc)
    if "output_nc" in options:
        output_nc = options["output_nc"]
        out += _set("training.image_channels", output_nc) + _set("data.output_nc", output_nc)
    if "input_nc" in options and options.get("label_nc") != 0:
        ignored.append("--input_nc (only read with --label_nc 0, as in the original)")
    out += _train_transform(options, ignored)
    out += _train_networks(options, ignored)
    out += _train_losses(options)
    for name, key in SETTINGS.items():
        if name in options:
            out += _set(key, options[name])
    if "save_latest_freq" in options:
        out += _set("training.save_every_steps", _steps(options, "save_latest_freq"))
    if "print_freq" in options:
        out += ["--log-every", str(_steps(options, "print_freq"))]
    if "display_freq" in options:
        out += ["--grid-every", str(_steps(options, "display_freq"))]
    epoch = _which_epoch(options)
    if "load_pretrain" in options:
        if options.get("netG") == "global":
            raise ValueError(
                "--load_pretrain with --netG global: the recipe grows a stage-1 run into "
                "stage 2 (--netG local); to go on training the same model use --continue_train"
            )
        out += ["--global-checkpoint", _pretrained(options["load_pretrain"], epoch)]
    elif resume:
        _latest_only(options, "train --continue_train")
    _no_effect(options, ignored)
    return out


def _check_fixed(options: dict[str, Any], name: str, value: str, reason: str) -> None:
    if name in options and options[name] != value:
        raise ValueError(f"--{name} {options[name]} is not supported: {reason}")


def _train_transform(options: dict[str, Any], ignored: list[str]) -> list[str]:
    if not {"resize_or_crop", "loadSize", "fineSize"} & options.keys():
        return []
    mode = options.get("resize_or_crop", "scale_width")
    if mode not in RESIZE_OR_CROP:
        raise ValueError(
            f"--resize_or_crop {mode!r} is not supported: the original's modes are "
            f"{', '.join(RESIZE_OR_CROP)}"
        )
    load, fine = options.get("loadSize", 1024), options.get("fineSize", 512)
    for name, value in (("loadSize", load), ("fineSize", fine)):
        if value < 1:
            raise ValueError(f"--{name} must be a positive number of pixels, got {value}")
    width = load if mode.startswith("scale_width") else None
    resize = [load, load] if mode == "resize_and_crop" else None
    crop = fine if mode.endswith("crop") else None
    if crop is None and "fineSize" in options:
        ignored.append(f"--fineSize (--resize_or_crop {mode} does not crop, as in the original)")
    if mode in ("crop", "none") and "loadSize" in options:
        ignored.append(f"--loadSize (--resize_or_crop {mode} does not resize, as in the original)")
    return _set("data.width", width) + _set("data.resize", resize) + _set("data.crop", crop)


def _train_networks(options: dict[str, Any], ignored: list[str]) -> list[str]:
    out: list[str] = []
    local = options.get("netG") == "local"
    if "netG" in options:
        out += _set("training.stage", options["netG"])
    if "ngf" in options:
        ngf = options["ngf"]
        if local:  # the original's ngf is the finest enhancer's width; G1 has ngf * 2**n
            enhancers = options.get("n_local_enhancers", 1)
            out += _set("training.generator.base_channels", ngf * 2**enhancers)
            out += _set("training.generator.local_base_channels", ngf)
        else:
            out += _set("training.generator.base_channels", ngf)
    encoder = options.get("instance_feat", False)
    if "norm" in options:
        sections = ("generator", "discriminator", *(("encoder",) if encoder else ()))
        for section in sections:
            out += _set(f"training.{section}.norm", options["norm"])
    for name, key in (("feat_num", "feature_channels"), ("nef", "base_channels"),
                      ("n_downsample_E", "num_downsamples")):  # fmt: skip
        if name not in options:
            continue
        if encoder:
            out += _set(f"training.encoder.{key}", options[name])
        else:
            ignored.append(f"--{name} (only read with --instance_feat, as in the original)")
    return out


def _train_losses(options: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "lambda_feat" in options:
        out += _set("training.losses.feature_matching_weight", options["lambda_feat"])
        out += _set("training.losses.vgg_weight", options["lambda_feat"])
    if options.get("no_ganFeat_loss"):
        out += _set("training.losses.feature_matching_weight", 0.0)
    if options.get("no_vgg_loss"):
        out += _set("training.losses.vgg_weight", 0.0)
    return out


def _pretrained(path: str, epoch: str) -> str:
    """The stage-1 checkpoint for ``--load_pretrain PATH``: a checkpoint file as it is, else
    the checkpoint folder of the run folder PATH (``PATH/checkpoints``, or PATH itself when it
    holds ``latest.pt``), at ``--which_epoch``."""
    folder = Path(path)
    if folder.is_file():
        return path
    if not (folder / LATEST_NAME).is_file():
        folder = folder / "checkpoints"
    name = LATEST_NAME if epoch == "latest" else epoch_checkpoint_name(int(epoch))
    return os.path.normpath(folder / name)


# ------------------------------------------------------------------------------- generate
def _generate(options: dict[str, Any], rest: list[str], ignored: list[str]) -> list[str]:
    _check_command(options, BASE_OPTIONS.keys() | TEST_OPTIONS.keys(), "test.py")
    given = _given(rest)
    out = _run(options, given)
    if "--folder" not in given and "--split" not in given:
        out += ["--folder", options.get("dataroot", TRAIN_DEFAULTS["dataroot"])]
    elif "dataroot" in options:
        raise ValueError(
            "the label maps are given twice: as --dataroot (the original's) and as "
            "--folder/--split; keep one"
        )
    if "how_many" in options:
        out += ["--num", str(options["how_many"])]
    epoch = _which_epoch(options)
    if epoch != "latest":
        out += ["--epoch", epoch]
    if "results_dir" in options:
        if "--output" in given:
            raise ValueError("the output folder is given twice: as --results_dir and --output")
        name = os.path.basename(_run_folder(options))
        where = f"{_value(rest, '--phase', 'test')}_{options.get('which_epoch', 'latest')}"
        out += ["--output", os.path.normpath(os.path.join(options["results_dir"], name, where))]
    if options.get("use_encoded_image"):
        out += ["--features", "encode"]
    mode = options.get("resize_or_crop")
    if mode is not None and mode != "none":
        raise ValueError(
            f"--resize_or_crop {mode} is not supported by generate: it synthesises at the size "
            "of the label maps (any size works); resize them beforehand, or pass "
            "--resize_or_crop none"
        )
    if mode is None and {"loadSize", "fineSize"} & options.keys():
        raise ValueError(
            "--loadSize/--fineSize: generate does not resize; it synthesises at the size of "
            "the label maps (pass --resize_or_crop none, or resize them beforehand)"
        )
    if options.get("fp16"):
        raise ValueError("--fp16 is not supported by generate: use --precision bf16 (or fp32)")
    _no_effect(options, ignored)
    return out


def _run(options: dict[str, Any], given: set[str]) -> list[str]:
    """``--run CHECKPOINTS_DIR/NAME`` (unless --run is given) and ``--device``."""
    out: list[str] = []
    if "--run" in given:
        if "name" in options or "checkpoints_dir" in options:
            raise ValueError(
                "the run folder is given twice: as --checkpoints_dir/--name and as --run"
            )
    else:
        out += ["--run", _run_folder(options)]
    if "gpu_ids" in options:
        out += _device(options["gpu_ids"])
    data_type = options.get("data_type", 32)
    if data_type != 32:
        raise ValueError(f"--data_type {data_type} is not supported: weights are float32")
    return out


def _run_command(
    command: str, options: dict[str, Any], rest: list[str], ignored: list[str]
) -> list[str]:
    """encode-features, evaluate and edit: the run folder, the device, the architecture."""
    allowed = {"name", "checkpoints_dir", "gpu_ids", "which_epoch", *ARCHITECTURE}
    _check_command(options, BASE_OPTIONS.keys() | TEST_OPTIONS.keys(), "test.py")
    extra = [name for name in options if name not in allowed and name not in NO_EFFECT]
    if extra:
        raise ValueError(
            f"{command} does not take {_names({n: None for n in extra})}; it takes --name, "
            "--checkpoints_dir, --gpu_ids and --which_epoch latest"
            + (" (and --n_clusters)" if command == "encode-features" else "")
        )
    out = _run(options, _given(rest))
    _latest_only(options, command)
    if command == "encode-features" and "n_clusters" in options:
        out += ["--n-clusters", str(options["n_clusters"])]
    _no_effect(options, ignored)
    return out
