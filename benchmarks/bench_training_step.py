"""Seconds per training step (our default against the original's step, and bf16) and peak memory
with and without activation checkpointing, for a pix2pixHD step through
``build_training(config).step(batch)``.

"original" is the original's step at equal gradients: three D passes and full backwards
(``naive=True``), the real image's VGG features without a graph, and torch's default
(for-loop) Adam, as ``Pix2PixHDModel`` builds it. "default" is ours: D once on the fakes,
backwards restricted to their own parameters, fused Adam.

The timed variants run interleaved in one subprocess (a change in the machine's load hits them
alike); each memory variant runs in a fresh subprocess, so its peak resident memory is its own.
The defaults are the issue's setting: 256x512, batch 1, G base 32 with 3 downsamples and 9
blocks, D base 32 with 2 scales, VGG loss on (random VGG weights: the cost is the same).

    python benchmarks/bench_training_step.py                 # the figures (a few minutes on CPU)
    python benchmarks/bench_training_step.py --quick         # a quick smoke run (64x128)
    python benchmarks/bench_training_step.py --skip-bf16 --tag avx2  # a CPU that emulates bf16

The device is CUDA when a GPU is visible (``--device auto``), else the CPU; on CUDA the memory
table adds the CUDA peak. Writes ``training_step.json``/``.md`` (see ``_report.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from _report import add_out_argument, describe_machine, machine_line, resolve_device, write_report

VARIANTS = {
    # name: (step keyword naive, precision, checkpoint_activations, the original's plain Adam)
    "default": (False, "fp32", False, False),
    "original": (True, "fp32", False, True),
    "bf16": (False, "bf16", False, False),
    "default+ckpt": (False, "fp32", True, False),
}
TIMED = ("default", "original", "bf16")
MEMORY = ("default", "default+ckpt", "original")


def _training(args: argparse.Namespace, precision: str, checkpointed: bool, plain_adam: bool):
    from condgan_blocks.training import (
        DiscriminatorConfig,
        GeneratorConfig,
        LossConfig,
        TrainingConfig,
        build_training,
    )

    config = TrainingConfig(
        num_classes=args.num_classes,
        generator=GeneratorConfig(
            base_channels=args.g_channels,
            num_downsamples=args.g_downsamples,
            num_blocks=args.g_blocks,
            checkpoint_activations=checkpointed,
        ),
        discriminator=DiscriminatorConfig(base_channels=args.d_channels, num_scales=args.d_scales),
        losses=LossConfig(vgg_weight=10.0, vgg_weights=None),
        precision=precision,
        device=args.device,
    )
    training = build_training(config)
    if plain_adam:  # the original's optimizers: torch's default Adam implementation
        import torch

        models = training.models
        for name in ("optimizer_g", "optimizer_d"):
            old = getattr(models, name)
            params = [p for group in old.param_groups for p in group["params"]]
            group = old.param_groups[0]
            setattr(models, name, torch.optim.Adam(params, lr=group["lr"], betas=group["betas"]))
    return training


def _batch(args: argparse.Namespace) -> dict:
    from condgan_blocks.data import SyntheticScenes, collate

    height, width = (int(v) for v in args.size.split("x"))
    return collate([SyntheticScenes(1, size=(height, width), seed=0)[0]])


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(v for v in TIMED if not (args.skip_bf16 and VARIANTS[v][1] == "bf16"))


def _time(args: argparse.Namespace) -> dict:
    """All timed variants in one process, interleaved step by step, so that a change in the
    machine's load during the run affects them alike."""
    timed = _timed(args)
    trainings = {
        variant: _training(args, VARIANTS[variant][1], False, VARIANTS[variant][3])
        for variant in timed
    }
    batch = _batch(args)
    seconds: dict[str, list[float]] = {variant: [] for variant in timed}
    for round_ in range(args.warmup + args.steps):
        order = timed[round_ % len(timed) :] + timed[: round_ % len(timed)]
        for variant in order:
            naive = VARIANTS[variant][0]
            _sync(args.device)
            start = time.perf_counter()
            trainings[variant].step(batch, naive=naive)
            _sync(args.device)
            if round_ >= args.warmup:
                seconds[variant].append(time.perf_counter() - start)
    return {v: {"median_s": statistics.median(s), "all_s": s} for v, s in seconds.items()}


