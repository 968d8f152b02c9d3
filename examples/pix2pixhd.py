"""pix2pixHD, the reference recipe: train, encode-features, generate, evaluate (and demo).

    python examples/pix2pixhd.py demo [--smoke] [--output results/demo]
    python examples/pix2pixhd.py train --preset cityscapes-global --data-root DATA/cityscapes
    python examples/pix2pixhd.py train --config my_preset.json --set training.epochs=50
    python examples/pix2pixhd.py train --preset cityscapes-local --dry-run 3 --output runs/dry
    python examples/pix2pixhd.py encode-features --run runs/demo
    python examples/pix2pixhd.py generate --run runs/demo [--choices styles.json] [--size 70 150]
    python examples/pix2pixhd.py evaluate --run runs/demo [--segmenter my_segmenter.pt]
    python examples/pix2pixhd.py edit --run runs/demo [--port 0]
    python examples/pix2pixhd.py prepare --labels my/colour_labels --images my/photos \
        --output datasets/my_data [--phase test] [--palette cityscapes|palette.json]
    torchrun --nproc_per_node=N examples/pix2pixhd.py train ...

The subcommands, in the order of a run (and of the sections of this file):

- ``train`` trains G and D (and the instance feature encoder E with ``--instance-features``)
  from a preset, ``presets/NAME.json`` beside this file, or a ``--config FILE`` of the same
  form; flags and ``--set section.key=value`` override single values, and the resolved
  configuration is written to ``OUTPUT/recipe.json``. ``--resume`` continues a run from
  ``checkpoints/latest.pt``: only what does not change the trained model may change (the flags
  named in its help, and with ``--set`` the keys of ``RESUME_SETTINGS``); extending a finished
  run with ``--epochs`` trains the new epochs at the initial learning rate, then decays again.
  ``--dry-run N`` times N steps at the preset's full resolution instead of training and writes
  ``OUTPUT/dry_run.json``; ``--print-config`` shows the resolved configuration.
- ``encode-features`` runs E over the training set, clusters the instance features of each
  class (K-means) into ``checkpoints/feature_bank.npz`` and renders one car in every style.
- ``generate`` writes images for a split or a folder of label maps of any size, with object
  styles from the feature bank (random, or chosen per instance with ``--choices``) or encoded
  from the real images; ``--onnx`` runs an exported generator instead.
- ``evaluate`` scores the generated images as the paper does: a segmenter trained on real
  images segments them, the real images (the oracle) and flat-colour paintings (the floor).
- ``demo`` runs train, encode-features, generate and evaluate on synthetic scenes: the whole
  method in minutes on a CPU, with no download.
- ``edit`` serves an editor in the browser on one scene of a trained run.
- ``prepare`` converts colour label images (and photos) into the pix2pixHD folder layout.

The original pix2pixHD's option names work too (``train --name label2city_512p --niter 50``,
``generate --name label2city_1024p --resize_or_crop none``): ``main`` translates them with
``condgan_blocks.compat.pix2pixhd.translate_command_line`` (see docs/migration.md).

A run folder holds ``recipe.json`` (every value the run used), ``checkpoints/`` (``latest.pt``
and the feature bank), ``metrics.jsonl`` (the losses), ``grids/`` (labels | generated | real,
every ``--grid-every`` steps), ``generated/``, ``evaluation/metrics.json`` and ``index.html``,
which links all of them. It is relocatable: nothing in it names the folder itself, every
command resolves its files from ``--output``/``--run`` and nothing outside it is written, so
``train --output runs/b --resume`` continues a copy of ``runs/a`` in ``runs/b``.

Importing this file has no side effects. Everything reusable lives in the library:
``condgan_blocks.training`` (TrainingConfig and its overrides, TrainingMonitor, dry_run),
``condgan_blocks.evaluation`` (scores and their report), ``condgan_blocks.visualization``
(write_run_report, the index page), ``Synthesizer`` and ``FeatureBank``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from condgan_blocks import FeatureBank, Synthesizer
from condgan_blocks.compat.pix2pixhd import translate_command_line
from condgan_blocks.data import (
    CITYSCAPES_LABELS,
    CITYSCAPES_NUM_CLASSES,
    SYNTHETIC_CLASSES,
    CityscapesDataset,
    Compose,
    PairedFolderDataset,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ScaleWidth,
    SyntheticScenes,
    cityscapes_palette,
    collate,
    prepare_folder,
)
from condgan_blocks.editor import EditorClass, EditorServer, EditorSession
from condgan_blocks.evaluation import (
    SMOKE_RUN_WARNING,
    ConfusionMatrix,
    FidKidMeter,
    HighFrequencyMeter,
    SegmentationNet,
    evaluation_warnings,
    flat_colour_image,
    format_evaluation,
    format_fid_kid,
    load_segmenter,
    masked_mean_colour,
    mean_class_colours,
    psnr,
    save_segmenter,
    segment,
    ssim,
    summarize_evaluation,
    train_segmenter,
)
from condgan_blocks.training import (
    TrainingConfig,
    TrainingMonitor,
    apply_overrides,
    build_training,
    dry_run,
    dry_run_size,
    format_dry_run,
    get_nested,
    init_distributed,
    merge_nested,
    parse_override,
    read_config_file,
)
from condgan_blocks.visualization import (
    image_grid,
    image_picture,
    label_picture,
    save_png,
    write_json,
    write_run_report,
)

logger = logging.getLogger("pix2pixhd")

RECIPE_FILE = "recipe.json"
BANK_FILE = "feature_bank.npz"
STYLES_FILE = "car_styles.json"
CHECKPOINTS = "checkpoints"  # the checkpoint folder, relative to the run folder


# ------------------------------------------------------------------------------- presets
# A preset is a whole configuration in presets/NAME.json beside this file: "training" is a
# TrainingConfig dict, "data" says where samples come from and "recipe" holds the script's own
# settings. --config FILE reads any file of that form, --smoke merges presets/overlays/smoke.json
# over the demo preset, the flags and --set section.key=value override single values.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
SMOKE_OVERLAY = PRESETS_DIR / "overlays" / "smoke.json"
SECTIONS = ("training", "data", "recipe")  # what a preset or --config file holds
RECIPE_KEYS = (*SECTIONS, "preset", "smoke")  # and a run's recipe.json besides


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.json"))


def read_config(path: str | Path) -> dict[str, Any]:
    """A preset or ``--config`` file (a run's ``recipe.json`` too), its keys checked."""
    config = read_config_file(path, sections=RECIPE_KEYS, schemas={"training": TrainingConfig})
    missing = [name for name in SECTIONS if not isinstance(config.get(name), dict)]
    if missing:
        raise ValueError(f"{path} needs the sections {list(SECTIONS)}, missing {missing}")
    return config


def read_preset(name: str) -> dict[str, Any]:
    return read_config(PRESETS_DIR / f"{name}.json")


# ------------------------------------------------------------------------------- data
def make_dataset(data: dict[str, Any], split: str, *, train: bool = False):
    """The dataset of a run's ``data`` section for ``split`` ("train", "val" or "test")."""
    kind = data["kind"]
    if kind == "synthetic":
        count = data["num_train"] if split == "train" else data["num_val"]
        return SyntheticScenes(
            count, size=tuple(data["size"]), seed=data.get("seed", 0), split=split
        )
    steps = [ScaleWidth(data["width"])] if data.get("width") else []
    if data.get("resize"):  # --resize_or_crop resize_and_crop: a loadSize square
        steps = [Resize(tuple(data["resize"]))]
    if train and data.get("crop"):  # random crop (fineSize): training samples only
        crop = data["crop"]
        steps.append(RandomCrop(crop if isinstance(crop, int) else tuple(crop)))
    if train and data.get("flip", True):
        steps.append(RandomHorizontalFlip())
    transform = Compose(steps) if steps else None
    if kind == "cityscapes":
        return CityscapesDataset(data["root"], split, transform=transform)
    if kind == "folder":
        phase = "train" if split == "train" else data.get("test_phase", "test")
        return PairedFolderDataset(
            data["root"], phase, label_nc=data["label_nc"], transform=transform
        )
    raise ValueError(f"data.kind must be 'synthetic', 'cityscapes' or 'folder', got {kind!r}")


def palette_for(recipe: dict[str, Any]) -> Tensor:
    kind = recipe["data"]["kind"]
    if kind == "synthetic":
        return SyntheticScenes.palette()
    if kind == "cityscapes":
        return cityscapes_palette()
    generator = torch.Generator().manual_seed(0)
    num_classes = recipe["training"]["num_classes"]
    return torch.randint(0, 256, (num_classes, 3), generator=generator, dtype=torch.uint8)


def first_batches(dataset, count: int, batch_size: int):
    """Batches of the first ``count`` samples of ``dataset``."""
    count = min(count, len(dataset))
    for start in range(0, count, batch_size):
        yield collate([dataset[i] for i in range(start, min(start + batch_size, count))])


# ------------------------------------------------------------------------------- runs
# What train --resume may change with --set (a "section." prefix allows the whole section):
# how far and where the run goes on, not what it has trained.
RESUME_SETTINGS = (
    "training.epochs",
    "training.decay_epochs",
    "training.keep_last",
    "training.log_every_steps",
    "training.save_every_steps",
    "training.device",
    "training.precision",
    "training.compile",
    "training.compile_backend",
    "training.channels_last",
    "training.num_workers",
    "data.root",
    "recipe.",
)
# The train flags that set one value of the configuration, by argparse dest: the flag, the key
# it sets (--instance-features adds or removes training.encoder), whether --resume may change it,
# and its argparse options (--preset's choices are the preset files: see build_parser).
FLAG = {"action": argparse.BooleanOptionalAction, "default": None}
SWITCH = {"action": "store_true", "default": None}
# fmt: off
TRAIN_FLAGS: dict[str, tuple[str, tuple[str, ...] | None, bool, dict[str, Any]]] = {
    "preset": ("--preset", ("preset",), False, {}),
    "smoke": ("--smoke", ("smoke",), False, {"action": "store_true", "help": "tiny sizes and a "
              "few steps, on the demo preset (checks the pipeline, learns nothing)"}),
    "data_root": ("--data-root", ("data", "root"), True, {
        "help": "dataset folder (cityscapes and folder presets)"}),
    "global_checkpoint": ("--global-checkpoint", ("training", "global_checkpoint"), False, {
        "help": "stage-1 checkpoint or run checkpoints folder (cityscapes-local)"}),
    "instance_boundary": ("--instance-boundary", ("training", "use_instances"), False, {
        **FLAG, "help": "feed the instance boundary map to G and D"}),
    "instance_features": ("--instance-features", None, False, {**FLAG, "help": "train the "
        "instance feature encoder jointly (for encode-features and per-object styles)"}),
    "fake_pool": ("--fake-pool", ("training", "pool_size"), False, {
        "type": int, "help": "fake-image pool size for D (0: off)"}),
    "ema": ("--ema", ("training", "ema_decay"), False, {
        "type": float, "help": "EMA decay of G's weights (e.g. 0.999)"}),
    "batch_size": ("--batch-size", ("training", "batch_size"), False, {
        "type": int, "help": "samples per step and process"}),
    "seed": ("--seed", ("training", "seed"), False, {
        "type": int, "help": "seed of weights, data order and draws"}),
    "epochs": ("--epochs", ("training", "epochs"), True, {
        "type": int, "help": "epochs at the initial learning rate"}),
    "decay_epochs": ("--decay-epochs", ("training", "decay_epochs"), True, {
        "type": int, "help": "epochs of linear decay to 0"}),
    "keep_last": ("--keep-last", ("training", "keep_last"), True, {
        "type": int, "help": "keep only the newest N epoch checkpoints"}),
    "log_every": ("--log-every", ("training", "log_every_steps"), True, {
        "type": int, "help": "log the losses every N steps (metrics.jsonl, stderr)"}),
    "grid_every": ("--grid-every", ("recipe", "grid_every"), True, {
        "type": int, "help": "write a labels | generated | real PNG grid every N steps (0: off)"}),
    "precision": ("--precision", ("training", "precision"), True, {
        "choices": ("fp32", "bf16", "fp16"), "help": "autocast precision (fp16 needs CUDA)"}),
    "channels_last": ("--channels-last", ("training", "channels_last"), True, {
        **SWITCH, "help": "channels-last memory format"}),
    "compile": ("--compile", ("training", "compile"), True, {
        **SWITCH, "help": "torch.compile G, D, E"}),
}
# fmt: on


def flag_overrides(args: argparse.Namespace, dests) -> list[tuple[tuple[str, ...], Any]]:
    """(path, value) of each train flag in ``dests`` that was given."""
    flags = [(TRAIN_FLAGS[dest][1], getattr(args, dest, None)) for dest in dests]
    return [(key, v) for key, v in flags if key and key[0] != "preset" and v is not None]


def set_overrides(args: argparse.Namespace) -> list[tuple[tuple[str, ...], Any]]:
    """The ``--set KEY=VALUE`` values of a train call, parsed."""
    overrides = [parse_override(text) for text in args.set or ()]
    if any(path == ("training", "output_dir") for path, _ in overrides):
        raise SystemExit(
            "training.output_dir is always RUN/checkpoints, so that a run folder can be "
            "moved or copied; choose the run folder with --output"
        )
    return overrides


def apply_settings(recipe: dict[str, Any], overrides, *, new_run: bool = False) -> dict[str, Any]:
    """``recipe`` with ``overrides`` applied, then checked (a bad value names its field)."""
    recipe = apply_overrides(recipe, overrides, schemas={"training": TrainingConfig})
    folder_settings(recipe, overrides, new_run=new_run)
    TrainingConfig.from_dict(copy.deepcopy(recipe["training"]))
    return recipe


def folder_settings(recipe: dict[str, Any], overrides, *, new_run: bool) -> None:
    """Folder data: the ``data`` section sets the channels of ``training``, in one place.

    ``data.label_nc`` sets ``training.num_classes``; 0 trains image to image on ``_A`` / ``_B``
    pairs (the original's ``--label_nc 0``), with ``data.input_nc`` input channels
    (``training.input_channels``), and a new run feeds the instance boundary map only when
    ``<root>/train_inst`` exists (unless ``--instance-boundary`` or ``--set`` says otherwise).
    ``data.output_nc`` sets ``training.image_channels``. Setting a derived ``training`` key to
    another value is refused.
    """
    data, training = recipe["data"], recipe["training"]
    if data.get("kind") != "folder":
        return
    image_input = data.get("label_nc") == 0
    derived = {"num_classes": ("label_nc", data.get("label_nc"))}
    if "output_nc" in data:
        derived["image_channels"] = ("output_nc", data["output_nc"])
    if image_input:
        derived["input_channels"] = ("input_nc", data.get("input_nc", 3))
    given = {tuple(path) for path, _ in overrides}
    for key, (source, value) in derived.items():
        if ("training", key) in given and training.get(key) != value:
            raise SystemExit(
                f"with folder data, data.{source} sets training.{key}: got training.{key}="
                f"{training.get(key)!r} and data.{source}={value!r}; set only data.{source}"
                + (" (0: image-to-image pairs from _A / _B)" if source == "label_nc" else "")
            )
        training[key] = value
    if not image_input:
        training.pop("input_channels", None)
    elif new_run and ("training", "use_instances") not in given:
        training["use_instances"] = (Path(data["root"]) / "train_inst").is_dir()


def resolve_recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The resolved configuration of a ``train`` call: the preset (or ``--config`` file), the
    smoke sizes, the flags, then ``--set``."""
    config, preset = getattr(args, "config", None), getattr(args, "preset", None)
    if config and preset:
        raise SystemExit("--config and --preset both choose the configuration: give one")
    recipe = read_config(config) if config else read_preset(preset or "demo")
    recipe.setdefault("preset", Path(config).stem if config else preset or "demo")
    recipe["smoke"] = bool(args.smoke)
    if args.smoke:
        if recipe["data"]["kind"] != "synthetic":
            raise SystemExit("--smoke uses the synthetic data: combine it with --preset demo")
        recipe = merge_nested(recipe, read_config(SMOKE_OVERLAY))
    overrides = flag_overrides(args, TRAIN_FLAGS)
    if args.instance_features is not None and args.instance_features != (
        recipe["training"].get("encoder") is not None
    ):
        encoder = {"feature_channels": 3} if args.instance_features else None
        overrides.append((("training", "encoder"), encoder))
    overrides.append((("training", "device"), resolve_device(getattr(args, "device", None))))
    overrides.append((("training", "output_dir"), CHECKPOINTS))
    return apply_settings(recipe, overrides + set_overrides(args), new_run=True)


def resume_recipe(args: argparse.Namespace, run: Path) -> dict[str, Any]:
    """The configuration of ``train --resume``: the run's ``recipe.json`` with the flags and
    ``--set`` values that may change on resume applied; any other flag is refused.

    A refused flag with the value the run already has is accepted (it changes nothing).
    """
    recipe = read_recipe(run)
    recipe.setdefault("smoke", False)
    stored = TrainingConfig.from_dict(copy.deepcopy(recipe["training"]))  # defaults filled in
    if getattr(args, "config", None):
        raise SystemExit(
            f"--config cannot change on resume: {run} keeps the settings of its {RECIPE_FILE}; "
            "start a new run (train without --resume, another --output) to use another"
        )
    for dest, (flag, key, changeable, _) in TRAIN_FLAGS.items():
        value = getattr(args, dest, None)
        if changeable or value is None or (dest == "smoke" and value is False):
            continue
        if dest == "instance_features":
            current = stored.encoder is not None
        elif key[0] == "training":
            current = getattr(stored, key[1])
        else:
            current = get_nested(recipe, key)
        if value != current:
            raise SystemExit(
                f"{flag} cannot change on resume: {run} was trained with {current!r} (see its "
                f"{RECIPE_FILE}); start a new run (train without --resume, another --output) to "
                "change it"
            )
    overrides = flag_overrides(args, [dest for dest, (_, _, ok, _) in TRAIN_FLAGS.items() if ok])
    if getattr(args, "device", None) is not None:
        overrides.append((("training", "device"), resolve_device(args.device)))
    for path, value in set_overrides(args):
        key = ".".join(path)
        allowed = any(
            key == name or (name.endswith(".") and key.startswith(name)) for name in RESUME_SETTINGS
        )
        if not allowed and get_nested(recipe, path) != value:
            raise SystemExit(
                f"--set {key} cannot change on resume (it is part of what {run} has trained); "
                f"start a new run to change it. On resume --set may change: "
                f"{', '.join(RESUME_SETTINGS)}"
            )
        overrides.append((path, value))
    overrides.append((("training", "output_dir"), CHECKPOINTS))
    return apply_settings(recipe, overrides)


def training_config(recipe: dict[str, Any], run: Path | None = None) -> TrainingConfig:
    """The recipe's TrainingConfig, saving into ``run/checkpoints`` (nowhere without ``run``).

    The stored ``training.output_dir`` is ignored: the checkpoints of a run always live in its
    own folder, wherever that folder is now (older run folders stored an absolute path).
    """
    values = copy.deepcopy(recipe["training"])
    values["output_dir"] = None if run is None else str(run / CHECKPOINTS)
    return TrainingConfig.from_dict(values)


def resolve_device(device: str | None) -> str:
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def read_recipe(run: Path) -> dict[str, Any]:
    path = run / RECIPE_FILE
    if not path.is_file():
        raise SystemExit(f"{run} is not a run folder: no {RECIPE_FILE} (train one first)")
    return json.loads(path.read_text())


def load_run(run: Path, *, device: str | None = None, precision: str | None = None):
    """The trained run in ``run``: (recipe, Training restored from ``checkpoints/latest.pt``).

    Only files inside ``run`` are read (besides the dataset); the Training saves nothing.
    """
    recipe = read_recipe(run)
    config = training_config(recipe)
    changes = {"compile": False, "device": resolve_device(device)}
    if precision is not None:
        changes["precision"] = precision
    config = dataclasses.replace(config, **changes)
    training = build_training(config, resume=run / CHECKPOINTS)
    training.models.train(False)
    return recipe, training


def load_bank(run: Path, training) -> FeatureBank | None:
    if training.models.encoder is None:
        return None
    path = run / CHECKPOINTS / BANK_FILE
    if not path.is_file():
        raise SystemExit(f"no feature bank at {path}: run encode-features --run {run} first")
    return FeatureBank.load(path, feature_channels=training.config.encoder.feature_channels)


# ------------------------------------------------------------------------------- synthesis
def synthesizer_for(training, bank: FeatureBank | None = None, *, onnx_path=None) -> Synthesizer:
    """The run's one inference path (pad, condition, G, crop), optionally with an ONNX G.

    Every command and the editor generate through it, so the same maps, styles and seed give
    the same images everywhere.
    """
    synthesizer = Synthesizer.from_training(training, bank=bank)
    if onnx_path is not None:
        from condgan_blocks.export import OnnxGenerator

        synthesizer = synthesizer.with_generator(OnnxGenerator(onnx_path))
    return synthesizer


# ------------------------------------------------------------------------------- train
def check_pair_channels(recipe: dict[str, Any], config: TrainingConfig) -> None:
    """Image-to-image folder data: the first training pair has the configured channels."""
    data = recipe["data"]
    if not config.image_input or data["kind"] != "folder":
        return
    sample = make_dataset(data, "train")[0]
    sides = (("input", "input_nc", "A", config.input_channels),
             ("image", "output_nc", "B", config.image_channels))  # fmt: skip
    for key, setting, side, expected in sides:
        found = sample[key].shape[0]
        if found != expected:
            raise SystemExit(
                f"data.{setting}={expected}, but the images in {data['root']}/train_{side} have "
                f"{found} channel{'s' if found != 1 else ''}: use --set data.{setting}={found}"
            )


def command_train(args: argparse.Namespace) -> Path | dict[str, Any]:
    if getattr(args, "print_config", False):  # show the resolved configuration, train nothing
        run = Path(args.output)
        recipe = resume_recipe(args, run) if args.resume else resolve_recipe(args)
        print(json.dumps(recipe, indent=2))
        return recipe
    if getattr(args, "dry_run", None) is not None:
        return command_dry_run(args)
    if getattr(args, "dry_run_size", None) is not None:
        raise SystemExit("--dry-run-size only applies to --dry-run N")
    run = Path(args.output)
    context = init_distributed() if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    is_main = context is None or context.is_main
    resume = None
    if args.resume:
        recipe = resume_recipe(args, run)
        if (run / CHECKPOINTS / "latest.pt").is_file():
            resume = run / CHECKPOINTS
        elif is_main:
            print(f"no checkpoint in {run / CHECKPOINTS} yet: training {run} from the start")
    else:
        recipe = resolve_recipe(args)
    config = training_config(recipe, run)
    check_pair_channels(recipe, config)
    training = build_training(config, resume=resume, context=context)
    state = training.state
    if state.epoch >= config.total_epochs:
        raise SystemExit(
            f"{run} has already finished: {state.epoch} of {config.total_epochs} epochs (epochs="
            f"{config.epochs}, decay_epochs={config.decay_epochs}), step {state.global_step}; "
            "nothing to train. Extend it with --epochs or --decay-epochs (the totals, e.g. "
            f"--epochs {config.epochs + 1})"
        )
    dataset = make_dataset(recipe["data"], "train", train=True)
    if not is_main:  # every rank trains; only the first writes
        training.fit(dataset)
        return run
    write_json(run / RECIPE_FILE, recipe)
    preview = next(first_batches(make_dataset(recipe["data"], "val"), 4, 4))
    grid_every = recipe["recipe"]["grid_every"]
    monitor = TrainingMonitor(run, training, num_samples=len(dataset), preview=preview,
                              palette=palette_for(recipe), grid_every=grid_every)  # fmt: skip
    with monitor:
        result = training.fit(dataset, on_step=monitor)
        monitor.write_grid(training, result.global_step)
    print(f"trained {result.global_step} steps; checkpoint {result.checkpoint}")
    if recipe.get("smoke"):
        print("(a --smoke run: it checks the pipeline and learns nothing)")
    write_run_report(run)
    return run


# ------------------------------------------------------------------------------- dry run
DRY_RUN_FILE = "dry_run.json"


def command_dry_run(args: argparse.Namespace) -> dict[str, Any]:
    """``train --dry-run N``: time N steps of a preset at full size; write OUTPUT/dry_run.json."""
    if args.resume:
        raise SystemExit("--dry-run measures a new model: it does not combine with --resume")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit("--dry-run runs in one process: start it without torchrun")
    run = Path(args.output)
    recipe = resolve_recipe(args)
    size = tuple(args.dry_run_size or dry_run_size(recipe["data"]))
    result = dry_run(training_config(recipe), steps=args.dry_run, size=size, folder=run)
    result = {"preset": recipe["preset"], **result}
    write_json(run / DRY_RUN_FILE, result)
    print(format_dry_run(result))
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"wrote {run / DRY_RUN_FILE}")
    return result


# ------------------------------------------------------------------------------- encode
def command_encode_features(args: argparse.Namespace) -> Path:
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device)
    if training.models.encoder is None:
        raise SystemExit(
            "this run has no instance feature encoder (train with --instance-features)"
        )
    settings = recipe["recipe"]
    config = training.config
    bank = FeatureBank(config.encoder.feature_channels)
    dataset = make_dataset(recipe["data"], "train")
    synthesizer = synthesizer_for(training)
    for batch in first_batches(dataset, len(dataset), args.batch_size):
        features = synthesizer.encode(batch["image"], batch["instance"])
        bank.add(features, batch["instance"], batch["label"])
    n_clusters = args.n_clusters or settings["n_clusters"]
    min_area = settings["min_area"] if args.min_area is None else args.min_area
    bank.fit(n_clusters, min_area=min_area, seed=config.seed)
    path = run / CHECKPOINTS / BANK_FILE
    bank.save(path)
    print(f"feature bank: {bank.num_instances} instances, {len(bank.centers)} classes -> {path}")
    style_class = settings.get("style_class")
    if style_class is not None and style_class in bank.centers:
        styles = render_styles(run, recipe, training, bank, style_class)
        print(
            f"car styles: {styles['num_styles']} clusters for instance {styles['instance_id']}; "
            f"largest mean-colour difference {styles['max_difference']:.3f} (RGB L2 on [0, 1])"
        )
    write_run_report(run)
    return path


def render_styles(run: Path, recipe, training, bank: FeatureBank, style_class: int):
    """One validation scene, its largest object of ``style_class`` rendered with every cluster
    of that class (all other objects keep the same features); writes car_styles.png/json."""
    val = make_dataset(recipe["data"], "val")
    best = None
    for index in range(len(val)):
        sample = val[index]
        ids, counts = sample["instance"][sample["label"] == style_class].unique(return_counts=True)
        if ids.numel() and (best is None or int(counts.max()) > best[2]):
            best = (index, int(ids[counts.argmax()]), int(counts.max()))
    if best is None:
        raise SystemExit(f"no validation scene holds class {style_class}")
    index, instance_id, _ = best
    sample = collate([val[index]])
    label, instance = sample["label"], sample["instance"]
    centers = bank.centers[style_class]
    synthesizer = synthesizer_for(training, bank)
    images = [
        synthesizer(label, instance, {instance_id: cluster})[0]
        for cluster in range(centers.shape[0])
    ]
    images = torch.stack(images)
    mask = instance == instance_id
    colours = (masked_mean_colour(images, mask) + 1) / 2  # RGB on [0, 1]
    distances = torch.cdist(colours, colours)
    pairs = distances[torch.triu_indices(len(colours), len(colours), 1).unbind()]
    palette = palette_for(recipe)
    grid = image_grid(
        [
            [label_picture(label[0], palette), *images[: len(images) // 2 + 1]],
            [sample["image"][0], *images[len(images) // 2 + 1 :]],
        ]
    )
    save_png(grid, run / "car_styles.png")
    styles = {
        "scene": sample["path"][0],
        "instance_id": instance_id,
        "class": style_class,
        "num_styles": len(colours),
        "mean_colours": [[round(v, 4) for v in c] for c in colours.tolist()],
        "max_difference": float(pairs.max()) if pairs.numel() else 0.0,
        "mean_difference": float(pairs.mean()) if pairs.numel() else 0.0,
    }
    write_json(run / STYLES_FILE, styles)
    return styles


# ------------------------------------------------------------------------------- generate
def read_choices(path: str | None) -> dict[str, dict[int, int]] | None:
    """``{"5000": 2}`` (for every image) or ``{"<sample path>": {"5000": 2}}`` (per image)."""
    if path is None:
        return None
    raw = json.loads(Path(path).read_text())
    if all(isinstance(v, dict) for v in raw.values()):
        return {key: {int(k): int(v) for k, v in value.items()} for key, value in raw.items()}
    return {"*": {int(k): int(v) for k, v in raw.items()}}


IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


def output_name(source: str) -> str:
    """The PNG name of the image generated for ``source``: its name with one ``.png``.

    ``test_label/0000.png`` -> ``0000.png``, ``a/frame.jpg`` -> ``frame.png``,
    ``synthetic/val/000001`` -> ``000001.png``.
    """
    path = Path(source)
    stem = path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name
    return f"{stem}.png"


def save_output(image: Tensor, path: Path) -> Path:
    """A generated (C, H, W) image: a PNG for 1 or 3 channels, else ``.npy`` of (H, W, C)
    float32 in [-1, 1] (image-to-image runs with other channel counts), the layout that
    ``PairedFolderDataset`` reads back."""
    if image.shape[0] in (1, 3):
        return save_png(image, path)
    path = path.with_suffix(".npy")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        np.save(file, image.clamp(-1, 1).permute(1, 2, 0).float().numpy(), allow_pickle=False)
    os.replace(temporary, path)
    return path


def command_generate(args: argparse.Namespace) -> Path:
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision)
    bank = load_bank(run, training) if args.features == "bank" else None
    synthesizer = synthesizer_for(training, bank, onnx_path=args.onnx)
    if args.folder is not None:
        dataset = PairedFolderDataset(
            args.folder,
            args.phase,
            label_nc=training.config.num_classes,
            load_images=args.features == "encode",
        )
    else:
        dataset = make_dataset(recipe["data"], args.split)
    if args.size is not None and recipe["data"]["kind"] == "synthetic" and args.folder is None:
        dataset = SyntheticScenes(len(dataset), size=tuple(args.size), split=args.split)
    choices = read_choices(args.choices)
    out = Path(args.output) if args.output else run / "generated"
    count = args.num if args.num is not None else recipe["recipe"]["num_generate"]
    palette = palette_for(recipe)
    rows = []
    for offset, batch in enumerate(first_batches(dataset, count, 1)):
        if "label" in batch:
            label, instance = batch["label"], batch.get("instance")
            if instance is None:
                instance = label
            first = label_picture(label[0], palette)
        else:  # image to image (num_classes=0): the input image is the condition
            label, instance = batch["input"], batch.get("instance")
            first = image_picture(label[0])
        if training.models.encoder is not None and args.features == "encode":
            fake = synthesizer(label, instance, image=batch["image"])
        else:
            chosen = None
            if choices is not None and bank is not None:
                chosen = choices.get(batch["path"][0], choices.get("*", {}))
                present = set(instance.unique().tolist())  # global choices: ids here only
                chosen = {k: v for k, v in chosen.items() if k in present}
            fake = synthesizer(label, instance, chosen, seed=args.seed + offset)
        save_output(fake[0], out / output_name(batch["path"][0]))
        row = [first, image_picture(fake[0])]
        if "image" in batch:
            row.append(image_picture(batch["image"][0]))
        rows.append(row)
    save_png(image_grid(rows), out / "grid.png")
    print(f"wrote {len(rows)} images to {out}")
    write_run_report(run)
    return out


# ------------------------------------------------------------------------------- evaluate
SEGMENTER_ADVICE = (
    "train it longer (--set recipe.segmenter_epochs=N on train, then evaluate "
    "--retrain-segmenter) or pass --segmenter"
)


def get_segmenter(args, recipe, run: Path, device: str):
    """The user's model (--segmenter), else the cached one, else one trained on real images."""
    if args.segmenter is not None:
        return load_segmenter(args.segmenter, map_location=device)
    cache = run / "evaluation" / "segmenter.pt"
    if cache.is_file() and not args.retrain_segmenter:
        return load_segmenter(cache, map_location=device)
    settings = recipe["recipe"]
    torch.manual_seed(args.seed)
    net = SegmentationNet(
        3, recipe["training"]["num_classes"], base_channels=settings["segmenter_base_channels"]
    )
    dataset = make_dataset(recipe["data"], "train")
    print(f"training the segmenter on {len(dataset)} real training images ...")
    train_segmenter(
        net,
        dataset,
        epochs=settings["segmenter_epochs"],
        seed=args.seed,
        ignore_index=recipe["training"].get("ignore_index"),
        device=device,
    )
    save_segmenter(net, cache)
    return net.eval()


def evaluate_pairs(args: argparse.Namespace, run: Path, recipe, training) -> dict[str, Any]:
    """Image-to-image runs have no labels to segment: the generated images are compared with
    their targets, as means over the images of the L1 distance (on [-1, 1]), the PSNR (dB, on a
    span of 2) and the SSIM (11x11 Gaussian window, smaller for smaller images)."""
    val = make_dataset(recipe["data"], args.split)
    count = len(val) if args.num is None else min(args.num, len(val))
    synthesizer = synthesizer_for(training)
    scores: dict[str, list[float]] = {"l1": [], "psnr": [], "ssim": []}
    for batch in first_batches(val, count, args.batch_size):
        instance = batch.get("instance") if training.config.use_instances else None
        fake, real = synthesizer(batch["input"], instance), batch["image"]
        window = min(11, *real.shape[-2:])
        scores["l1"] += (fake - real).abs().flatten(1).mean(1).tolist()
        scores["psnr"] += psnr(fake, real).tolist()
        scores["ssim"] += ssim(fake, real, window_size=window).tolist()
    smoke = bool(recipe.get("smoke", False))
    results: dict[str, Any] = {}
    for key, values in scores.items():
        mean = sum(values) / len(values)
        results[key] = mean if math.isfinite(mean) else None  # identical images: PSNR inf
    results.update(num_images=count, split=args.split, smoke=smoke)
    results["warnings"] = [SMOKE_RUN_WARNING] if smoke else []
    write_json(run / "evaluation" / "metrics.json", results)
    shown = {key: "n/a" if v is None else f"{v:.4f}" for key, v in results.items() if key in scores}
    print(
        f"generated vs target, {count} {args.split} images: L1 {shown['l1']} (on [-1, 1]), "
        f"PSNR {shown['psnr']} dB, SSIM {shown['ssim']}"
    )
    for warning in results["warnings"]:
        print(f"WARNING: {warning}")
    write_run_report(run)
    return results


def command_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision)
    if training.config.image_input:
        return evaluate_pairs(args, run, recipe, training)
    device = str(training.device)
    segmenter = get_segmenter(args, recipe, run, device)
    config = training.config
    train_set = make_dataset(recipe["data"], "train")
    colours = mean_class_colours(
        first_batches(train_set, len(train_set), 16), config.num_classes,
        ignore_index=config.ignore_index,
    )  # fmt: skip
    bank = load_bank(run, training)
    val = make_dataset(recipe["data"], args.split)
    scores = {
        key: ConfusionMatrix(config.num_classes, ignore_index=config.ignore_index)
        for key in ("generated", "real", "flat")
    }
    noise = {key: HighFrequencyMeter() for key in scores}
    count = len(val) if args.num is None else min(args.num, len(val))
    synthesizer = synthesizer_for(training, bank)
    fid_kid = FidKidMeter.if_available(args.inception_weights, device=device)
    for offset, batch in enumerate(first_batches(val, count, args.batch_size)):
        label, instance = batch["label"], batch.get("instance", batch["label"])
        images = {
            "generated": synthesizer(label, instance, seed=args.seed + offset),
            "real": batch["image"],
            "flat": flat_colour_image(label, colours),
        }
        for key, image in images.items():
            scores[key].update(segment(segmenter, image.to(device)).cpu(), label)
            noise[key].update(image.float())
        fid_kid.update(real=images["real"], fake=images["generated"])
    results = summarize_evaluation(scores, noise)
    results["fid_kid"] = fid_kid.compute()  # or {"skipped": why}: no Inception weights file
    smoke = bool(recipe.get("smoke", False))
    results.update(num_images=count, split=args.split, smoke=smoke)
    advice = "check the --segmenter model" if args.segmenter else SEGMENTER_ADVICE
    results["warnings"] = evaluation_warnings(results, smoke=smoke, advice=advice)
    if (run / STYLES_FILE).is_file():
        results["car_styles"] = json.loads((run / STYLES_FILE).read_text())
    write_json(run / "evaluation" / "metrics.json", results)
    print(format_evaluation(results))
    print(format_fid_kid(results["fid_kid"]))
    write_run_report(run)
    return results


