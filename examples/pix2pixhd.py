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

The sections of this file follow a run: train (G, D and, with ``--instance-features``, the
instance feature encoder E), encode-features (the feature bank), generate, evaluate, then the
demo of all four, the editor and prepare; each subcommand is one function, whose docstring is
its --help description. Everything else a run needs comes from the library.

The original pix2pixHD's option names work too (``train --name label2city_512p --niter 50``,
``generate --name label2city_1024p --resize_or_crop none``): ``main`` translates them with
``condgan_blocks.compat.pix2pixhd.translate_command_line`` (see docs/migration.md).

A run folder holds ``recipe.json`` (every value the run used), ``checkpoints/`` (``latest.pt``
and the feature bank), ``metrics.jsonl`` (the losses), ``grids/`` (labels | generated | real,
every ``--grid-every`` steps), ``generated/``, ``evaluation/metrics.json`` and ``index.html``,
which links all of them. It is relocatable: nothing in it names the folder itself, every
command resolves its files from ``--output``/``--run`` and nothing outside it is written, so
``train --output runs/b --resume`` continues a copy of ``runs/a`` in ``runs/b``.

Importing this file has no side effects.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from condgan_blocks import FeatureBank, Synthesizer, data, evaluation
from condgan_blocks.compat.pix2pixhd import translate_command_line
from condgan_blocks.editor import EditorServer, session_for_run
from condgan_blocks.instance import read_style_choices, style_choices_for
from condgan_blocks.training import (
    FEATURE_BANK_FILE,
    RUN_CHECKPOINTS,
    RunConfigError,
    TrainingMonitor,
    build_training,
    check_data_channels,
    dry_run,
    dry_run_size,
    format_dry_run,
    init_distributed,
    load_run,
    load_run_bank,
    load_run_config,
    merge_nested,
    read_run_config,
    resolve_device,
    resolve_run_config,
    run_config_value,
    run_training_config,
    save_run_config,
)
from condgan_blocks.visualization import (
    generated_image_name,
    image_grid,
    image_picture,
    label_picture,
    save_generated_image,
    save_png,
    write_json,
    write_run_report,
)

STYLES_FILE = "car_styles.json"
DRY_RUN_FILE = "dry_run.json"


# ------------------------------------------------------------------------------- configuration
# A preset is a whole run configuration in presets/NAME.json beside this file: "training" is a
# TrainingConfig dict, "data" says where samples come from (dataset_from_settings) and "recipe"
# holds this script's own settings. --config FILE reads any file of that form, --smoke merges
# presets/overlays/smoke.json over the demo preset; train --resume starts from the run's
# recipe.json instead. Then each of these train flags (their options are in subcommands below)
# sets one key (--instance-features adds or removes training.encoder) and --set
# section.key=value any other; on --resume only what RESUME_SETTINGS allows may change.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
SMOKE_OVERLAY = PRESETS_DIR / "overlays" / "smoke.json"
# fmt: off
TRAIN_KEYS = {
    "--preset": ("preset",), "--smoke": ("smoke",), "--data-root": ("data", "root"),
    "--global-checkpoint": ("training", "global_checkpoint"),
    "--instance-boundary": ("training", "use_instances"),
    "--instance-features": ("training", "encoder"),
    "--fake-pool": ("training", "pool_size"), "--ema": ("training", "ema_decay"),
    "--batch-size": ("training", "batch_size"), "--seed": ("training", "seed"),
    "--epochs": ("training", "epochs"), "--decay-epochs": ("training", "decay_epochs"),
    "--keep-last": ("training", "keep_last"), "--log-every": ("training", "log_every_steps"),
    "--grid-every": ("recipe", "grid_every"), "--precision": ("training", "precision"),
    "--channels-last": ("training", "channels_last"), "--compile": ("training", "compile"),
}
# fmt: on


