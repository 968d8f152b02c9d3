"""A tiny training run in its own process, for the kill / signal / resume tests.

    python tests/_training_run.py OUT_DIR [--resume] [--sleep SECONDS]

Prints ``step N`` after every step and ``done <interrupted_by>`` at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from condgan_blocks.data import SyntheticScenes
from condgan_blocks.training import build_training
from tests._training_helpers import SIZE, tiny_config

SAMPLES = 8


def config(out_dir: str):
    return tiny_config(
        output_dir=out_dir,
        batch_size=2,
        epochs=2,
        decay_epochs=1,
        save_every_steps=1,
        pool_size=2,
        ema_decay=0.5,
        seed=3,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    training = build_training(config(args.out_dir), resume=args.out_dir if args.resume else None)
    dataset = SyntheticScenes(SAMPLES, size=SIZE, seed=5)

    def on_step(training, losses):
        print(f"step {training.state.global_step}", flush=True)
        time.sleep(args.sleep)

    result = training.fit(dataset, on_step=on_step)
    print(f"done {result.interrupted_by}", flush=True)


if __name__ == "__main__":
    main()
