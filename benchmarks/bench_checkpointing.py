"""Peak memory and time of a generator training step with and without activation checkpointing.

Each variant runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own.

    python benchmarks/bench_checkpointing.py [--size 256x512] [--base-channels 32]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _measure(args: argparse.Namespace, checkpointed: bool, kind: str) -> dict:
    import torch

    from condgan_blocks import GlobalGenerator, LocalEnhancer

    torch.manual_seed(0)
    height, width = (int(v) for v in args.size.split("x"))
    if kind == "global":
        net = GlobalGenerator(
            args.in_channels, base_channels=args.base_channels, checkpoint_activations=checkpointed
        )
    else:
        net = LocalEnhancer(
            args.in_channels,
            base_channels=args.base_channels // 2,
            checkpoint_activations=checkpointed,
        )
    x = torch.randn(1, args.in_channels, height, width)
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = net(x).mean()
    loss.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "saved_mib": sum(saved.values()) / 2**20,
        "step_peak_mib": (peak - before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="256x512")
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--in-channels", type=int, default=36)
    parser.add_argument("--kind", choices=("global", "local"), default="global")
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args, args.child == "on", args.kind)))
        return
    print(f"{args.kind} generator, input 1x{args.in_channels}x{args.size},")
    print(f"base_channels={args.base_channels}, forward+backward, fp32, CPU")
    print(
        f"{'checkpoint_activations':>24} {'time (s)':>9} {'saved for backward (MiB)':>25} "
        f"{'step peak RSS growth (MiB)':>27}"
    )
    for flag in ("off", "on"):
        command = [sys.executable, __file__, *sys.argv[1:], "--child", flag]
        result = json.loads(
            subprocess.run(command, capture_output=True, check=True, text=True).stdout
        )
        print(
            f"{flag:>24} {result['seconds']:9.2f} {result['saved_mib']:25.0f} "
            f"{result['step_peak_mib']:27.0f}"
        )


if __name__ == "__main__":
    main()