# ------------------------------------------------------------------------------- demo
def command_demo(args: argparse.Namespace) -> dict[str, Any]:
    """train (demo preset) -> encode-features -> generate -> evaluate, timed."""
    started = time.perf_counter()
    parser = build_parser()
    output = ["--output", args.output]
    smoke = ["--smoke"] if args.smoke else []
    common = ["--device", args.device] if args.device else []
    timings = {}
    steps = (
        ("train", ["train", "--preset", "demo", *output, *smoke, *common, *args.train_args]),
        ("encode-features", ["encode-features", "--run", args.output, *common]),
        ("generate", ["generate", "--run", args.output, *common]),
        ("evaluate", ["evaluate", "--run", args.output, *common]),
    )
    results = None
    for name, argv in steps:
        print(f"== {name}: python examples/pix2pixhd.py {' '.join(argv)}", flush=True)
        begun = time.perf_counter()
        sub = parser.parse_args(argv)
        results = sub.func(sub)
        timings[name] = round(time.perf_counter() - begun, 1)
    total = time.perf_counter() - started
    timings["total"] = round(total, 1)
    write_json(Path(args.output) / "timings.json", timings)
    print(f"demo finished in {total / 60:.1f} min ({timings}); open {args.output}/index.html")
    if args.smoke:
        print(f"WARNING: {SMOKE_RUN_WARNING}")
    return {"timings": timings, **results}


