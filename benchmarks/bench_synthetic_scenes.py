"""Time to generate one SyntheticScenes sample (label, instance map and image) on one CPU core.

    python benchmarks/bench_synthetic_scenes.py [--size 256x512] [--repeats 20]

Prints the median, minimum and maximum over ``--repeats`` different samples, after one warm-up
sample, plus the process CPU time per sample (less sensitive to other load on the machine).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x512", help="HEIGHTxWIDTH")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from condgan_blocks.data import SyntheticScenes

    height, width = (int(v) for v in args.size.split("x"))
    scenes = SyntheticScenes(args.repeats + 1, size=(height, width), seed=args.seed)
    scenes.generate(args.repeats)  # warm up
    wall, cpu = [], []
    for index in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        scenes.generate(index)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"SyntheticScenes {height}x{width}, {args.repeats} samples")
    print(
        f"wall ms per sample: median {statistics.median(wall) * 1e3:.1f}, "
        f"min {min(wall) * 1e3:.1f}, max {max(wall) * 1e3:.1f}"
    )
    print(f"CPU ms per sample:  median {statistics.median(cpu) * 1e3:.1f}")


if __name__ == "__main__":
    main()
