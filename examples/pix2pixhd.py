"""pix2pixHD, the reference recipe: train, encode-features, generate, evaluate (and demo).

    python examples/pix2pixhd.py demo [--smoke] [--output results/demo]
    python examples/pix2pixhd.py train --preset cityscapes-global --data-root DATA/cityscapes
    python examples/pix2pixhd.py train --preset cityscapes-local --dry-run 3 --output runs/dry
    python examples/pix2pixhd.py encode-features --run runs/demo
    python examples/pix2pixhd.py generate --run runs/demo [--choices styles.json] [--size 70 150]
    python examples/pix2pixhd.py evaluate --run runs/demo [--segmenter my_segmenter.pt]
    python examples/pix2pixhd.py edit --run runs/demo [--port 0]
    torchrun --nproc_per_node=N examples/pix2pixhd.py train ...

A run folder holds ``recipe.json`` (the resolved configuration: every value the run used),
``checkpoints/`` (``latest.pt`` and the feature bank beside it), ``metrics.jsonl``, ``grids/``
(colourised labels | generated | real, every ``--grid-every`` steps), ``generated/``,
``evaluation/metrics.json`` and ``index.html``, which links all of them.

A run folder is relocatable: nothing in it names the folder itself (``recipe.json`` stores the
checkpoint folder as ``"checkpoints"``, relative to the run), every command resolves its files
from ``--output``/``--run``, and nothing outside the run folder is written or deleted. Copy
``runs/a`` to ``runs/b`` and ``train --output runs/b --resume`` continues the copy in
``runs/b``; ``runs/a`` is not touched. (Run folders of older versions stored an absolute
``training.output_dir``; it is ignored.)

``train --resume`` continues from ``checkpoints/latest.pt`` with the settings of
``recipe.json``. Settings that do not change what has been trained can be changed there:
``--epochs``, ``--decay-epochs`` (extend or shorten the schedule: the remaining epochs follow
the new schedule, so adding ``--epochs`` to a finished run trains the new epochs at the initial
learning rate and then decays again over ``--decay-epochs``), ``--keep-last``, ``--log-every``,
``--grid-every``, ``--device``, ``--precision``, ``--compile``, ``--channels-last``,
``--data-root`` (a moved dataset), and with ``--set`` the keys of ``RESUME_SETTINGS``. Any
other flag is refused with a message naming it. A finished run with nothing to extend stops
with a message instead of training nothing.

``train --dry-run N`` measures a preset instead of training it: N steps on synthetic scenes at
the preset's full resolution (``data.width`` wide and half as high for Cityscapes and folder
data, 1024 wide when unset; ``data.size`` for synthetic data; ``--dry-run-size H W`` to choose),
with the preset's networks, losses and batch size and any flags and ``--set`` values. It prints
a table (parameters of G, D and E, seconds per step, peak memory) and writes it to
``OUTPUT/dry_run.json``; nothing else is written, except that a stage-2 (``cityscapes-local``)
dry run without ``--global-checkpoint`` first saves the initial weights of the matching stage-1
model to ``OUTPUT/dry_run_stage1/latest.pt`` and grows from it. The ImageNet VGG19 weights
cannot be downloaded offline: when they are not in the torch hub cache, the VGG loss of a dry
run uses random weights, which cost the same.

Importing this file has no side effects; everything reusable lives in the library
(``condgan_blocks.training``, ``.evaluation``, ``.visualization``, ``FeatureBank``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from condgan_blocks import FeatureBank, crop_padding, pad_to_multiple
from condgan_blocks.data import (
    CITYSCAPES_LABELS,
    CITYSCAPES_NUM_CLASSES,
    SYNTHETIC_CLASSES,
    CityscapesDataset,
    Compose,
    PairedFolderDataset,
    RandomHorizontalFlip,
    ScaleWidth,
    SyntheticScenes,
    cityscapes_palette,
    collate,
    colorize,
)
from condgan_blocks.editor import EditorClass, EditorServer, EditorSession
from condgan_blocks.evaluation import (
    ConfusionMatrix,
    HighFrequencyMeter,
    SegmentationNet,
    flat_colour_image,
    load_segmenter,
    masked_mean_colour,
    mean_class_colours,
    save_segmenter,
    segment,
    train_segmenter,
)
from condgan_blocks.training import (
    TrainingConfig,
    autocast_context,
    build_training,
    condition_map,
    generator_input,
    init_distributed,
)
from condgan_blocks.visualization import ReportSection, image_grid, save_png, write_index_html

logger = logging.getLogger("pix2pixhd")

RECIPE_FILE = "recipe.json"
BANK_FILE = "feature_bank.npz"
STYLES_FILE = "car_styles.json"
CHECKPOINTS = "checkpoints"  # the checkpoint folder, relative to the run folder

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
# train flags by argparse dest: the recipe key each one sets, and whether --resume may change it.
TRAIN_FLAGS = {
    "preset": ("--preset", ("preset",), False),
    "smoke": ("--smoke", ("smoke",), False),
    "global_checkpoint": ("--global-checkpoint", ("training", "global_checkpoint"), False),
    "instance_boundary": ("--instance-boundary", ("training", "use_instances"), False),
    "instance_features": ("--instance-features", None, False),
    "fake_pool": ("--fake-pool", ("training", "pool_size"), False),
    "ema": ("--ema", ("training", "ema_decay"), False),
    "batch_size": ("--batch-size", ("training", "batch_size"), False),
    "seed": ("--seed", ("training", "seed"), False),
    "epochs": ("--epochs", ("training", "epochs"), True),
    "decay_epochs": ("--decay-epochs", ("training", "decay_epochs"), True),
    "keep_last": ("--keep-last", ("training", "keep_last"), True),
    "log_every": ("--log-every", ("training", "log_every_steps"), True),
    "precision": ("--precision", ("training", "precision"), True),
    "channels_last": ("--channels-last", ("training", "channels_last"), True),
    "compile": ("--compile", ("training", "compile"), True),
    "data_root": ("--data-root", ("data", "root"), True),
    "grid_every": ("--grid-every", ("recipe", "grid_every"), True),
}

# ------------------------------------------------------------------------------- presets
# A preset is the whole resolved configuration: "training" is a TrainingConfig dict, "data"
# says where samples come from, "recipe" holds the script's own settings. Every value can be
# overridden with --set section.key=value (and the common ones have their own flag).

_SMALL_NETS = {
    "generator": {"base_channels": 32, "num_downsamples": 3, "num_blocks": 4},
    "discriminator": {"base_channels": 32, "num_scales": 2, "num_layers": 3},
    "encoder": {"feature_channels": 3, "base_channels": 16, "num_downsamples": 3},
    # No pretrained VGG offline, and a random-weight VGG teaches nothing: the VGG loss is off.
    "losses": {"vgg_weight": 0.0, "vgg_weights": None},
}

PRESETS: dict[str, dict[str, Any]] = {
    "demo": {
        "training": {
            **_SMALL_NETS,
            "num_classes": SyntheticScenes.num_classes,
            "precision": "bf16",
            "batch_size": 4,
            "epochs": 8,
            "decay_epochs": 4,
            "keep_last": 1,
            "log_every_steps": 50,
        },
        "data": {"kind": "synthetic", "size": [64, 128], "num_train": 400, "num_val": 48},
        "recipe": {
            "grid_every": 200,
            "segmenter_epochs": 6,
            "segmenter_base_channels": 16,
            "n_clusters": 6,
            "min_area": 0.005,
            "style_class": 5,
            "num_generate": 12,
        },
    },
    "cityscapes-global": {
        "training": {
            "num_classes": CITYSCAPES_NUM_CLASSES,
            "generator": {"base_channels": 64, "num_downsamples": 4, "num_blocks": 9},
            "discriminator": {"num_scales": 2},
            "epochs": 100,
            "decay_epochs": 100,
            "log_every_steps": 100,
            "keep_last": 3,
        },
        "data": {"kind": "cityscapes", "root": "datasets/cityscapes", "width": 1024},
        "recipe": {
            "grid_every": 1000,
            "segmenter_epochs": 30,
            "segmenter_base_channels": 32,
            "n_clusters": 10,
            "min_area": 1 / 64,
            "style_class": 26,
            "num_generate": 20,
        },
    },
    "folder": {
        "training": {
            "num_classes": 35,
            "epochs": 100,
            "decay_epochs": 100,
            "log_every_steps": 100,
            "keep_last": 3,
        },
        "data": {"kind": "folder", "root": "datasets/my_data", "label_nc": 35},
        "recipe": {
            "grid_every": 1000,
            "segmenter_epochs": 30,
            "segmenter_base_channels": 32,
            "n_clusters": 10,
            "min_area": 1 / 64,
            "style_class": None,
            "num_generate": 20,
        },
    },
}
PRESETS["cityscapes-local"] = copy.deepcopy(PRESETS["cityscapes-global"])
PRESETS["cityscapes-local"]["training"].update(
    stage="local", freeze_global_epochs=10, discriminator={"num_scales": 3}
)
PRESETS["cityscapes-local"]["data"]["width"] = 2048

SMOKE = {
    "training": {
        "generator": {"base_channels": 4, "num_downsamples": 2, "num_blocks": 1},
        "discriminator": {"base_channels": 4, "num_scales": 2, "num_layers": 2},
        "encoder": {"feature_channels": 3, "base_channels": 2, "num_downsamples": 2},
        "precision": "fp32",
        "batch_size": 2,
        "epochs": 1,
        "decay_epochs": 1,
        "log_every_steps": 2,
    },
    "data": {"size": [32, 64], "num_train": 8, "num_val": 4},
    "recipe": {
        "grid_every": 4,
        "segmenter_epochs": 2,
        "segmenter_base_channels": 4,
        "n_clusters": 3,
        "min_area": 0.0,
        "num_generate": 2,
    },
}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, nested dicts key by key (a new dict)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"training.generator.base_channels=64"`` -> (path, value); values are read as JSON
    when they parse (numbers, true/false/null, lists), else kept as strings."""
    if "=" not in text:
        raise ValueError(f"--set needs KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().split("."), value


def apply_override(config: dict[str, Any], path: list[str], value: Any) -> None:
    node = config
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


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


def label_picture(label: Tensor, palette: Tensor) -> Tensor:
    """A (1, H, W) label map as a uint8 colour picture; ids without a colour are black."""
    inside = (label >= 0) & (label < palette.shape[0])
    return colorize(torch.where(inside, label, 0), palette) * inside


def first_batches(dataset, count: int, batch_size: int):
    """Batches of the first ``count`` samples of ``dataset``."""
    count = min(count, len(dataset))
    for start in range(0, count, batch_size):
        yield collate([dataset[i] for i in range(start, min(start + batch_size, count))])


# ------------------------------------------------------------------------------- runs
def _set_flags(recipe: dict[str, Any], args: argparse.Namespace, names) -> None:
    for dest in names:
        value = getattr(args, dest, None)
        _, key, _ = TRAIN_FLAGS[dest]
        if value is not None and key is not None and key[0] != "preset":
            apply_override(recipe, list(key), value)


def _check_overrides(overrides: list[tuple[list[str], Any]]) -> None:
    for path, _ in overrides:
        if path == ["training", "output_dir"]:
            raise SystemExit(
                "training.output_dir is always RUN/checkpoints, so that a run folder can be "
                "moved or copied; choose the run folder with --output"
            )


def resolve_recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The resolved configuration of a ``train`` call: preset, smoke sizes, flags, --set."""
    preset = getattr(args, "preset", None) or "demo"
    recipe = copy.deepcopy(PRESETS[preset])
    recipe["preset"] = preset
    recipe["smoke"] = bool(args.smoke)
    if args.smoke:
        if recipe["data"]["kind"] != "synthetic":
            raise SystemExit("--smoke uses the synthetic data: combine it with --preset demo")
        recipe = merge(recipe, SMOKE)
    training = recipe["training"]
    _set_flags(recipe, args, TRAIN_FLAGS)
    if args.instance_features is False:
        training.pop("encoder", None)
    elif args.instance_features and "encoder" not in training:
        training["encoder"] = {"feature_channels": 3}
    training["device"] = resolve_device(getattr(args, "device", None))
    training["output_dir"] = CHECKPOINTS
    overrides = [parse_override(text) for text in args.set or ()]
    _check_overrides(overrides)
    for path, value in overrides:
        apply_override(recipe, path, value)
    TrainingConfig.from_dict(training)  # fail early, naming the bad field
    return recipe


def _stored(recipe: dict[str, Any], key: tuple[str, ...]) -> Any:
    node: Any = recipe
    for part in key:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def resume_recipe(args: argparse.Namespace, run: Path) -> dict[str, Any]:
    """The configuration of ``train --resume``: the run's ``recipe.json`` with the flags and
    ``--set`` values that may change on resume applied; any other flag is refused.

    A refused flag with the value the run already has is accepted (it changes nothing).
    """
    recipe = read_recipe(run)
    recipe.setdefault("smoke", False)
    training = recipe["training"]
    stored = TrainingConfig.from_dict(copy.deepcopy(training))  # with the defaults filled in
    for dest, (flag, key, changeable) in TRAIN_FLAGS.items():
        value = getattr(args, dest, None)
        if changeable or value is None or (dest == "smoke" and value is False):
            continue
        if dest == "instance_features":
            current = stored.encoder is not None
        elif key[0] == "training":
            current = getattr(stored, key[1])
        else:
            current = _stored(recipe, key)
        if value != current:
            raise SystemExit(
                f"{flag} cannot change on resume: {run} was trained with {current!r} (see its "
                f"{RECIPE_FILE}); start a new run (train without --resume, another --output) to "
                "change it"
            )
    _set_flags(recipe, args, [dest for dest, (_, _, ok) in TRAIN_FLAGS.items() if ok])
    if getattr(args, "device", None) is not None:
        training["device"] = resolve_device(args.device)
    overrides = [parse_override(text) for text in args.set or ()]
    _check_overrides(overrides)
    for path, value in overrides:
        key = ".".join(path)
        allowed = any(
            key == name or (name.endswith(".") and key.startswith(name)) for name in RESUME_SETTINGS
        )
        if not allowed and _stored(recipe, tuple(path)) != value:
            raise SystemExit(
                f"--set {key} cannot change on resume (it is part of what {run} has trained); "
                f"start a new run to change it. On resume --set may change: "
                f"{', '.join(RESUME_SETTINGS)}"
            )
        apply_override(recipe, path, value)
    training["output_dir"] = CHECKPOINTS
    TrainingConfig.from_dict(training)  # fail early, naming the bad field
    return recipe


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


def open_for_append(path: Path):
    """``open(path, "a")``, after giving ``path`` its own copy if it is a hard link.

    Every other file of a run is replaced atomically (a new file renamed over the old name), so
    a run folder copied with hard links (``cp -al``) never writes into its original; an append
    would, so a shared file is copied first.
    """
    if path.is_file() and path.stat().st_nlink > 1:
        temporary = path.with_name(f".{path.name}.tmp")
        shutil.copyfile(path, temporary)
        os.replace(temporary, path)
    return open(path, "a")  # the caller closes it


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)


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
def _pad_ids(ids: Tensor, padding: tuple[int, int, int, int]) -> Tensor:
    """Pad an integer map by repeating its border (ids stay exact in float64)."""
    if not any(padding):
        return ids
    padded = torch.nn.functional.pad(ids.to(torch.float64), padding, mode="replicate")
    return padded.round().to(ids.dtype)


def bank_features(
    bank: FeatureBank,
    instance: Tensor,
    label: Tensor,
    choices: dict[int, int] | None = None,
    *,
    seed: int = 0,
) -> Tensor:
    """Feature maps from the bank: chosen centres for the ids in ``choices``, seeded random
    centres for the rest (the same seed gives the same draws, with or without choices)."""
    generator = torch.Generator(device=instance.device).manual_seed(seed)
    if choices:
        return bank.feature_map(instance, choices, label, generator=generator)
    return bank.sample(instance, label, generator=generator)


@torch.no_grad()
def synthesize(
    training,
    label: Tensor,
    instance: Tensor | None,
    features: Tensor | None,
    *,
    precision: str | None = None,
    onnx=None,
) -> Tensor:
    """Images for label maps of any size: condition -> pad -> G (or ONNX) -> crop.

    Returns float32 (N, 3, H, W) in [-1, 1], the size of ``label``.
    """
    config = training.config
    device = training.device
    condition = condition_map(
        label.to(device),
        config.num_classes,
        instance=instance.to(device) if config.use_instances else None,
        ignore_index=config.ignore_index,
    )
    x = generator_input(condition, None if features is None else features.to(device))
    generator = training.generator
    multiple = onnx.size_multiple if onnx is not None else generator.size_multiple
    x, padding = pad_to_multiple(x, multiple, "replicate")
    if onnx is not None:
        return crop_padding(onnx(x).float(), padding)
    generator.eval()
    with autocast_context(precision or config.precision, device):
        fake = generator(x)
    return crop_padding(fake.float(), padding).cpu()


@torch.no_grad()
def encode(training, image: Tensor, instance: Tensor) -> Tensor:
    """The encoder's pooled features of real images of any size."""
    encoder = training.models.encoder
    device = training.device
    image, padding = pad_to_multiple(image.to(device), encoder.size_multiple, "replicate")
    instance = _pad_ids(instance.to(device), padding)
    encoder.eval()
    return crop_padding(encoder(image, instance).float(), padding)


# ------------------------------------------------------------------------------- train
class TrainingMonitor:
    """on_step callback: progress, JSONL log, TensorBoard (when installed), PNG grids.

    Progress is a tqdm bar on a terminal; when stderr is not a terminal (a log file, CI) it is
    a plain line every ``training.log_every_steps`` steps instead of a bar redrawn every step.
    """

    def __init__(self, run: Path, recipe: dict[str, Any], training, preview: dict[str, Any]):
        self.run, self.recipe, self.preview = run, recipe, preview
        self.grid_every = recipe["recipe"]["grid_every"]
        self.log_every = max(1, recipe["training"].get("log_every_steps") or 1)
        self.line_every = recipe["training"].get("log_every_steps") or 0
        self.palette = palette_for(recipe)
        self.log = open_for_append(run / "metrics.jsonl")
        self.started = time.perf_counter()
        self.total = training.config.total_epochs * math.ceil(
            preview["num_samples"] / (training.config.batch_size * training.context.world_size)
        )
        self.bar = None
        if sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=self.total, initial=training.state.global_step, unit="step")
            except ImportError:
                pass
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run / "tensorboard"))
        except ImportError:  # TensorBoard is optional
            pass

    def __call__(self, training, losses: dict[str, float]) -> None:
        step = training.state.global_step
        epoch = training.state.epoch + 1
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch}/{training.config.total_epochs}")
            self.bar.set_postfix(
                {k: f"{losses[k]:.3f}" for k in ("g_gan", "g_feat", "d_fake", "d_real")}
            )
            self.bar.update(1)
        elif self.line_every and step % self.line_every == 0:
            shown = " ".join(
                f"{k}={losses[k]:.3f}" for k in ("g_gan", "g_feat", "d_fake", "d_real")
            )
            elapsed = time.perf_counter() - self.started
            print(
                f"epoch {epoch}/{training.config.total_epochs} step {step}/{self.total}: {shown} "
                f"({elapsed:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        if step % self.log_every == 0:
            record = {"step": step, "epoch": epoch, "time": time.perf_counter() - self.started}
            self.log.write(json.dumps({**record, **losses}) + "\n")
            self.log.flush()
            if self.writer is not None:
                for name, value in losses.items():
                    self.writer.add_scalar(f"train/{name}", value, step)
        if self.grid_every and step % self.grid_every == 0:
            self.write_grid(training, step)

    def write_grid(self, training, step: int) -> Path:
        batch = self.preview["batch"]
        fake = training.generate(batch)
        rows = [
            [label_picture(label, self.palette), generated, real]
            for label, generated, real in zip(batch["label"], fake, batch["image"], strict=True)
        ]
        return save_png(image_grid(rows), self.run / "grids" / f"step_{step:06d}.png")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self.log.close()


def command_train(args: argparse.Namespace) -> Path | dict[str, Any]:
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
    training = build_training(config, resume=resume, context=context)
    state = training.state
    if state.epoch >= config.total_epochs:
        raise SystemExit(
            f"{run} has already finished: {state.epoch} of {config.total_epochs} epochs (epochs="
            f"{config.epochs}, decay_epochs={config.decay_epochs}), step {state.global_step}; "
            "nothing to train. Extend it with --epochs or --decay-epochs (the totals, e.g. "
            f"--epochs {config.epochs + 1})"
        )
    if is_main:
        write_json(run / RECIPE_FILE, recipe)
    dataset = make_dataset(recipe["data"], "train", train=True)
    result = None
    if is_main:
        val = make_dataset(recipe["data"], "val")
        preview = {"batch": next(first_batches(val, 4, 4)), "num_samples": len(dataset)}
        monitor = TrainingMonitor(run, recipe, training, preview)
    try:
        result = training.fit(dataset, on_step=monitor if is_main else None)
        if is_main:
            monitor.write_grid(training, training.state.global_step)
    finally:
        if is_main:
            monitor.close()
    if is_main:
        print(f"trained {result.global_step} steps; checkpoint {result.checkpoint}")
        if recipe.get("smoke"):
            print("(a --smoke run: it checks the pipeline and learns nothing)")
        write_index(run)
    return run


# ------------------------------------------------------------------------------- dry run
DRY_RUN_FILE = "dry_run.json"
DRY_RUN_STAGE_ONE = "dry_run_stage1"  # the stage-1 checkpoint folder a stage-2 dry run makes
# torchvision's ImageNet VGG19 file in the torch hub cache, where the VGG loss looks it up.
VGG19_IMAGENET_FILE = "vgg19-dcbb9e9d.pth"


def dry_run_size(recipe: dict[str, Any]) -> tuple[int, int]:
    """(H, W) of a dry run: the preset's full training resolution.

    Synthetic data trains at ``data.size``; Cityscapes and folder data at ``data.width`` (1024
    when unset) and half that height, the 2:1 frames of Cityscapes after ``ScaleWidth``.
    """
    data = recipe["data"]
    if data["kind"] == "synthetic":
        height, width = data["size"]
        return int(height), int(width)
    width = int(data.get("width") or 1024)
    return width // 2, width


def _dry_run_vgg(values: dict[str, Any]) -> str | None:
    """Random VGG weights when the ImageNet file is not cached (it cannot be downloaded here);
    returns the note to print, or None when nothing changed."""
    losses = TrainingConfig.from_dict(copy.deepcopy(values)).losses
    if losses.vgg_weight == 0 or losses.vgg_weights != "imagenet":
        return None
    path = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_IMAGENET_FILE
    if path.is_file():
        return None
    values.setdefault("losses", {})["vgg_weights"] = None
    return (
        f"VGG loss with random weights: the ImageNet VGG19 file {path} is not present (the "
        "cost per step is the same)"
    )


def _dry_run_stage_one(values: dict[str, Any], run: Path) -> Path:
    """Save the initial weights of the stage-1 model that stage-2 ``values`` grow from."""
    stage_one = copy.deepcopy(values)
    stage_one.update(
        stage="global",
        global_checkpoint=None,
        freeze_global_epochs=0,
        compile=False,
        channels_last=False,
        precision="fp32",
        device="cpu",  # built beside the device: it takes no part in the measured memory
        output_dir=str(run / DRY_RUN_STAGE_ONE),
    )
    stage_one["losses"] = {**stage_one.get("losses", {}), "vgg_weight": 0.0}  # weights only
    return build_training(TrainingConfig.from_dict(stage_one)).save()


def _peak_rss_mib() -> float | None:
    """The peak resident set size of this process in MiB (None where unknown)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes, else KiB


def _text_table(rows: list[tuple[str, ...]]) -> str:
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in width))
    return "\n".join(lines)


def format_dry_run(result: dict[str, Any]) -> str:
    """The table of a dry run: one row under the header."""

    def millions(count: int | None) -> str:
        return "-" if count is None else f"{count / 1e6:.2f}"

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    params = result["parameters"]
    memory = result["peak_memory_mib"]
    height, width = result["resolution"]
    header = ("preset", "stage", "resolution", "device", "precision", "G (M)", "D (M)",
              "E (M)", "s/step (median)", "s/step (first)", "peak memory (MiB)")  # fmt: skip
    row = (
        result["preset"],
        result["stage"],
        f"{height}x{width}, batch {result['batch_size']}",
        result["device"],
        result["precision"],
        millions(params["generator"]),
        millions(params["discriminator"]),
        millions(params["encoder"]),
        seconds(result["median_step_s"]),
        seconds(result["first_step_s"]),
        "-" if memory is None else f"{memory:.0f} ({result['peak_memory_kind']})",
    )
    return _text_table([header, row])


def command_dry_run(args: argparse.Namespace) -> dict[str, Any]:
    """``train --dry-run N``: time N steps of a preset at full size; write OUTPUT/dry_run.json."""
    if args.resume:
        raise SystemExit("--dry-run measures a new model: it does not combine with --resume")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit("--dry-run runs in one process: start it without torchrun")
    if args.dry_run < 1:
        raise SystemExit(f"--dry-run needs at least 1 step, got {args.dry_run}")
    run = Path(args.output)
    recipe = resolve_recipe(args)
    values = recipe["training"]
    notes = []
    vgg_note = _dry_run_vgg(values)
    if vgg_note is not None:
        notes.append(vgg_note)
    if values.get("stage") == "local" and not values.get("global_checkpoint"):
        values["global_checkpoint"] = str(_dry_run_stage_one(values, run))
        notes.append(f"stage-1 checkpoint (initial weights) kept at {values['global_checkpoint']}")
    config = training_config(recipe)  # no output_dir: the dry run saves no checkpoint
    height, width = args.dry_run_size or dry_run_size(recipe)
    training = build_training(config)
    multiple = training.models.generator.size_multiple
    if height % multiple or width % multiple:
        raise SystemExit(
            f"the dry run size {height}x{width} must be a multiple of {multiple} (the "
            "generator's downsamplings)"
        )
    scenes = SyntheticScenes(
        args.dry_run * config.batch_size, size=(height, width), seed=config.seed, split="train"
    )
    batches = list(first_batches(scenes, len(scenes), config.batch_size))
    device = training.device
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    step_seconds = []
    for batch in batches:
        begun = time.perf_counter()
        training.step(batch)  # returns floats: the step has finished on the device
        if cuda:
            torch.cuda.synchronize(device)
        step_seconds.append(time.perf_counter() - begun)
    networks = training.models.networks()
    result = {
        "preset": recipe["preset"],
        "stage": config.stage,
        "resolution": [height, width],
        "batch_size": config.batch_size,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else platform_name(),
        "precision": config.precision,
        "channels_last": config.channels_last,
        "compile": config.compile,
        "vgg_weights": config.losses.vgg_weights if config.losses.vgg_weight > 0 else None,
        "parameters": {
            name: (
                None
                if networks.get(name) is None
                else sum(p.numel() for p in networks[name].parameters())
            )
            for name in ("generator", "discriminator", "encoder")
        },
        "steps": len(step_seconds),
        "first_step_s": step_seconds[0],
        "median_step_s": statistics.median(step_seconds[1:]) if len(step_seconds) > 1 else None,
        "step_seconds": step_seconds,
        "peak_memory_mib": (
            torch.cuda.max_memory_allocated(device) / 2**20 if cuda else _peak_rss_mib()
        ),
        "peak_memory_kind": "CUDA allocated" if cuda else "process peak RSS",
        "global_checkpoint": config.global_checkpoint,
        "notes": notes,
        "config": config.to_dict(),
    }
    write_json(run / DRY_RUN_FILE, result)
    print(format_dry_run(result))
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {run / DRY_RUN_FILE}")
    return result


def platform_name() -> str:
    """The CPU's name, as far as Python knows it."""
    import platform

    return platform.processor() or platform.machine()


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
    for batch in first_batches(dataset, len(dataset), args.batch_size):
        features = encode(training, batch["image"], batch["instance"])
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
    write_index(run)
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
    images = []
    for cluster in range(centers.shape[0]):
        features = bank_features(bank, instance, label, {instance_id: cluster})
        images.append(synthesize(training, label, instance, features)[0])
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


def command_generate(args: argparse.Namespace) -> Path:
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision)
    onnx = None
    if args.onnx is not None:
        from condgan_blocks.export import OnnxGenerator

        onnx = OnnxGenerator(args.onnx)
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
    bank = load_bank(run, training) if args.features == "bank" else None
    choices = read_choices(args.choices)
    out = Path(args.output) if args.output else run / "generated"
    count = args.num if args.num is not None else recipe["recipe"]["num_generate"]
    palette = palette_for(recipe)
    rows = []
    for offset, batch in enumerate(first_batches(dataset, count, 1)):
        label, instance = batch["label"], batch.get("instance")
        if instance is None:
            instance = label
        features = None
        if training.models.encoder is not None:
            if args.features == "encode":
                features = encode(training, batch["image"], instance)
            else:
                chosen = None
                if choices is not None:
                    chosen = choices.get(batch["path"][0], choices.get("*", {}))
                    present = set(instance.unique().tolist())  # global choices: ids here only
                    chosen = {k: v for k, v in chosen.items() if k in present}
                features = bank_features(bank, instance, label, chosen, seed=args.seed + offset)
        fake = synthesize(training, label, instance, features, precision=args.precision, onnx=onnx)
        save_png(fake[0], out / output_name(batch["path"][0]))
        row = [label_picture(label[0], palette), fake[0]]
        if "image" in batch:
            row.append(batch["image"][0])
        rows.append(row)
    save_png(image_grid(rows), out / "grid.png")
    print(f"wrote {len(rows)} images to {out}")
    write_index(run)
    return out


