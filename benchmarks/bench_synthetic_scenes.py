"""Time to generate one SyntheticScenes sample (label, instance map and image) on one CPU core.

    python benchmarks/bench_synthetic_scenes.py [--size 256x512] [--repeats 20]

Prints the median, minimum and maximum over ``--repeats`` different samples, after one warm-up
sample, plus the process CPU time per sample (less sensitive to other load on the machine). Writes
``synthetic_scenes.json``/``.md`` (see ``_report.py``).
"""

from __future__ import annotations

import argparse
import statistics
import time

from _report import add_out_argument, describe_machine, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x512", help="HEIGHTxWIDTH")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="64x128, 3 samples (smoke run)")
    add_out_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.size, args.repeats = "64x128", 3

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
    write_report(
        args.out,
        "synthetic_scenes" + ("_quick" if args.quick else ""),
        title=f"SyntheticScenes: one {height}x{width} sample (label, instance map, image)",
        machine=describe_machine("cpu"),
        columns=["measure", "median (ms)", "min (ms)", "max (ms)"],
        rows=[
            [
                "wall",
                f"{statistics.median(wall) * 1e3:.1f}",
                f"{min(wall) * 1e3:.1f}",
                f"{max(wall) * 1e3:.1f}",
            ],
            [
                "process CPU",
                f"{statistics.median(cpu) * 1e3:.1f}",
                f"{min(cpu) * 1e3:.1f}",
                f"{max(cpu) * 1e3:.1f}",
            ],
        ],
        settings={"size": [height, width], "repeats": args.repeats, "seed": args.seed},
        results={"wall_s": wall, "cpu_s": cpu},
        notes=[f"{args.repeats} different samples after one warm-up sample."],
    )


if __name__ == "__main__":
    main()