def train_settings(args: argparse.Namespace, base: dict[str, Any]) -> list:
    """(key, value, flag) of each train flag given, then --device and the --set values."""
    settings = []
    for flag, key in TRAIN_KEYS.items():
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is None or (flag == "--smoke" and not value):
            continue
        if flag == "--instance-features":  # adds or removes the encoder E
            if value == (run_config_value(base, key) is not None):
                continue
            value = {"feature_channels": 3} if value else None
        settings.append((key, value, flag))
    device = getattr(args, "device", None)
    if device is not None or not args.resume:  # a resumed run keeps its device by default
        settings.append((("training", "device"), resolve_device(device), "--device"))
    return settings + list(args.set or ())


def run_config(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration of a train call: the preset (or --config file, with the smoke sizes),
    or on --resume the run's recipe.json; then the flags and --set (resolve_run_config)."""
    run, config_file, preset = Path(args.output), args.config, getattr(args, "preset", None)
    if args.resume:
        if config_file:
            raise SystemExit(
                f"--config cannot change on resume: {run} keeps the settings of its recipe.json;"
                " start a new run (train without --resume, another --output) to use another"
            )
        stored = load_run_config(run)
        return resolve_run_config(stored, train_settings(args, stored), resume_of=run)
    if config_file and preset:
        raise SystemExit("--config and --preset both choose the configuration: give one")
    config = read_run_config(config_file or PRESETS_DIR / f"{preset or 'demo'}.json")
    config.setdefault("preset", Path(config_file).stem if config_file else preset or "demo")
    config["smoke"] = bool(args.smoke)
    if args.smoke:
        if config["data"]["kind"] != "synthetic":
            raise SystemExit("--smoke uses the synthetic data: combine it with --preset demo")
        config = merge_nested(config, read_run_config(SMOKE_OVERLAY))
    return resolve_run_config(config, train_settings(args, config))


# ------------------------------------------------------------------------------- train
def command_train(args: argparse.Namespace) -> Path | dict[str, Any]:
    """Train pix2pixHD from a preset; every value can be overridden and the resolved
    configuration is written to OUTPUT/recipe.json."""
    if args.print_config:  # show the resolved configuration, train nothing
        recipe = run_config(args)
        print(json.dumps(recipe, indent=2))
        return recipe
    if args.dry_run is not None:
        return command_dry_run(args)
    if args.dry_run_size is not None:
        raise SystemExit("--dry-run-size only applies to --dry-run N")
    run = Path(args.output)
    context = init_distributed() if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    is_main = context is None or context.is_main
    recipe = run_config(args)
    resume = run / RUN_CHECKPOINTS if args.resume else None
    if resume is not None and not (resume / "latest.pt").is_file():
        resume = None
        if is_main:
            print(f"no checkpoint in {run / RUN_CHECKPOINTS} yet: training {run} from the start")
    config = run_training_config(recipe, run)
    check_data_channels(recipe)  # image-to-image folders: the channels the files have
    training = build_training(config, resume=resume, context=context)
    state = training.state
    if state.epoch >= config.total_epochs:
        raise SystemExit(
            f"{run} has already finished: {state.epoch} of {config.total_epochs} epochs (epochs="
            f"{config.epochs}, decay_epochs={config.decay_epochs}), step {state.global_step}; "
            "nothing to train. Extend it with --epochs or --decay-epochs (the totals, e.g. "
            f"--epochs {config.epochs + 1})"
        )
    dataset = data.dataset_from_settings(recipe["data"], "train", train=True)
    if not is_main:  # every rank trains; only the first writes
        training.fit(dataset)
        return run
    save_run_config(run, recipe)
    preview = next(data.first_batches(data.dataset_from_settings(recipe["data"], "val"), 4, 4))
    palette = data.palette_from_settings(recipe["data"], config.num_classes)
    grid_every = recipe["recipe"]["grid_every"]
    monitor = TrainingMonitor(run, training, num_samples=len(dataset), preview=preview,
                              palette=palette, grid_every=grid_every)  # fmt: skip
    with monitor:
        result = training.fit(dataset, on_step=monitor)
        monitor.write_grid(training, result.global_step)
    print(f"trained {result.global_step} steps; checkpoint {result.checkpoint}")
    if recipe["smoke"]:
        print("(a --smoke run: it checks the pipeline and learns nothing)")
    write_run_report(run)
    return run


def command_dry_run(args: argparse.Namespace) -> dict[str, Any]:
    """``train --dry-run N``: time N steps of a preset at full size; write OUTPUT/dry_run.json."""
    if args.resume:
        raise SystemExit("--dry-run measures a new model: it does not combine with --resume")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit("--dry-run runs in one process: start it without torchrun")
    run, recipe = Path(args.output), run_config(args)
    size = tuple(args.dry_run_size or dry_run_size(recipe["data"]))
    result = dry_run(run_training_config(recipe), steps=args.dry_run, size=size, folder=run)
    result = {"preset": recipe["preset"], **result}
    write_json(run / DRY_RUN_FILE, result)
    print(format_dry_run(result))
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"wrote {run / DRY_RUN_FILE}")
    return result