# ------------------------------------------------------------------------------- evaluate
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


def format_table(results: dict[str, dict[str, float]]) -> str:
    rows = [("images", "pixel accuracy", "mean IoU")]
    names = {"generated": "pix2pixHD (ours)", "real": "real images (oracle)",
             "flat": "flat colours (floor)"}  # fmt: skip
    for key, name in names.items():
        scores = results[key]
        rows.append((name, f"{100 * scores['pixel_accuracy']:.2f}", f"{scores['mean_iou']:.4f}"))
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in width))
    return "\n".join(lines)


def command_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision)
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
    for offset, batch in enumerate(first_batches(val, count, args.batch_size)):
        label, instance = batch["label"], batch.get("instance", batch["label"])
        features = None
        if bank is not None:
            features = bank_features(bank, instance, label, seed=args.seed + offset)
        images = {
            "generated": synthesize(training, label, instance, features),
            "real": batch["image"],
            "flat": flat_colour_image(label, colours),
        }
        for key, image in images.items():
            scores[key].update(segment(segmenter, image.to(device)).cpu(), label)
            noise[key].update(image.float())
    results: dict[str, Any] = {key: matrix.compute() for key, matrix in scores.items()}
    for key, meter in noise.items():
        energy = meter.compute()
        results[key].update({name: energy[name] for name in HF_KEYS})
    real_iou = results["real"]["mean_iou"]
    results["miou_ratio"] = results["generated"]["mean_iou"] / real_iou if real_iou else None
    for name in HF_KEYS:
        real_hf = results["real"][name]
        results[f"{name}_ratio"] = results["generated"][name] / real_hf if real_hf else None
    results["num_images"] = count
    results["split"] = args.split
    results["smoke"] = bool(recipe.get("smoke", False))
    results["warnings"] = evaluation_warnings(results, recipe, args.segmenter is not None)
    if (run / STYLES_FILE).is_file():
        results["car_styles"] = json.loads((run / STYLES_FILE).read_text())
    write_json(run / "evaluation" / "metrics.json", results)
    print(format_table(results))
    print(f"generated / real mean IoU: {format_ratio(results['miou_ratio'])}")
    print(format_noise(results))
    for warning in results["warnings"]:
        print(f"WARNING: {warning}")
    write_index(run)
    return results


