"""pix2pixHD, the reference recipe: train, encode-features, generate, evaluate (and demo).

    python examples/pix2pixhd.py demo [--smoke] [--output results/demo]
    python examples/pix2pixhd.py train --preset cityscapes-global --data-root DATA/cityscapes
    python examples/pix2pixhd.py encode-features --run runs/demo
    python examples/pix2pixhd.py generate --run runs/demo [--choices styles.json] [--size 70 150]
    python examples/pix2pixhd.py evaluate --run runs/demo [--segmenter my_segmenter.pt]
    python examples/pix2pixhd.py edit --run runs/demo [--port 0]
    torchrun --nproc_per_node=N examples/pix2pixhd.py train ...

A run folder holds ``recipe.json`` (the resolved configuration: every value the run used),
``checkpoints/`` (``latest.pt`` and the feature bank beside it), ``metrics.jsonl``, ``grids/``
(colourised labels | generated | real, every ``--grid-every`` steps), ``generated/``,
``evaluation/metrics.json`` and ``index.html``, which links all of them.

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
def resolve_recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The resolved configuration of a ``train`` call: preset, smoke sizes, flags, --set."""
    recipe = copy.deepcopy(PRESETS[args.preset])
    recipe["preset"] = args.preset
    if args.smoke:
        if recipe["data"]["kind"] != "synthetic":
            raise SystemExit("--smoke uses the synthetic data: combine it with --preset demo")
        recipe = merge(recipe, SMOKE)
    training = recipe["training"]
    flags = {
        "use_instances": args.instance_boundary,
        "pool_size": args.fake_pool,
        "ema_decay": args.ema,
        "precision": args.precision,
        "channels_last": args.channels_last,
        "compile": args.compile,
        "epochs": args.epochs,
        "decay_epochs": args.decay_epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "global_checkpoint": args.global_checkpoint,
    }
    training.update({k: v for k, v in flags.items() if v is not None})
    if args.instance_features is False:
        training.pop("encoder", None)
    elif args.instance_features and "encoder" not in training:
        training["encoder"] = {"feature_channels": 3}
    training["device"] = resolve_device(args.device)
    training["output_dir"] = str(Path(args.output) / "checkpoints")
    if args.data_root is not None:
        recipe["data"]["root"] = args.data_root
    if args.grid_every is not None:
        recipe["recipe"]["grid_every"] = args.grid_every
    for text in args.set or ():
        apply_override(recipe, *parse_override(text))
    TrainingConfig.from_dict(training)  # fail early, naming the bad field
    return recipe


def training_config(recipe: dict[str, Any]) -> TrainingConfig:
    return TrainingConfig.from_dict(copy.deepcopy(recipe["training"]))


def resolve_device(device: str | None) -> str:
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def read_recipe(run: Path) -> dict[str, Any]:
    path = run / RECIPE_FILE
    if not path.is_file():
        raise SystemExit(f"{run} is not a run folder: no {RECIPE_FILE} (train one first)")
    return json.loads(path.read_text())


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)


def load_run(run: Path, *, device: str | None = None, precision: str | None = None):
    """The trained run in ``run``: (recipe, Training restored from ``checkpoints/latest.pt``)."""
    recipe = read_recipe(run)
    config = training_config(recipe)
    changes = {"output_dir": None, "compile": False, "device": resolve_device(device)}
    if precision is not None:
        changes["precision"] = precision
    config = dataclasses.replace(config, **changes)
    training = build_training(config, resume=run / "checkpoints")
    training.models.train(False)
    return recipe, training