# ------------------------------------------------------------------------------- encode
def command_encode_features(args: argparse.Namespace) -> Path:
    """Run the trained encoder over the training set, cluster the instance features per class
    (K-means) and save RUN/checkpoints/feature_bank.npz; then render one validation scene with
    every style of one car (car_styles.png)."""
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device)
    if training.models.encoder is None:
        raise SystemExit("this run has no instance feature encoder: train with --instance-features")
    settings, config = recipe["recipe"], training.config
    bank = FeatureBank(config.encoder.feature_channels)
    dataset = data.dataset_from_settings(recipe["data"], "train")
    synthesizer = Synthesizer.from_training(training)
    for batch in data.first_batches(dataset, len(dataset), args.batch_size):
        features = synthesizer.encode(batch["image"], batch["instance"])
        bank.add(features, batch["instance"], batch["label"])
    n_clusters = args.n_clusters or settings["n_clusters"]
    min_area = settings["min_area"] if args.min_area is None else args.min_area
    bank.fit(n_clusters, min_area=min_area, seed=config.seed)
    path = run / RUN_CHECKPOINTS / FEATURE_BANK_FILE
    bank.save(path)
    print(f"feature bank: {bank.num_instances} instances, {len(bank.centers)} classes -> {path}")
    style_class = settings.get("style_class")
    if style_class is not None and style_class in bank.centers:
        styles = render_styles(run, recipe, Synthesizer.from_training(training, bank=bank))
        print(
            f"car styles: {styles['num_styles']} clusters for instance {styles['instance_id']}; "
            f"largest mean-colour difference {styles['max_difference']:.3f} (RGB L2 on [0, 1])"
        )
    write_run_report(run)
    return path


def render_styles(run: Path, recipe: dict[str, Any], synthesizer: Synthesizer) -> dict[str, Any]:
    """The largest object of the preset's style class in the validation scenes, rendered with
    every cluster of its class: labels and real image on the left (car_styles.png/json)."""
    val = data.dataset_from_settings(recipe["data"], "val")
    style_class = recipe["recipe"]["style_class"]
    sample, images, styles = evaluation.render_instance_styles(synthesizer, val, style_class)
    palette = data.palette_from_settings(recipe["data"], synthesizer.num_classes)
    half = len(images) // 2 + 1
    rows = [[label_picture(sample["label"][0], palette), *images[:half]],
            [sample["image"][0], *images[half:]]]  # fmt: skip
    save_png(image_grid(rows), run / "car_styles.png")
    write_json(run / STYLES_FILE, styles)
    return styles


