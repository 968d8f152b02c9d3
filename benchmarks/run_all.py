"""Run every benchmark, one after another, each writing its JSON and markdown report.

    python benchmarks/run_all.py            # the figures of docs/benchmarks.md (about 15 min on
                                            # 2 CPU cores; minutes on a GPU)
    python benchmarks/run_all.py --quick    # tiny sizes: checks that every script runs
    python benchmarks/run_all.py --only generator_inference instance_ops

The reports go to ``benchmarks/results/`` (``--quick``: a temporary folder unless ``--out`` is
given), which ``docs/benchmarks.md`` includes; the instance benchmark also redraws
``docs/assets/bench_pool_vs_instances.png`` (not with ``--quick``). Timings need a quiet
machine: the script warns when the load average is above 0.5.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name: (script, arguments of the full run)
BENCHMARKS = {
    "instance_ops": ("bench_instance_ops.py", []),
    "generator_inference": ("bench_generator_inference.py", []),
    "training_step": ("bench_training_step.py", []),
    "checkpointing_local": (
        "bench_checkpointing.py",
        ["--kind", "local", "--size", "512x1024", "--base-channels", "64"],
    ),
    "vgg_loss": ("bench_vgg_loss.py", []),
    "synthetic_scenes": ("bench_synthetic_scenes.py", []),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--out", type=Path, help="report folder (default benchmarks/results/)")
    args = parser.parse_args(argv)
    out = args.out
    if out is None and args.quick:
        out = Path(tempfile.mkdtemp(prefix="condgan_bench_"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5 and not args.quick:
        print(f"warning: load average {load:.2f} > 0.5: other work will skew the timings")
    failed = []
    for name in args.only:
        script, extra = BENCHMARKS[name]
        command = [sys.executable, str(HERE / script), *extra]
        if args.quick:
            command.append("--quick")
        if out is not None:
            command += ["--out", str(out)]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, check=False)
        print(f"== {name}: exit {done.returncode} after {time.perf_counter() - start:.0f} s")
        if done.returncode != 0:
            failed.append(name)
    if out is not None:
        print(f"reports in {out}")
    if failed:
        print(f"failed or missed a target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
