"""Generator inference time: fp32, bf16 autocast, channels_last and torch.compile.

The paper's global generator G1 (36 input channels: 35 classes and the instance boundary; base
64, 4 downsamples, 9 residual blocks; 182M parameters) on one 512x1024 input, under
``torch.inference_mode``. Each variant is the median of ``--repeats`` forwards after a warm-up
forward (for the compiled variant the warm-up is the compilation, timed separately). The device
is CUDA when a GPU is visible, else the CPU (``--device`` picks one).

    python benchmarks/bench_generator_inference.py              # the figures (minutes on CPU)
    python benchmarks/bench_generator_inference.py --quick      # a tiny smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import torch
from _report import (
    add_out_argument,
    describe_machine,
    machine_line,
    median_time,
    resolve_device,
    write_report,
)
from _report import sync as sync_device

from condgan_blocks import GlobalGenerator

VARIANTS = ("fp32", "bf16", "channels_last", "compiled")


def _autocast(variant: str, device: str):
    if variant == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x1024", help="HxW of the input")
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per variant")
    parser.add_argument("--device", default="auto", help="auto (CUDA if visible), cpu, cuda")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="tiny generator and size (smoke)")
    add_out_argument(parser)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    config = {"in_channels": 36, "base_channels": 64, "num_downsamples": 4, "num_blocks": 9}
    if args.quick:
        config.update(base_channels=4, num_downsamples=2, num_blocks=1)
        args.size, args.repeats = "64x128", 2
    height, width = (int(v) for v in args.size.split("x"))

    torch.manual_seed(0)
    net = GlobalGenerator(
        config["in_channels"], **{k: v for k, v in config.items() if k != "in_channels"}
    )
    net = net.to(device).eval()
    params = sum(p.numel() for p in net.parameters())
    x = torch.randn(1, config["in_channels"], height, width, device=device)
    machine = describe_machine(device)
    print(f"GlobalGenerator {config}, {params / 1e6:.1f}M parameters, input 1x36x{args.size}")
    print(f"{machine_line(machine)}; median of {args.repeats} forwards after a warm-up")
    print(f"{'variant':>14} {'median (s)':>11} {'vs fp32':>8}  runs (s)")

    results: dict[str, dict] = {}
    reference = None
    for variant in args.variants:
        model, inputs = net, x
        if variant == "channels_last":
            model = net.to(memory_format=torch.channels_last)
            inputs = x.contiguous(memory_format=torch.channels_last)
        elif variant == "compiled":
            torch._dynamo.reset()
            model = torch.compile(net)
        with torch.inference_mode(), _autocast(variant, device):
            warmup_s = None
            if variant == "compiled":
                start = time.perf_counter()
                model(inputs)
                sync_device(device)
                warmup_s = time.perf_counter() - start
            timing = median_time(
                lambda m=model, i=inputs: m(i), repeats=args.repeats, device=device
            )
            out = model(inputs).float()
        if variant == "channels_last":
            net.to(memory_format=torch.contiguous_format)
        if reference is None:
            reference = out
        timing["max_abs_diff_vs_first"] = float((out - reference).abs().max())
        if warmup_s is not None:
            timing["compile_and_first_s"] = warmup_s
        results[variant] = timing
        base = results[args.variants[0]]["median_s"]
        runs = ", ".join(f"{s:.2f}" for s in timing["all_s"])
        print(f"{variant:>14} {timing['median_s']:11.3f} {base / timing['median_s']:7.2f}x  {runs}")

    rows = []
    base = results[args.variants[0]]["median_s"]
    for variant, timing in results.items():
        extra = ""
        if "compile_and_first_s" in timing:
            extra = f"compile + first forward {timing['compile_and_first_s']:.1f} s"
        rows.append(
            [
                variant,
                f"{timing['median_s']:.3f}",
                f"{base / timing['median_s']:.2f}x",
                f"{timing['max_abs_diff_vs_first']:.1e}",
                extra,
            ]
        )
    write_report(
        args.out,
        "generator_inference" + ("_quick" if args.quick else ""),
        title=f"Generator inference, GlobalGenerator {'(quick)' if args.quick else 'G1'} "
        f"({params / 1e6:.1f}M parameters), 1x36x{args.size}",
        machine=machine,
        columns=[
            "variant",
            "median s / forward",
            f"speed-up vs {args.variants[0]}",
            f"max abs diff vs {args.variants[0]}",
            "note",
        ],
        rows=rows,
        settings={**config, "size": args.size, "repeats": args.repeats, "params": params},
        results=results,
        notes=[
            f"Median of {args.repeats} forwards under torch.inference_mode after one warm-up.",
            "bf16 is torch.autocast(bfloat16); channels_last converts weights and input.",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