# ------------------------------------------------------------------------------- edit
def editor_classes(recipe: dict[str, Any]) -> list[EditorClass]:
    """The classes the editor offers for a run's data: id, name, thing or stuff, colour."""
    kind = recipe["data"]["kind"]
    if kind == "synthetic":
        return [EditorClass(c.id, c.name, c.is_thing, c.color) for c in SYNTHETIC_CLASSES]
    if kind == "cityscapes":
        return [
            EditorClass(c.id, c.name, c.has_instances, c.color)
            for c in CITYSCAPES_LABELS
            if 0 <= c.id < recipe["training"]["num_classes"]
        ]
    palette = palette_for(recipe).tolist()
    return [EditorClass(k, f"class {k}", False, tuple(rgb)) for k, rgb in enumerate(palette)]


def editor_server(
    run: Path, *, port: int = 0, split: str = "val", index: int = 0, device: str | None = None
) -> EditorServer:
    """An (unstarted) editor server on scene ``index`` of ``split``, with the run's G and bank."""
    recipe, training = load_run(run, device=device)
    if training.config.image_input:
        raise SystemExit(f"edit paints label maps; {run} trains image to image (num_classes=0)")
    bank = load_bank(run, training)
    sample = make_dataset(recipe["data"], split)[index]
    label, instance = sample["label"], sample.get("instance", sample["label"])
    # The session calls synthesizer(labels, instances, choices): the generate path's images.
    session = EditorSession(
        label, instance, classes=editor_classes(recipe), generate=synthesizer_for(training, bank)
    )
    return EditorServer(session, port=port)