SMOKE_WARNING = (
    "This is a --smoke run: tiny networks trained for a few steps on a few images, and a "
    "segmenter trained for a couple of epochs. It checks that the pipeline runs; its images "
    "and scores measure nothing."
)


def evaluation_warnings(results: dict[str, Any], recipe: dict[str, Any], own: bool) -> list[str]:
    """Why the scores of ``results`` may say nothing about the generator."""
    warnings = [SMOKE_WARNING] if recipe.get("smoke") else []
    real, flat = results["real"]["mean_iou"], results["flat"]["mean_iou"]
    if real <= flat + 1e-3:
        fix = (
            "check the --segmenter model"
            if own
            else (
                "train it longer (--set recipe.segmenter_epochs=N on train, then evaluate "
                "--retrain-segmenter) or pass --segmenter"
            )
        )
        warnings.append(
            f"The segmenter scores real images no better than flat colour paintings (mean IoU "
            f"{real:.4f} vs {flat:.4f}): it has not learnt to segment, so the generated / real "
            f"ratio says nothing about the generator; {fix}."
        )
    return warnings


def format_ratio(ratio: float | None) -> str:
    return "n/a (the real images score 0)" if ratio is None else f"{ratio:.3f}"


# metrics.json keys of the high-frequency energy (HighFrequencyMeter), per image kind; the
# generated / real ratio of each is stored as f"{key}_ratio". Older files have none of them.
HF_KEYS = ("chroma_hf", "luminance_hf")


