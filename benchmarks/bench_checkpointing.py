"""Peak memory and time of a generator training step with and without activation checkpointing.

Each variant runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own; the
memory figures are those of its first step, the time the median of ``--repeats`` steps after
it. On CUDA (``--device auto`` picks it when a GPU is visible) the CUDA peak of the first step
is added.

    python benchmarks/bench_checkpointing.py [--size 256x512] [--base-channels 32]
    python benchmarks/bench_checkpointing.py --kind local --size 512x1024 --base-channels 64
    python benchmarks/bench_checkpointing.py --quick          # a tiny smoke run

``--kind local`` builds ``LocalEnhancer(base_channels=B // 2)`` (its global generator is B wide),
so ``--base-channels 64`` is the paper's G2. Writes ``checkpointing_<kind>.json``/``.md``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from _report import add_out_argument, describe_machine, machine_line, resolve_device, write_report


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
    device = resolve_device(args.device)
    net = net.to(device)
    x = torch.randn(1, args.in_channels, height, width, device=device)
    on_cuda = device.startswith("cuda")
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    def sync() -> None:
        if on_cuda:
            torch.cuda.synchronize()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    times, result = [], {}
    for index in range(args.repeats + 1):  # the first step: memory and warm-up
        net.zero_grad(set_to_none=True)
        sync()
        start = time.perf_counter()
        if index == 0:  # the first step records what autograd saves
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
                loss = net(x).mean()
        else:
            loss = net(x).mean()
        loss.backward()
        sync()
        times.append(time.perf_counter() - start)
        if index == 0:
            result["first_s"] = times.pop()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result |= {
                "saved_mib": sum(saved.values()) / 2**20,
                "step_peak_mib": (peak - before) / 1024,
            }
            if on_cuda:
                result["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        del loss
    return {"seconds": statistics.median(times), "all_s": times, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="256x512")
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--in-channels", type=int, default=36)
    parser.add_argument("--kind", choices=("global", "local"), default="global")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps (median reported)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if visible), cpu, cuda")
    parser.add_argument("--quick", action="store_true", help="64x128, base 8 (smoke run)")
    add_out_argument(parser)
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.size, args.base_channels, args.repeats = "64x128", 8, 2
    if args.child:
        print(json.dumps(_measure(args, args.child == "on", args.kind)))
        return
    device = resolve_device(args.device)
    machine = describe_machine(device)
    print(f"{args.kind} generator, input 1x{args.in_channels}x{args.size},")
    print(f"base_channels={args.base_channels}, forward+backward, fp32, {device}")
    print(f"{machine_line(machine)}; time: median of {args.repeats} steps after the first")
    print(
        f"{'checkpoint_activations':>24} {'time (s)':>9} {'saved for backward (MiB)':>25} "
        f"{'step peak RSS growth (MiB)':>27}"
    )
    results, rows = {}, []
    for flag in ("off", "on"):
        command = [sys.executable, __file__, *sys.argv[1:], "--child", flag]
        result = results[flag] = json.loads(
            subprocess.run(command, capture_output=True, check=True, text=True).stdout
        )
        extra = (
            f"  cuda peak {result['cuda_peak_mib']:.0f} MiB" if "cuda_peak_mib" in result else ""
        )
        print(
            f"{flag:>24} {result['seconds']:9.2f} {result['saved_mib']:25.0f} "
            f"{result['step_peak_mib']:27.0f}{extra}"
        )
        rows.append(
            [
                flag,
                f"{result['seconds']:.2f}",
                ", ".join(f"{s:.2f}" for s in result["all_s"]),
                f"{result['saved_mib']:.0f}",
                f"{result['step_peak_mib']:.0f}",
                *([f"{result['cuda_peak_mib']:.0f}"] if "cuda_peak_mib" in result else []),
            ]
        )
    name = "LocalEnhancer" if args.kind == "local" else "GlobalGenerator"
    width = args.base_channels // 2 if args.kind == "local" else args.base_channels
    write_report(
        args.out,
        f"checkpointing_{args.kind}" + ("_quick" if args.quick else ""),
        title=f"{name} (base_channels={width}) forward+backward at 1x{args.in_channels}x"
        f"{args.size}, with and without checkpoint_activations",
        machine=machine,
        columns=[
            "checkpoint_activations",
            "median s/step",
            "steps (s)",
            "saved for backward (MiB)",
            "first-step peak RSS growth (MiB)",
            *(["CUDA peak (MiB)"] if device.startswith("cuda") else []),
        ],
        rows=rows,
        settings={k: v for k, v in vars(args).items() if k not in ("child", "out")},
        results=results,
        notes=[
            f"Each variant in a fresh process; fp32; loss = output.mean(); time: median of "
            f"{args.repeats} steps after the first (which the memory figures describe).",
            "Peak RSS growth: the growth of the process's peak resident memory over the first "
            "step (weights and input excluded).",
        ],
    )


if __name__ == "__main__":
    main()