def _memory(args: argparse.Namespace, variant: str) -> dict:
    import torch

    naive, precision, checkpointed, plain_adam = VARIANTS[variant]
    training = _training(args, precision, checkpointed, plain_adam)
    batch = _batch(args)
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        training.step(batch, naive=naive)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"saved_mib": sum(saved.values()) / 2**20, "step_peak_rss_mib": (peak - before) / 1024}
    if args.device.startswith("cuda"):
        result["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def _child(mode: str) -> dict:
    command = [sys.executable, __file__, *sys.argv[1:], "--child", mode]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x512", help="HxW, e.g. 64x128 for a smoke run")
    parser.add_argument("--num-classes", type=int, default=35)
    parser.add_argument("--g-channels", type=int, default=32)
    parser.add_argument("--g-downsamples", type=int, default=3)
    parser.add_argument("--g-blocks", type=int, default=9)
    parser.add_argument("--d-channels", type=int, default=32)
    parser.add_argument("--d-scales", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (CUDA if visible), cpu, cuda")
    parser.add_argument("--quick", action="store_true", help="64x128, 2 steps (smoke run)")
    parser.add_argument("--tag", default="", help="report name suffix, e.g. avx2")
    parser.add_argument(
        "--skip-bf16",
        action="store_true",
        help="leave the bf16 row out (where bf16 is emulated it takes minutes per step)",
    )
    add_out_argument(parser)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.device = resolve_device(args.device)
    if args.quick:
        args.size, args.steps = "64x128", 2
    if args.child:
        mode, _, variant = args.child.partition(":")
        print(json.dumps(_time(args) if mode == "time" else _memory(args, variant)))
        return

    import torch

    setting = (
        f"training step at {args.size}, batch 1, {args.num_classes} classes + instance map; "
        f"G base {args.g_channels}, {args.g_downsamples} downsamples, {args.g_blocks} blocks; "
        f"D base {args.d_channels}, {args.d_scales} scales; VGG on"
    )
    print(setting)
    print(
        f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, load average "
        f"{os.getloadavg()[0]:.2f}; median of {args.steps} steps after {args.warmup} warm-up, "
        "interleaved"
    )
    from condgan_blocks.training import resolve_precision

    machine = describe_machine(args.device)
    machine["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    auto = resolve_precision("auto", args.device)
    print(machine_line(machine))
    print(f"precision 'auto' resolves to {auto} here (CPU capability {machine['cpu_capability']})")
    print(f"{'variant':>12} {'s/step':>8}  steps (s)")
    timings = _child("time")
    for variant in _timed(args):
        steps = ", ".join(f"{s:.2f}" for s in timings[variant]["all_s"])
        print(f"{variant:>12} {timings[variant]['median_s']:8.3f}  {steps}")
    ratio = timings["default"]["median_s"] / timings["original"]["median_s"]
    print(f"default / original = {ratio:.2f}")
    print()
    print(
        f"{'variant':>12} {'saved for backward (MiB)':>25} {'first-step peak RSS growth (MiB)':>33}"
    )
    memories = {}
    for variant in MEMORY:
        memory = memories[variant] = _child(f"memory:{variant}")
        extra = (
            f"  cuda peak {memory['cuda_peak_mib']:.0f} MiB" if "cuda_peak_mib" in memory else ""
        )
        print(
            f"{variant:>12} {memory['saved_mib']:25.0f} {memory['step_peak_rss_mib']:33.0f}{extra}"
        )

    on_cuda = args.device.startswith("cuda")
    rows = []
    for variant in VARIANTS:
        timing, memory = timings.get(variant), memories.get(variant)
        row = [
            variant,
            f"{timing['median_s']:.3f}" if timing else "-",
            ", ".join(f"{s:.2f}" for s in timing["all_s"]) if timing else "-",
            f"{timing['median_s'] / timings['original']['median_s']:.2f}" if timing else "-",
            f"{memory['saved_mib']:.0f}" if memory else "-",
            f"{memory['step_peak_rss_mib']:.0f}" if memory else "-",
        ]
        if on_cuda:
            row.append(f"{memory['cuda_peak_mib']:.0f}" if memory else "-")
        rows.append(row)
    write_report(
        args.out,
        "training_step" + (f"_{args.tag}" if args.tag else "") + ("_quick" if args.quick else ""),
        title=f"One pix2pixHD training step (G, D and VGG losses) at {args.size}",
        machine=machine,
        columns=[
            "variant",
            "median s/step",
            "steps (s)",
            "vs original",
            "saved for backward (MiB)",
            "first-step peak RSS growth (MiB)",
            *(["CUDA peak (MiB)"] if on_cuda else []),
        ],
        rows=rows,
        settings={k: v for k, v in vars(args).items() if k not in ("child", "out")},
        results={"timings": timings, "memory": memories},
        notes=[
            setting + ".",
            f"Times: median of {args.steps} steps after {args.warmup} warm-up, the variants "
            "interleaved in one process. original is the original's step at equal gradients "
            "(three D passes, full backwards, torch's default Adam); default is ours (D once "
            "on the fakes, backwards restricted to their own parameters, fused Adam); bf16 is "
            "the default step under bf16 autocast.",
            "Memory: each variant in a fresh process; default+ckpt is default with "
            "checkpoint_activations on G.",
            f"precision='auto' resolves to {auto} on this device (CPU capability "
            f"{machine['cpu_capability']}): bf16 only where the hardware computes it.",
            *(["The bf16 row was left out (--skip-bf16)."] if args.skip_bf16 else []),
        ],
    )


if __name__ == "__main__":
    main()