def _times_real(ratio: float | None) -> str:
    return "n/a, the real images have none" if ratio is None else f"{ratio:.1f}x real"


def format_noise(results: dict[str, Any]) -> str:
    """One line on the high-frequency energy of the generated and the real images, e.g.
    ``chroma high-frequency: generated 0.041, real 0.008 (5.1x real); luminance: ...``;
    empty for metrics written before it was measured."""
    if any(f"{name}_ratio" not in results for name in HF_KEYS):
        return ""
    parts = [
        f"generated {results['generated'][name]:.3f}, real {results['real'][name]:.3f} "
        f"({_times_real(results[f'{name}_ratio'])})"
        for name in HF_KEYS
    ]
    return f"chroma high-frequency: {parts[0]}; luminance: {parts[1]}"


# ------------------------------------------------------------------------------- index.html
def write_index(run: Path) -> Path:
    """``index.html``: the evaluation table, car styles, generated results and training grids.

    A smoke run (``"smoke": true`` in ``recipe.json``) opens with a warning that it measures
    nothing, and so do scores the evaluation flagged.
    """
    sections = []
    recipe_path = run / RECIPE_FILE
    smoke = recipe_path.is_file() and bool(json.loads(recipe_path.read_text()).get("smoke"))
    if smoke:
        sections.append(ReportSection("Smoke run", warnings=[SMOKE_WARNING]))
    metrics = run / "evaluation" / "metrics.json"
    if metrics.is_file():
        results = json.loads(metrics.read_text())
        header = ("images", "pixel accuracy (%)", "mean IoU", "chroma HF", "luminance HF")
        names = (("pix2pixHD (ours)", "generated"), ("real images (oracle)", "real"),
                 ("flat colours (floor)", "flat"))  # fmt: skip
        rows = [
            (
                name,
                f"{100 * results[k]['pixel_accuracy']:.2f}",
                f"{results[k]['mean_iou']:.4f}",
                *(
                    "n/a" if results[k].get(hf) is None else f"{results[k][hf]:.4f}"
                    for hf in HF_KEYS
                ),
            )
            for name, k in names
        ]
        text = [
            f"A segmentation network trained on real training images segments "
            f"{results['num_images']} {results['split']} images (the paper's Table 1 protocol). "
            f"Generated / real mean IoU: {format_ratio(results['miou_ratio'])}.",
        ]
        if all(f"{hf}_ratio" in results for hf in HF_KEYS):
            text.append(
                "High-frequency energy (the HF columns: mean |x - 3x3 box blur| on [0, 1]), "
                f"generated / real: chroma {_times_real(results['chroma_hf_ratio'])}, "
                f"luminance {_times_real(results['luminance_hf_ratio'])} (1.0x real: as noisy "
                "as the real images)."
            )
        warnings = [w for w in results.get("warnings", ()) if not (smoke and w == SMOKE_WARNING)]
        sections.append(
            ReportSection(
                "Evaluation",
                text=text,
                table=(header, rows),
                links=[("metrics.json", metrics)],
                warnings=warnings,
            )
        )
    styles = run / STYLES_FILE
    if styles.is_file():
        info = json.loads(styles.read_text())
        text = [
            f"Scene {info['scene']}: instance {info['instance_id']} rendered with each of the "
            f"{info['num_styles']} feature-bank clusters of its class (top-left: labels, "
            f"bottom-left: the real image). Mean-colour difference inside the object (RGB L2 "
            f"on [0, 1]): largest {info['max_difference']:.3f}, mean {info['mean_difference']:.3f}."
        ]
        sections.append(
            ReportSection(
                "Feature bank: one scene, several car styles",
                text=text,
                images=[("car styles", run / "car_styles.png")],
            )
        )
    generated = run / "generated"
    if (generated / "grid.png").is_file():
        files = sorted(p for p in generated.glob("*.png") if p.name != "grid.png")
        sections.append(
            ReportSection(
                "Generated (labels | generated | real)",
                images=[("generated", generated / "grid.png")],
                links=[(p.name, p) for p in files],
            )
        )
    grids = sorted((run / "grids").glob("step_*.png"))
    if grids:
        sections.append(
            ReportSection(
                "Training (labels | generated | real)",
                images=[(grids[-1].stem, grids[-1])],
                links=[(p.stem, p) for p in grids],
            )
        )
    links = [
        (name, run / name) for name in (RECIPE_FILE, "metrics.jsonl") if (run / name).is_file()
    ]
    sections.append(ReportSection("Run", text=[f"Run folder: {run}"], links=links))
    return write_index_html(run / "index.html", f"pix2pixHD run: {run.name}", sections)


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
        print(f"WARNING: {SMOKE_WARNING}")
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
    bank = load_bank(run, training)
    sample = make_dataset(recipe["data"], split)[index]
    label, instance = sample["label"], sample.get("instance", sample["label"])

    def generate(label: Tensor, instance: Tensor, choices: dict[int, int]) -> Tensor:
        features = None if bank is None else bank_features(bank, instance, label, choices)
        return synthesize(training, label, instance, features)[0]

    num_styles = {} if bank is None else {k: len(v) for k, v in bank.centers.items()}
    session = EditorSession(
        label, instance, classes=editor_classes(recipe), generate=generate, num_styles=num_styles
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


# ------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pix2pixhd.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    help_format = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser(
        "train", help="train a model", formatter_class=help_format,
        description="Train pix2pixHD from a preset; every value can be overridden and the "
        "resolved configuration is written to OUTPUT/recipe.json.",
    )  # fmt: skip
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=argparse.SUPPRESS,  # unset unless given: --resume refuses a changed preset
        help="demo: synthetic scenes on CPU; cityscapes-global: stage 1 (G1, "
        "1024x512, 2 scales); cityscapes-local: stage 2 (G1 + enhancer, "
        "2048x1024, 3 scales, from --global-checkpoint, global frozen for 10 "
        "epochs); folder: the pix2pixHD folder layout (--data-root) (default: demo)",
    )
    train.add_argument("--output", default="runs/demo", help="the run folder")
    train.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and a few steps (checks the pipeline, learns nothing)",
    )
    train.add_argument("--data-root", help="dataset folder (cityscapes and folder presets)")
    train.add_argument(
        "--global-checkpoint",
        help="stage-1 checkpoint or run checkpoints folder (cityscapes-local)",
    )
    train.add_argument(
        "--instance-boundary",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="feed the instance boundary map to G and D",
    )
    train.add_argument(
        "--instance-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train the instance feature encoder jointly (needed "
        "for encode-features and per-object styles)",
    )
    train.add_argument("--fake-pool", type=int, help="fake-image pool size for D (0: off)")
    train.add_argument("--ema", type=float, help="EMA decay of G's weights (e.g. 0.999)")
    train.add_argument(
        "--precision", choices=("fp32", "bf16", "fp16"), help="autocast precision (fp16 needs CUDA)"
    )
    train.add_argument(
        "--channels-last", action="store_true", default=None, help="channels-last memory format"
    )
    train.add_argument("--compile", action="store_true", default=None, help="torch.compile G, D, E")
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --output from its latest checkpoint; only --epochs, "
        "--decay-epochs, --keep-last, --log-every, --grid-every, --device, --precision, "
        "--compile, --channels-last and --data-root may change",
    )
    train.add_argument("--epochs", type=int, help="epochs at the initial learning rate")
    train.add_argument("--decay-epochs", type=int, help="epochs of linear decay to 0")
    train.add_argument("--batch-size", type=int, help="samples per step and process")
    train.add_argument("--keep-last", type=int, help="keep only the newest N epoch checkpoints")
    train.add_argument(
        "--log-every", type=int, help="log the losses every N steps (metrics.jsonl, stderr)"
    )
    train.add_argument("--seed", type=int, help="seed of weights, data order and draws")
    train.add_argument(
        "--device",
        default=argparse.SUPPRESS,  # unset unless given: --resume keeps the run's device
        help="cpu, cuda, cuda:1 or auto (CUDA when present); default: auto, or with --resume "
        "the run's device",
    )
    train.add_argument(
        "--grid-every",
        type=int,
        help="write a labels | generated | real PNG grid every N steps (0: off)",
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
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override any value of the resolved config (repeatable), e.g. "
                       "training.generator.num_blocks=6, data.num_train=800, "
                       "recipe.segmenter_epochs=10; values are JSON")  # fmt: skip
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
                              "(<folder>/<phase>_label, optional <phase>_inst)")  # fmt: skip
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
        "oracle) and flat-colour paintings (the floor). Writes RUN/evaluation/metrics.json.",
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
    args = build_parser().parse_args(argv)
    if getattr(args, "train_args", None) and args.train_args[0] == "--":
        args.train_args = args.train_args[1:]
    return args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
