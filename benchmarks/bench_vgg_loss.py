"""Time and peak memory of the VGG perceptual loss, forward + backward, batched=True vs False.

``batched=True`` sends fake and real through VGG19 as one batch of 2N; ``batched=False`` runs the
real branch separately under ``no_grad``. Each variant runs in a fresh subprocess so that its
peak resident memory (ru_maxrss) is its own. VGG19 has random weights (no download).

    python benchmarks/bench_vgg_loss.py [--size 512x1024] [--repeats 3]
    python benchmarks/bench_vgg_loss.py --quick              # a tiny smoke run (64x128)

CPU only. Writes ``vgg_loss.json``/``.md`` (see ``_report.py``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from _report import add_out_argument, describe_machine, write_report


def _measure(args: argparse.Namespace, batched: bool) -> dict:
    import torch

    from condgan_blocks import VGGPerceptualLoss

    torch.manual_seed(0)
    height, width = (int(v) for v in args.size.split("x"))
    criterion = VGGPerceptualLoss(weights=None, batched=batched)
    real = torch.rand(1, 3, height, width) * 2 - 1
    weights = {p.untyped_storage().data_ptr() for p in criterion.vgg.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:  # count activations, not the VGG weights
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    def step(record: bool) -> float:
        fake = (torch.rand(1, 3, height, width) * 2 - 1).requires_grad_()
        start = time.perf_counter()
        if record:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
                loss = criterion(fake, real)
        else:
            loss = criterion(fake, real)
        loss.backward()
        return time.perf_counter() - start

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    first = step(record=True)  # the first step's growth of the peak RSS is the step's peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = [step(record=False) for _ in range(args.repeats)]
    return {
        "first_seconds": first,
        "median_seconds": statistics.median(times),
        "min_seconds": min(times),
        "saved_mib": sum(saved.values()) / 2**20,
        "step_peak_mib": (peak - before) / 1024,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="512x1024", help="HxW of the images")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps after the first")
    parser.add_argument("--quick", action="store_true", help="64x128, 2 steps (smoke run)")
    add_out_argument(parser)
    parser.add_argument("--child", choices=("batched", "unbatched"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.size, args.repeats = "64x128", 2
    if args.child:
        print(json.dumps(_measure(args, args.child == "batched")))
        return
    results = {}
    for variant in ("batched", "unbatched"):
        command = [sys.executable, __file__, *sys.argv[1:], "--child", variant]
        output = subprocess.run(command, capture_output=True, check=True, text=True).stdout
        results[variant] = json.loads(output)
    threads = results["batched"]["threads"]
    print(f"VGGPerceptualLoss forward+backward, fake/real 1x3x{args.size}, random VGG19 weights,")
    print(f"fp32, CPU, {threads} threads; median of {args.repeats} steps after a first one")
    print(
        f"{'batched':>8} {'median (s)':>11} {'min (s)':>8} {'first (s)':>10} "
        f"{'activations saved (MiB)':>24} {'step peak RSS growth (MiB)':>27}"
    )
    for variant, flag in (("batched", "True"), ("unbatched", "False")):
        r = results[variant]
        print(
            f"{flag:>8} {r['median_seconds']:11.2f} {r['min_seconds']:8.2f} "
            f"{r['first_seconds']:10.2f} {r['saved_mib']:24.0f} {r['step_peak_mib']:27.0f}"
        )
    write_report(
        args.out,
        "vgg_loss" + ("_quick" if args.quick else ""),
        title=f"VGGPerceptualLoss forward+backward, fake/real 1x3x{args.size}",
        machine=describe_machine("cpu"),
        columns=[
            "batched",
            "median (s)",
            "min (s)",
            "first (s)",
            "activations saved (MiB)",
            "step peak RSS growth (MiB)",
        ],
        rows=[
            [
                flag,
                f"{r['median_seconds']:.2f}",
                f"{r['min_seconds']:.2f}",
                f"{r['first_seconds']:.2f}",
                f"{r['saved_mib']:.0f}",
                f"{r['step_peak_mib']:.0f}",
            ]
            for flag, r in (("True", results["batched"]), ("False", results["unbatched"]))
        ],
        settings={"size": args.size, "repeats": args.repeats},
        results=results,
        notes=[
            f"Random VGG19 weights, fp32; median of {args.repeats} steps after a first one; "
            "each variant in a fresh process."
        ],
    )


if __name__ == "__main__":
    main()
