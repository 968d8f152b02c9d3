"""How the feature bank's style draws move a trained run's score: uniform or by population.

Loads a recipe run scored by ``evaluate`` (its checkpoint, the feature bank with its records, and
``evaluation/segmenter.pt``), refits the bank's K-means for each K asked, and scores the
validation scenes with ``--draws`` style draws, drawing each instance's centre uniformly (the
original) or in proportion to its cluster's population (the library's default). Prints the
generated / real mean IoU of every draw, their mean and spread. Draw d of a batch uses the seed
``evaluate`` gives it (``seed + d * batches + batch``), so draw 0 is a one-draw evaluation.

    python benchmarks/style_draws.py RUN [--draws 8] [--clusters 6 3] [--json OUT.json]

Only for label-to-image runs with an instance feature encoder.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from _report import write_atomically

from condgan_blocks import FeatureBank, Synthesizer, data, evaluation
from condgan_blocks.training import load_run

DRAWS = ("uniform", "population")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a recipe run folder that `evaluate` has scored")
    p.add_argument("--draws", type=int, default=8, help="style draws per way of drawing")
    p.add_argument("--clusters", type=int, nargs="+", default=None,
                   help="K values to refit (default: the recipe's n_clusters)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="the seed `evaluate` used (default 0)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()
    for name in ("segmenter", "bank"):
        path = args.run / ("evaluation/segmenter.pt" if name == "segmenter" else
                           "checkpoints/feature_bank.npz")  # fmt: skip
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: run `encode-features` and `evaluate` on {args.run} first"
            )
        setattr(args, name, path)
    if args.draws < 1 or args.batch_size < 1:
        raise ValueError(f"--draws and --batch-size must be >= 1, got {args.draws}, "
                         f"{args.batch_size}")  # fmt: skip
    return args


def score_draws(synthesizer, bank, segmenter, batches, args, by_population: bool) -> list[float]:
    """Mean IoU of every style draw of the batches (``evaluate``'s seeds)."""
    scores = []
    for draw in range(args.draws):
        matrix = evaluation.ConfusionMatrix(synthesizer.num_classes, ignore_index=args.ignore)
        for offset, batch in enumerate(batches):
            label, instance = batch["label"], batch.get("instance", batch["label"])
            seed = args.seed + draw * len(batches) + offset
            generator = torch.Generator().manual_seed(seed)  # as Synthesizer seeds its draws
            features = bank.sample(instance, label, generator=generator,
                                   by_population=by_population)  # fmt: skip
            fake = synthesizer(label, instance, features=features)
            matrix.update(evaluation.segment(segmenter, fake), label)
        scores.append(matrix.compute()["mean_iou"])
    return scores


def main() -> None:
    args = parse_args()
    torch.set_num_threads(2)
    recipe, training = load_run(args.run, device="cpu")
    config, settings = training.config, recipe["recipe"]
    if config.image_input or training.models.encoder is None:
        raise ValueError(f"{args.run} has no labels or no instance feature encoder to draw for")
    args.ignore = config.ignore_index
    segmenter = evaluation.load_segmenter(args.segmenter)
    real = json.loads((args.run / "evaluation" / "metrics.json").read_text())["real"]["mean_iou"]
    val = data.dataset_from_settings(recipe["data"], "val")
    batches = list(data.first_batches(val, len(val), args.batch_size))
    synthesizer = Synthesizer.from_training(training)
    bank = FeatureBank.load(args.bank, feature_channels=config.encoder.feature_channels)
    report = {"run": str(args.run), "real_mean_iou": real, "draws": args.draws, "rows": []}
    print(f"{args.run}: real mean IoU {real:.4f}; generated / real over {args.draws} draws")
    for k in args.clusters or [settings["n_clusters"]]:
        bank.fit(k, min_area=settings["min_area"], seed=config.seed)
        for way in DRAWS:
            ratios = [s / real for s in score_draws(synthesizer, bank, segmenter, batches, args,
                                                    way == "population")]  # fmt: skip
            row = {"clusters": k, "draw": way, "ratios": ratios,
                   "mean": statistics.fmean(ratios), "sd": statistics.pstdev(ratios)}  # fmt: skip
            report["rows"].append(row)
            print(f"K {k:2d}, {way:10s}: mean {row['mean']:.3f} sd {row['sd']:.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f})", flush=True)  # fmt: skip
    if args.json is not None:
        write_atomically(args.json, json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