# ------------------------------------------------------------------------------- generate
def command_generate(args: argparse.Namespace) -> Path:
    """Write images for a dataset split or a folder of label/instance PNGs. Object features come
    from the feature bank (random, or chosen per instance with --choices) or from encoding the
    real image. Any size works (pad, then crop)."""
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision,
                                epoch=args.epoch)  # fmt: skip
    config = training.config
    bank = load_run_bank(run, training) if args.features == "bank" else None
    synthesizer = Synthesizer.from_training(training, bank=bank)
    if args.onnx is not None:  # the same inference path with an exported G
        from condgan_blocks.export import OnnxGenerator

        synthesizer = synthesizer.with_generator(OnnxGenerator(args.onnx))
    if args.folder is not None:
        dataset = data.PairedFolderDataset(args.folder, args.phase, label_nc=config.num_classes,
                                           load_images=args.features == "encode")  # fmt: skip
    else:
        dataset = data.dataset_from_settings(recipe["data"], args.split)
        if args.size is not None and recipe["data"]["kind"] == "synthetic":
            dataset = data.SyntheticScenes(len(dataset), size=tuple(args.size), split=args.split)
    choices = read_style_choices(args.choices)
    out = Path(args.output) if args.output else run / "generated"
    count = args.num if args.num is not None else recipe["recipe"]["num_generate"]
    palette = data.palette_from_settings(recipe["data"], config.num_classes)
    rows = []
    for offset, batch in enumerate(data.first_batches(dataset, count, 1)):
        labels = "label" in batch  # else image to image: the input image is the condition
        condition = batch["label"] if labels else batch["input"]
        instance = batch.get("instance", condition if labels else None)
        row = [label_picture(condition[0], palette) if labels else image_picture(condition[0])]
        if training.models.encoder is not None and args.features == "encode":
            fake = synthesizer(condition, instance, image=batch["image"])
        else:
            chosen = style_choices_for(choices if bank else None, batch["path"][0], instance)
            fake = synthesizer(condition, instance, chosen, seed=args.seed + offset)
        save_generated_image(fake[0], out / generated_image_name(batch["path"][0]))
        row.append(image_picture(fake[0]))
        if "image" in batch:
            row.append(image_picture(batch["image"][0]))
        rows.append(row)
    save_png(image_grid(rows), out / "grid.png")
    print(f"wrote {len(rows)} images to {out}")
    write_run_report(run)
    return out


