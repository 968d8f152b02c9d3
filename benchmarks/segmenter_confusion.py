"""What the evaluation segmenter sees in a run's generated images, class by class.

Loads a trained recipe run (``examples/pix2pixhd.py train`` + ``encode-features`` +
``evaluate``: its checkpoint, feature bank and ``evaluation/segmenter.pt``), generates the
validation scenes as ``evaluate`` does, and prints for each kind of image the per-class IoU and
the confusion matrix as shares of each labelled class's pixels (row: the label drawn; column:
what the segmenter saw). ``generated, real features`` generates with the encoder's features of
the real images instead of the feature bank's styles: if it scores much higher, the styles are
what the generated images lack.

    python benchmarks/segmenter_confusion.py RUN [--num 48] [--json OUT.json]

Only for label-to-image runs (``num_classes > 0``) with a segmenter from ``evaluate``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _report import write_atomically

from condgan_blocks import Synthesizer, data, evaluation
from condgan_blocks.training import load_run, load_run_bank


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a recipe run folder that `evaluate` has scored")
    p.add_argument("--num", type=int, default=None, help="validation scenes (default: all)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="the seed `evaluate` used (default 0)")
    p.add_argument("--json", type=Path, default=None, help="also write the matrices here")
    args = p.parse_args()
    args.segmenter = args.run / "evaluation" / "segmenter.pt"
    if not args.segmenter.is_file():
        raise FileNotFoundError(
            f"{args.segmenter} does not exist: run `python examples/pix2pixhd.py evaluate --run "
            f"{args.run}` first"
        )
    if args.num is not None and args.num < 1:
        raise ValueError(f"--num must be a positive number of scenes, got {args.num}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(2)
    recipe, training = load_run(args.run, device="cpu")
    config = training.config
    if config.image_input:
        raise ValueError(f"{args.run} is an image-to-image run: there are no labels to segment")
    segmenter = evaluation.load_segmenter(args.segmenter)
    synthesizer = Synthesizer.from_training(training, bank=load_run_bank(args.run, training))
    val = data.dataset_from_settings(recipe["data"], "val")
    count = len(val) if args.num is None else min(args.num, len(val))
    names = [str(n) for n in (getattr(val, "class_names", None) or range(config.num_classes))]
    kinds = ("generated", "generated, real features", "real")
    matrices = {
        k: evaluation.ConfusionMatrix(config.num_classes, ignore_index=config.ignore_index)
        for k in kinds
    }
    encoder_features = getattr(synthesizer, "encoder", None) is not None
    for offset, batch in enumerate(data.first_batches(val, count, args.batch_size)):
        label, instance = batch["label"], batch.get("instance", batch["label"])
        images = {
            "generated": synthesizer(label, instance, seed=args.seed + offset),
            "real": batch["image"],
        }
        if encoder_features:
            images["generated, real features"] = synthesizer(label, instance, image=batch["image"])
        for kind, image in images.items():
            matrices[kind].update(evaluation.segment(segmenter, image).cpu(), label)
    report = {}
    for kind in kinds:
        matrix = matrices[kind].matrix
        if matrix.sum() == 0:
            continue
        iou = evaluation.per_class_iou(matrix)
        shares = matrix.double() / matrix.sum(1, keepdim=True).clamp_min(1)
        report[kind] = {"iou": iou.tolist(), "row_shares": shares.tolist()}
        print(f"\n{kind}: mean IoU {float(iou.nanmean()):.4f}")
        print("IoU  " + "  ".join(f"{n}={v:.3f}" for n, v in zip(names, iou.tolist(), strict=True)))
        width = max(len(n) for n in names)
        print(" " * width + " | " + " ".join(f"{n[:6]:>6}" for n in names))
        for name, row in zip(names, shares.tolist(), strict=True):
            print(f"{name:>{width}} | " + " ".join(f"{v:6.2f}" for v in row))
    if args.json is not None:
        text = json.dumps({"run": str(args.run), "classes": names, **report}, indent=1)
        write_atomically(args.json, text)


if __name__ == "__main__":
    main()