def command_edit(args: argparse.Namespace) -> None:
    """Serve the interactive editor on one scene of a trained run until Ctrl+C."""
    server = editor_server(
        Path(args.run), port=args.port, split=args.split, index=args.index, device=args.device
    )
    print(f"editor running at {server.url} (Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ------------------------------------------------------------------------------- prepare
def command_prepare(args: argparse.Namespace) -> Any:
    """Convert colour label images (and photos) into the pix2pixHD folder layout."""
    try:
        result = prepare_folder(
            args.labels,
            args.output,
            images=args.images,
            phase=args.phase,
            palette=args.palette,
            thing_classes=args.things,
            connectivity=args.connectivity,
            overwrite=args.overwrite,
        )
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"prepare: {error}") from error
    folders = "_label, _inst" + (", _img" if result.with_images else "")
    print(f"wrote {result.num_samples} samples to {result.root}/{result.phase}{{{folders}}}")
    n = result.num_classes
    sizes = f" --set data.label_nc={n} --set training.num_classes={n}"
    print(
        "train with: pix2pixhd.py train --preset folder --data-root "
        f"{result.root}{sizes if n != CITYSCAPES_NUM_CLASSES else ''}"
    )
    if not (result.root / "test_label").is_dir():
        print(f"(training validates on {result.root}/test_*: prepare them with --phase test)")
    return result