# ------------------------------------------------------------------------------- evaluate
def command_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Segment generated validation images with a network trained on REAL training images and
    score them against the input labels, beside real images (the oracle) and flat-colour
    paintings (the floor); image-to-image runs (data.label_nc=0) get L1, PSNR and SSIM against
    the targets. Writes RUN/evaluation/metrics.json."""
    run = Path(args.run)
    recipe, training = load_run(run, device=args.device, precision=args.precision)
    config, device, settings = training.config, str(training.device), recipe["recipe"]
    val = data.dataset_from_settings(recipe["data"], args.split)
    count = len(val) if args.num is None else min(args.num, len(val))
    smoke, draws = bool(recipe["smoke"]), style_draws(args, settings)
    if config.image_input:  # no labels to segment: L1, PSNR, SSIM against the targets
        synthesizer, scores = Synthesizer.from_training(training), evaluation.ImagePairMeter()
        for batch in data.first_batches(val, count, args.batch_size):
            instance = batch.get("instance") if config.use_instances else None
            scores.update(synthesizer(batch["input"], instance), batch["image"])
        results = {**scores.compute(), "split": args.split, "smoke": smoke}
        results["warnings"] = [evaluation.SMOKE_RUN_WARNING] if smoke else []
        return report_evaluation(run, results)
    train_set = data.dataset_from_settings(recipe["data"], "train")
    if args.segmenter is not None:  # the user's network
        segmenter = evaluation.load_segmenter(args.segmenter, map_location=device)
    else:  # trained on the real training images once, then read from the cache
        segmenter = evaluation.load_or_train_segmenter(
            run / "evaluation" / "segmenter.pt", train_set, config.num_classes,
            retrain=args.retrain_segmenter, base_channels=settings["segmenter_base_channels"],
            epochs=settings["segmenter_epochs"], seed=args.seed, ignore_index=config.ignore_index,
            device=device, precision="bf16" if training.precision == "bf16" else "fp32",
            channels_last=True,  # with bf16 about 3x faster on a CPU than fp32 contiguous
        )  # fmt: skip
    ignore, batches = config.ignore_index, data.first_batches(train_set, len(train_set), 16)
    colours = evaluation.mean_class_colours(batches, config.num_classes, ignore_index=ignore)
    synthesizer = Synthesizer.from_training(training, bank=load_run_bank(run, training))
    # Styles drawn from the bank: several draws per scene steady the score (one without a bank).
    draws = draws if synthesizer.bank is not None else 1
    kinds = ("generated", "real", "flat")
    scores = {k: evaluation.ConfusionMatrix(config.num_classes, ignore_index=ignore) for k in kinds}
    per_draw = [evaluation.ConfusionMatrix(config.num_classes, ignore_index=ignore)
                for _ in range(draws)]  # fmt: skip
    noise = {kind: evaluation.HighFrequencyMeter() for kind in kinds}
    fid_kid = evaluation.FidKidMeter.if_available(args.inception_weights, device=device)
    num_batches = -(-count // args.batch_size)
    for offset, batch in enumerate(data.first_batches(val, count, args.batch_size)):
        label, instance = batch["label"], batch.get("instance", batch["label"])
        images = {
            "real": batch["image"],
            "flat": evaluation.flat_colour_image(label, colours),
        }
        for kind, image in images.items():
            scores[kind].update(evaluation.segment(segmenter, image.to(device)).cpu(), label)
            noise[kind].update(image.float())
        for draw, matrix in enumerate(per_draw):  # draw 0: the seeds of a one-draw evaluation
            fake = synthesizer(label, instance, seed=args.seed + draw * num_batches + offset)
            prediction = evaluation.segment(segmenter, fake.to(device)).cpu()
            matrix.update(prediction, label)
            scores["generated"].update(prediction, label)
            noise["generated"].update(fake.float())
            if draw == 0:
                fid_kid.update(real=images["real"], fake=fake)
    results = evaluation.summarize_evaluation(scores, noise, draws=per_draw)
    results["fid_kid"] = fid_kid.compute()  # or {"skipped": why}: no Inception weights file
    results.update(num_images=count, split=args.split, smoke=smoke)
    if getattr(val, "class_names", None):
        results["class_names"] = list(val.class_names)
    advice = "check the --segmenter model" if args.segmenter else (
        "train it longer (--set recipe.segmenter_epochs=N on train, then evaluate "
        "--retrain-segmenter) or pass --segmenter")  # fmt: skip
    results["warnings"] = evaluation.evaluation_warnings(results, smoke=smoke, advice=advice)
    if (run / STYLES_FILE).is_file():
        results["car_styles"] = json.loads((run / STYLES_FILE).read_text())
    return report_evaluation(run, results)


def style_draws(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    """How many style draws `evaluate` scores: --style-draws, else the recipe's
    ``style_draws`` (1 when a run's recipe predates it)."""
    draws = args.style_draws if args.style_draws is not None else settings.get("style_draws", 1)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 64:
        raise ValueError(
            f"style draws must be an int in [1, 64] (--style-draws or recipe.style_draws), got "
            f"{draws!r}"
        )
    return draws


def report_evaluation(run: Path, results: dict[str, Any]) -> dict[str, Any]:
    write_json(run / "evaluation" / "metrics.json", results)
    print(evaluation.format_evaluation(results))
    write_run_report(run)
    return results


# ------------------------------------------------------------------------------- demo
def command_demo(args: argparse.Namespace) -> dict[str, Any]:
    """The whole method in minutes on a CPU, with no download: writes OUTPUT/index.html and
    prints the evaluation table."""
    started = time.perf_counter()
    output = ["--output", args.output]
    smoke = ["--smoke"] if args.smoke else []
    common = ["--device", args.device] if args.device else []
    timings, results = {}, None
    steps = (
        ("train", ["train", "--preset", "demo", *output, *smoke, *common, *args.train_args]),
        ("encode-features", ["encode-features", "--run", args.output, *common]),
        ("generate", ["generate", "--run", args.output, *common]),
        ("evaluate", ["evaluate", "--run", args.output, *common]),
    )
    with data.shared_scene_cache():  # the stages draw each synthetic scene once between them
        for name, argv in steps:
            print(f"== {name}: python examples/pix2pixhd.py {' '.join(argv)}", flush=True)
            begun = time.perf_counter()
            results = main(argv)
            timings[name] = round(time.perf_counter() - begun, 1)
    total = time.perf_counter() - started
    timings["total"] = round(total, 1)
    write_json(Path(args.output) / "timings.json", timings)
    print(f"demo finished in {total / 60:.1f} min ({timings}); open {args.output}/index.html")
    if args.smoke:
        print(f"WARNING: {evaluation.SMOKE_RUN_WARNING}")
    return {"timings": timings, **results}


# ------------------------------------------------------------------------------- edit
def command_edit(args: argparse.Namespace) -> None:
    """Serve a page on 127.0.0.1 to edit one validation scene of a trained run (select, restyle,
    relabel, delete and paint objects) and see the generator's image."""
    session = session_for_run(args.run, split=args.split, index=args.index, device=args.device)
    server = EditorServer(session, port=args.port)
    print(f"editor running at {server.url} (Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ------------------------------------------------------------------------------- prepare
def command_prepare(args: argparse.Namespace) -> Any:
    """Convert colour-coded label images (and their photos) into OUTPUT/<phase>_label (class
    ids), <phase>_inst (instance ids: connected components of the thing classes, class*1000+k)
    and <phase>_img, which train --preset folder reads."""
    try:
        result = data.prepare_folder(
            args.labels, args.output, images=args.images, phase=args.phase,
            palette=args.palette, thing_classes=args.things, connectivity=args.connectivity,
            overwrite=args.overwrite,
        )  # fmt: skip
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"prepare: {error}") from error
    folders = "_label, _inst" + (", _img" if result.with_images else "")
    print(f"wrote {result.num_samples} samples to {result.root}/{result.phase}{{{folders}}}")
    n = result.num_classes
    sizes = f" --set data.label_nc={n} --set training.num_classes={n}"
    print(
        "train with: pix2pixhd.py train --preset folder --data-root "
        f"{result.root}{sizes if n != data.CITYSCAPES_NUM_CLASSES else ''}"
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


def preset_values(key: tuple[str, ...], presets: dict[str, dict], on_off: bool) -> str:
    """What each preset resolves ``key`` to (its TrainingConfig default where it sets none):
    ``presets: demo: 8, folder: 100, ...``, or ``every preset: 0``."""
    values = {name: run_config_value(preset, key) for name, preset in presets.items()}
    shown = {name: json.dumps(bool(v) if on_off else v) for name, v in values.items()}
    if len(set(shown.values())) == 1:
        return f"every preset: {next(iter(shown.values()))}"
    return "presets: " + ", ".join(f"{name}: {value}" for name, value in shown.items())


def opt(flag: str, help: str, **options: Any) -> tuple[str, dict[str, Any]]:
    return flag, {"help": help, **options}


RUN = opt("--run", "the run folder", required=True)
DEVICE = opt("--device", "cpu, cuda, ...", default="auto")
SIZE = {"type": int, "nargs": 2, "metavar": ("H", "W")}
ON_OFF = argparse.BooleanOptionalAction


def subcommands(presets: dict[str, dict[str, Any]]) -> dict[str, tuple]:
    """Each subcommand: (function, summary, [(flag, argparse options), ...]); the function's
    docstring is the subcommand's description."""

    def valued(flag: str, help: str, **options: Any) -> tuple[str, dict[str, Any]]:
        on_off = options.get("action") is argparse.BooleanOptionalAction  # shown as true/false
        shown = preset_values(TRAIN_KEYS[flag], presets, on_off)  # instead of "default: None"
        return opt(flag, f"{help} ({shown})", **{"default": None, **options})

    # fmt: off
    return {
        "train": (command_train, "train a model", [
            opt("--preset", "demo: synthetic scenes on CPU; cityscapes-global: stage 1 (G1, "
                "1024x512, 2 scales); cityscapes-local: stage 2 (G1 + enhancer, 2048x1024, 3 "
                "scales, from --global-checkpoint, global frozen for 10 epochs); folder: the "
                "pix2pixHD folder layout (--data-root) (default: demo); each is the file "
                "presets/NAME.json beside this script", choices=list(presets),
                default=argparse.SUPPRESS),  # unset unless given: --resume refuses a change
            opt("--config", "a JSON file of the presets' form (training, data, recipe) instead "
                "of --preset", metavar="FILE"),
            opt("--output", "the run folder", default="runs/demo"),
            opt("--smoke", "tiny sizes and a few steps, on the demo preset (checks the pipeline, "
                "learns nothing)", action="store_true"),
            valued("--data-root", "dataset folder (cityscapes and folder presets)"),
            valued("--global-checkpoint", "stage-1 checkpoint or run checkpoints folder "
                   "(cityscapes-local)"),
            valued("--instance-boundary", "feed the instance boundary map to G and D",
                   action=ON_OFF),
            valued("--instance-features", "train the instance feature encoder jointly (for "
                   "encode-features and per-object styles)", action=ON_OFF),
            valued("--fake-pool", "fake-image pool size for D (0: off)", type=int),
            valued("--ema", "EMA decay of G's weights (e.g. 0.999)", type=float),
            valued("--batch-size", "samples per step and process", type=int),
            valued("--seed", "seed of weights, data order and draws", type=int),
            valued("--epochs", "epochs at the initial learning rate", type=int),
            valued("--decay-epochs", "epochs of linear decay to 0", type=int),
            valued("--keep-last", "keep only the newest N epoch checkpoints", type=int),
            valued("--log-every", "log the losses every N steps (metrics.jsonl, stderr)", type=int),
            valued("--grid-every", "write a labels | generated | real PNG grid every N steps (0: "
                   "off)", type=int),
            valued("--precision", "autocast precision (auto: bf16 where the device computes it "
                   "in hardware, else fp32; fp16 needs CUDA)",
                   choices=("auto", "fp32", "bf16", "fp16")),
            valued("--channels-last", "channels-last memory format", action="store_true"),
            valued("--compile", "torch.compile G, D, E", action="store_true"),
            opt("--resume", "continue the run in --output from its latest checkpoint; only "
                "--epochs, --decay-epochs, --keep-last, --log-every, --grid-every, --device, "
                "--precision, --compile, --channels-last and --data-root may change",
                action="store_true"),
            opt("--device", "cpu, cuda, cuda:1 or auto (CUDA when present); default: auto, or "
                "with --resume the run's device", default=argparse.SUPPRESS),  # as --preset
            opt("--dry-run", "train N steps on synthetic scenes at the preset's full resolution, "
                "print parameters, seconds per step and peak memory, write OUTPUT/dry_run.json "
                "and keep nothing else (cityscapes-local without --global-checkpoint makes and "
                "keeps OUTPUT/dry_run_stage1/latest.pt)", type=int, metavar="N"),
            opt("--dry-run-size", "with --dry-run: train at this size instead of the preset's",
                **SIZE),
            opt("--print-config", "print the resolved configuration (what OUTPUT/recipe.json "
                "would hold, as JSON) and exit without training or writing anything",
                action="store_true"),
            opt("--set", "override any value of the resolved config (repeatable), e.g. "
                "training.generator.num_blocks=6, data.num_train=800, "
                "recipe.segmenter_epochs=10; values are JSON", action="append",
                metavar="KEY=VALUE"),
        ]),
        "encode-features": (command_encode_features, "build the feature bank of a trained run", [
            RUN,
            opt("--n-clusters", "K, the most styles per class (default: the preset's)", type=int),
            opt("--min-area", "skip instances not larger than this fraction of the image",
                type=float),
            opt("--batch-size", "images per pass", type=int, default=8),
            DEVICE,
        ]),
        "generate": (command_generate, "synthesise images from label maps", [
            RUN,
            opt("--split", "dataset split of the run's data", default="val"),
            opt("--folder", "a pix2pixHD-layout folder instead (<folder>/<phase>_label, "
                "optional <phase>_inst; <phase>_A for image-to-image runs)"),
            opt("--phase", "phase prefix with --folder", default="test"),
            opt("--num", "number of images (default: the preset's)", type=int),
            opt("--size", "synthetic scenes of this size (any size)", **SIZE),
            opt("--features", "bank: cluster centres from the feature bank; encode: the "
                "encoder's features of the real image", choices=("bank", "encode"),
                default="bank"),
            opt("--choices", 'JSON file of per-instance clusters: {"5000": 2} for every image '
                'or {"<sample path>": {"5000": 2}}'),
            opt("--seed", "seed of the random styles", type=int, default=0),
            opt("--epoch", "generate with checkpoints/epoch_NNNN.pt of this epoch (default: "
                "latest.pt)", type=int),
            opt("--precision", "inference precision (bf16: fast on CPUs with AVX512-BF16 or "
                "AMX, 25x slower on AVX2 ones; auto picks)", choices=("auto", "fp32", "bf16")),
            opt("--onnx", "run this ONNX generator (export_onnx) instead"),
            opt("--output", "output folder (default RUN/generated)"),
            DEVICE,
        ]),
        "evaluate": (command_evaluate, "the paper's segmentation scores", [
            RUN,
            opt("--segmenter", "a TorchScript (or .pt2) segmenter to use instead of training "
                "one"),
            opt("--retrain-segmenter", "ignore the cached RUN/evaluation/segmenter.pt",
                action="store_true"),
            opt("--split", "the split to score", default="val"),
            opt("--num", "score only the first N images", type=int),
            opt("--batch-size", "images per pass", type=int, default=8),
            opt("--precision", "G's precision (auto: bf16 where fast)",
                choices=("auto", "fp32", "bf16")),
            opt("--seed", "seed of styles and segmenter", type=int, default=0),
            opt("--style-draws", "score this many random style draws of every scene, pooled "
                "(default: the recipe's style_draws, 1 if unset)", type=int),
            DEVICE,
            opt("--inception-weights", "Inception-v3 FID weights "
                "(pt_inception-2015-12-05-6726825d.pth) for FID and KID; default "
                "$CONDGAN_INCEPTION_WEIGHTS, then the torch hub checkpoints folder; skipped (with "
                "a note) when missing"),
        ]),
        "edit": (command_edit, "interactive semantic editor in the browser", [
            RUN,
            opt("--port", "TCP port (0: a free one)", type=int, default=0),
            opt("--split", "dataset split of the first scene", default="val"),
            opt("--index", "index of the first scene", type=int, default=0),
            DEVICE,
        ]),
        "prepare": (command_prepare, "colour label images -> the pix2pixHD folder layout", [
            opt("--labels", "folder of colour label PNGs", required=True),
            opt("--images", "folder of photos, paired with labels by name"),
            opt("--output", "the dataset folder to write", required=True),
            opt("--phase", "folder prefix: train or test", default="train"),
            opt("--palette", 'cityscapes or a JSON file {"id": [r, g, b], ...}',
                default="cityscapes"),
            opt("--things", "thing class ids that get instances (default: 24..33 with the "
                "cityscapes palette, none else)", type=int, nargs="*"),
            opt("--connectivity", "object pixels touch by edges (4) or corners (8)", type=int,
                choices=(4, 8), default=8),
            opt("--overwrite", "replace non-empty OUTPUT/<phase>_* folders", action="store_true"),
        ]),
        "demo": (command_demo, "train -> encode-features -> generate -> evaluate on synthetic "
                 "scenes", [
            opt("--output", "the run folder", default="results/demo"),
            opt("--smoke", "tiny sizes, a few steps (CI)", action="store_true"),
            opt("--device", "cpu, cuda, ... (default: auto)"),
            opt("train_args", "extra train options after --, e.g. -- --set data.num_train=800",
                nargs=argparse.REMAINDER),
        ]),
    }
    # fmt: on


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pix2pixhd.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    files = sorted(PRESETS_DIR.glob("*.json"))
    presets = {path.stem: read_run_config(path) for path in files}
    for name, (function, summary, options) in subcommands(presets).items():
        command = commands.add_parser(
            name, help=summary, description=function.__doc__, formatter_class=HelpFormatter
        )
        for flag, settings in options:
            command.add_argument(flag, **settings)
        command.set_defaults(func=function)
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
    try:
        return args.func(args)
    except RunConfigError as error:  # a refused setting or not a run folder: what to do instead
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main(sys.argv[1:])