def load_bank(run: Path, training) -> FeatureBank | None:
    if training.models.encoder is None:
        return None
    path = run / "checkpoints" / BANK_FILE
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
    """on_step callback: tqdm bar, JSONL log, TensorBoard (when installed), PNG grids."""

    def __init__(self, run: Path, recipe: dict[str, Any], training, preview: dict[str, Any]):
        self.run, self.recipe, self.preview = run, recipe, preview
        self.grid_every = recipe["recipe"]["grid_every"]
        self.log_every = max(1, recipe["training"].get("log_every_steps") or 1)
        self.palette = palette_for(recipe)
        self.log = open(run / "metrics.jsonl", "a")  # noqa: SIM115 (closed in close())
        self.started = time.perf_counter()
        self.bar = None
        try:
            from tqdm.auto import tqdm

            total = training.config.total_epochs * math.ceil(
                preview["num_samples"] / (training.config.batch_size * training.context.world_size)
            )
            self.bar = tqdm(total=total, initial=training.state.global_step, unit="step")
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


def command_train(args: argparse.Namespace) -> Path:
    run = Path(args.output)
    context = init_distributed() if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    resume = None
    if args.resume:
        if (run / "checkpoints" / "latest.pt").is_file():
            resume = run / "checkpoints"
        recipe = read_recipe(run)
        for text in args.set or ():
            apply_override(recipe, *parse_override(text))
    else:
        recipe = resolve_recipe(args)
    is_main = context is None or context.is_main
    if is_main:
        write_json(run / RECIPE_FILE, recipe)
    config = training_config(recipe)
    training = build_training(config, resume=resume, context=context)
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
        write_index(run)
    return run


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
    path = run / "checkpoints" / BANK_FILE
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
        name = Path(batch["path"][0]).name
        save_png(fake[0], out / f"{name}.png")
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
    results: dict[str, Any] = {key: matrix.compute() for key, matrix in scores.items()}
    results["miou_ratio"] = results["generated"]["mean_iou"] / results["real"]["mean_iou"]
    results["num_images"] = count
    results["split"] = args.split
    if (run / STYLES_FILE).is_file():
        results["car_styles"] = json.loads((run / STYLES_FILE).read_text())
    write_json(run / "evaluation" / "metrics.json", results)
    print(format_table(results))
    print(f"generated / real mean IoU: {results['miou_ratio']:.3f}")
    write_index(run)
    return results


# ------------------------------------------------------------------------------- index.html
def write_index(run: Path) -> Path:
    """``index.html``: the evaluation table, car styles, generated results and training grids."""
    sections = []
    metrics = run / "evaluation" / "metrics.json"
    if metrics.is_file():
        results = json.loads(metrics.read_text())
        header = ("images", "pixel accuracy (%)", "mean IoU")
        names = (("pix2pixHD (ours)", "generated"), ("real images (oracle)", "real"),
                 ("flat colours (floor)", "flat"))  # fmt: skip
        rows = [
            (name, f"{100 * results[k]['pixel_accuracy']:.2f}", f"{results[k]['mean_iou']:.4f}")
            for name, k in names
        ]
        text = [
            f"A segmentation network trained on real training images segments "
            f"{results['num_images']} {results['split']} images (the paper's Table 1 protocol). "
            f"Generated / real mean IoU: {results['miou_ratio']:.3f}.",
        ]
        sections.append(
            ReportSection(
                "Evaluation", text=text, table=(header, rows), links=[("metrics.json", metrics)]
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
        default="demo",
        help="demo: synthetic scenes on CPU; cityscapes-global: stage 1 (G1, "
        "1024x512, 2 scales); cityscapes-local: stage 2 (G1 + enhancer, "
        "2048x1024, 3 scales, from --global-checkpoint, global frozen for 10 "
        "epochs); folder: the pix2pixHD folder layout (--data-root)",
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
        help="continue the run in --output from its latest checkpoint",
    )
    train.add_argument("--epochs", type=int, help="epochs at the initial learning rate")
    train.add_argument("--decay-epochs", type=int, help="epochs of linear decay to 0")
    train.add_argument("--batch-size", type=int, help="samples per step and process")
    train.add_argument("--seed", type=int, help="seed of weights, data order and draws")
    train.add_argument("--device", default="auto", help="cpu, cuda, cuda:1; auto picks CUDA")
    train.add_argument(
        "--grid-every",
        type=int,
        help="write a labels | generated | real PNG grid every N steps (0: off)",
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