# ------------------------------------------------------------------------------- CLI
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows the defaults, except None ones: the help of such a flag says where its value
    comes from (for train: each preset's value)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def preset_values(dest: str, presets: dict[str, dict[str, Any]]) -> str:
    """What each of ``presets`` (name -> preset) resolves the train flag ``dest`` to:
    ``presets: demo: 8, folder: 100, ...``, or ``every preset: 0``."""
    key = TRAIN_FLAGS[dest][1]
    parts = {}
    for name, preset in presets.items():
        if dest == "instance_features":
            value = preset["training"].get("encoder") is not None
        elif key[0] == "training":  # the TrainingConfig default where the preset sets none
            config = TrainingConfig.from_dict(copy.deepcopy(preset["training"]))
            value = getattr(config, key[1])
        else:
            value = get_nested(preset, key)
        parts[name] = json.dumps(value)
    if len(set(parts.values())) == 1:
        return f"every preset: {next(iter(parts.values()))}"
    return "presets: " + ", ".join(f"{name}: {value}" for name, value in parts.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pix2pixhd.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    help_format = HelpFormatter

    train = commands.add_parser(
        "train", help="train a model", formatter_class=help_format,
        description="Train pix2pixHD from a preset; every value can be overridden and the "
        "resolved configuration is written to OUTPUT/recipe.json.",
    )  # fmt: skip
    train.add_argument(
        "--preset",
        choices=preset_names(),
        default=argparse.SUPPRESS,  # unset unless given: --resume refuses a changed preset
        help="demo: synthetic scenes on CPU; cityscapes-global: stage 1 (G1, "
        "1024x512, 2 scales); cityscapes-local: stage 2 (G1 + enhancer, "
        "2048x1024, 3 scales, from --global-checkpoint, global frozen for 10 "
        "epochs); folder: the pix2pixHD folder layout (--data-root) (default: demo); "
        "each is the file presets/NAME.json beside this script",
    )
    train.add_argument(
        "--config",
        metavar="FILE",
        help="a JSON file of the presets' form (training, data, recipe) instead of --preset",
    )
    train.add_argument("--output", default="runs/demo", help="the run folder")
    for dest, (flag, _, _, options) in TRAIN_FLAGS.items():
        if dest != "preset":
            train.add_argument(flag, dest=dest, **options)
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --output from its latest checkpoint; only --epochs, "
        "--decay-epochs, --keep-last, --log-every, --grid-every, --device, --precision, "
        "--compile, --channels-last and --data-root may change",
    )
    train.add_argument(
        "--device",
        default=argparse.SUPPRESS,  # unset unless given: --resume keeps the run's device
        help="cpu, cuda, cuda:1 or auto (CUDA when present); default: auto, or with --resume "
        "the run's device",
    )
    train.add_argument(
        "--dry-run",
        type=int,
        metavar="N",
        help="train N steps on synthetic scenes at the preset's full resolution, print "
        "parameters, seconds per step and peak memory, write OUTPUT/dry_run.json and keep "
        "nothing else (cityscapes-local without --global-checkpoint makes and keeps "
        "OUTPUT/dry_run_stage1/latest.pt)",
    )
    train.add_argument(
        "--dry-run-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="with --dry-run: train at this size instead of the preset's",
    )
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved configuration (what OUTPUT/recipe.json would hold, as JSON) "
        "and exit without training or writing anything",
    )
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override any value of the resolved config (repeatable), e.g. "
                       "training.generator.num_blocks=6, data.num_train=800, "
                       "recipe.segmenter_epochs=10; values are JSON")  # fmt: skip
    presets = {name: read_preset(name) for name in preset_names()}
    for action in train._actions:  # each preset's value, instead of "(default: None)"
        if action.dest in TRAIN_FLAGS and action.dest not in ("preset", "smoke"):
            action.help = f"{action.help} ({preset_values(action.dest, presets)})"
    train.set_defaults(func=command_train)

    encode_cmd = commands.add_parser(
        "encode-features", help="build the feature bank of a trained run",
        formatter_class=help_format,
        description="Run the trained encoder over the training set, cluster the instance "
        "features per class (K-means) and save RUN/checkpoints/feature_bank.npz; then render "
        "one validation scene with every style of one car (car_styles.png).",
    )  # fmt: skip
    encode_cmd.add_argument("--run", required=True, help="the run folder")
    encode_cmd.add_argument("--n-clusters", type=int, help="K, the most styles per class "
                            "(default: the preset's)")  # fmt: skip
    encode_cmd.add_argument(
        "--min-area", type=float, help="skip instances not larger than this fraction of the image"
    )
    encode_cmd.add_argument("--batch-size", type=int, default=8, help="images per pass")
    encode_cmd.add_argument("--device", default="auto", help="cpu, cuda, ...")
    encode_cmd.set_defaults(func=command_encode_features)

    generate_cmd = commands.add_parser(
        "generate", help="synthesise images from label maps", formatter_class=help_format,
        description="Write images for a dataset split or a folder of label/instance PNGs. "
        "Object features come from the feature bank (random, or chosen per instance with "
        "--choices) or from encoding the real image. Any size works (pad, then crop).",
    )  # fmt: skip
    generate_cmd.add_argument("--run", required=True, help="the run folder")
    generate_cmd.add_argument("--split", default="val", help="dataset split of the run's data")
    generate_cmd.add_argument("--folder", help="a pix2pixHD-layout folder instead "
                              "(<folder>/<phase>_label, optional <phase>_inst; <phase>_A "
                              "for image-to-image runs)")  # fmt: skip
    generate_cmd.add_argument("--phase", default="test", help="phase prefix with --folder")
    generate_cmd.add_argument("--num", type=int, help="number of images (default: the preset's)")
    generate_cmd.add_argument(
        "--size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="synthetic scenes of this size (any size)",
    )
    generate_cmd.add_argument(
        "--features",
        choices=("bank", "encode"),
        default="bank",
        help="bank: cluster centres from the feature bank; encode: the "
        "encoder's features of the real image",
    )
    generate_cmd.add_argument(
        "--choices",
        help='JSON file of per-instance clusters: {"5000": '
        '2} for every image or {"<sample path>": {"5000": 2}}',
    )
    generate_cmd.add_argument("--seed", type=int, default=0, help="seed of the random styles")
    generate_cmd.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        help="inference precision (bf16: fast on recent CPUs)",
    )
    generate_cmd.add_argument("--onnx", help="run this ONNX generator (export_onnx) instead")
    generate_cmd.add_argument("--output", help="output folder (default RUN/generated)")
    generate_cmd.add_argument("--device", default="auto", help="cpu, cuda, ...")
    generate_cmd.set_defaults(func=command_generate)

    evaluate_cmd = commands.add_parser(
        "evaluate", help="the paper's segmentation scores", formatter_class=help_format,
        description="Segment generated validation images with a network trained on REAL "
        "training images and score them against the input labels, beside real images (the "
        "oracle) and flat-colour paintings (the floor); image-to-image runs (data.label_nc=0) "
        "get L1, PSNR and SSIM against the targets. Writes RUN/evaluation/metrics.json.",
    )  # fmt: skip
    evaluate_cmd.add_argument("--run", required=True, help="the run folder")
    evaluate_cmd.add_argument("--segmenter", help="a TorchScript (or .pt2) segmenter to use "
                              "instead of training one")  # fmt: skip
    evaluate_cmd.add_argument(
        "--retrain-segmenter",
        action="store_true",
        help="ignore the cached RUN/evaluation/segmenter.pt",
    )
    evaluate_cmd.add_argument("--split", default="val", help="the split to score")
    evaluate_cmd.add_argument("--num", type=int, help="score only the first N images")
    evaluate_cmd.add_argument("--batch-size", type=int, default=8, help="images per pass")
    evaluate_cmd.add_argument("--precision", choices=("fp32", "bf16"), help="G's precision")
    evaluate_cmd.add_argument("--seed", type=int, default=0, help="seed of styles and segmenter")
    evaluate_cmd.add_argument("--device", default="auto", help="cpu, cuda, ...")
    evaluate_cmd.add_argument(
        "--inception-weights",
        help="Inception-v3 FID weights (pt_inception-2015-12-05-6726825d.pth) for FID and KID; "
        "default $CONDGAN_INCEPTION_WEIGHTS, then the torch hub checkpoints folder; skipped "
        "(with a note) when missing",
    )
    evaluate_cmd.set_defaults(func=command_evaluate)

    edit_cmd = commands.add_parser(
        "edit", help="interactive semantic editor in the browser", formatter_class=help_format,
        description="Serve a page on 127.0.0.1 to edit one validation scene of a trained run "
        "(select, restyle, relabel, delete and paint objects) and see the generator's image.",
    )  # fmt: skip
    edit_cmd.add_argument("--run", required=True, help="the run folder")
    edit_cmd.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    edit_cmd.add_argument("--split", default="val", help="dataset split of the first scene")
    edit_cmd.add_argument("--index", type=int, default=0, help="index of the first scene")
    edit_cmd.add_argument("--device", default="auto", help="cpu, cuda, ...")
    edit_cmd.set_defaults(func=command_edit)

    prepare_cmd = commands.add_parser(
        "prepare", help="colour label images -> the pix2pixHD folder layout",
        formatter_class=help_format,
        description="Convert colour-coded label images (and their photos) into OUTPUT/"
        "<phase>_label (class ids), <phase>_inst (instance ids: connected components of the "
        "thing classes, class*1000+k) and <phase>_img, which train --preset folder reads.",
    )  # fmt: skip
    prepare_cmd.add_argument("--labels", required=True, help="folder of colour label PNGs")
    prepare_cmd.add_argument("--images", help="folder of photos, paired with labels by name")
    prepare_cmd.add_argument("--output", required=True, help="the dataset folder to write")
    prepare_cmd.add_argument("--phase", default="train", help="folder prefix: train or test")
    prepare_cmd.add_argument("--palette", default="cityscapes", help="cityscapes or a JSON "
                             'file {"id": [r, g, b], ...}')  # fmt: skip
    prepare_cmd.add_argument("--things", type=int, nargs="*", help="thing class ids that get "
                             "instances (default: 24..33 with the cityscapes palette, none "
                             "else)")  # fmt: skip
    prepare_cmd.add_argument("--connectivity", type=int, choices=(4, 8), default=8,
                             help="object pixels touch by edges (4) or corners (8)")  # fmt: skip
    prepare_cmd.add_argument("--overwrite", action="store_true",
                             help="replace non-empty OUTPUT/<phase>_* folders")  # fmt: skip
    prepare_cmd.set_defaults(func=command_prepare)

    demo = commands.add_parser(
        "demo", help="train -> encode-features -> generate -> evaluate on synthetic scenes",
        formatter_class=help_format,
        description="The whole method in minutes on a CPU, with no download: writes "
        "OUTPUT/index.html and prints the evaluation table.",
    )  # fmt: skip
    demo.add_argument("--output", default="results/demo", help="the run folder")
    demo.add_argument("--smoke", action="store_true", help="tiny sizes, a few steps (CI)")
    demo.add_argument("--device", help="cpu, cuda, ... (default: auto)")
    demo.add_argument(
        "train_args",
        nargs=argparse.REMAINDER,
        help="extra train options after --, e.g. -- --set data.num_train=800",
    )
    demo.set_defaults(func=command_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> Any:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:  # the original's option names (--name, --niter, --netG local, ...) as aliases
        argv = translate_command_line(sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        raise SystemExit(f"pix2pixhd.py: error: {error}") from None
    args = build_parser().parse_args(argv)
    if getattr(args, "train_args", None) and args.train_args[0] == "--":
        args.train_args = args.train_args[1:]
    return args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
