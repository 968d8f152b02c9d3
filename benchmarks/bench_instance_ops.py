"""Benchmark the vectorised instance ops against loops written the way the original does it.

Run: ``python benchmarks/bench_instance_ops.py`` (a few minutes on 2 CPU cores; the looped
forward+backward is the slow part; ``--quick`` is a tiny smoke run). Not a test: timings depend
on the machine, so only this script checks the targets of issue 4, and it exits with status 1
when one is missed. It writes ``instance_ops.json``/``.md`` and ``instance_pool_sweep.json``/
``.md`` (see ``_report.py``) and plots pooling time against the number of instances into
``docs/assets/bench_pool_vs_instances.png`` (needs matplotlib, in the ``docs`` extra).

Inputs: one (1, 3, 512, 1024) feature map and Cityscapes-like instance maps with 10, 50 and 200
distinct ids (stuff ids below 34, thing ids ``class * 1000 + k`` up to about 34000), made of
Voronoi cells on an 8x8-pixel grid. Every figure is the median of a few runs (the looped
forward+backward: one run). The instance boundary is compared with the original's ``get_edges``
(already vectorised: four shifted comparisons into a byte tensor). CPU only.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from _report import add_out_argument, describe_machine, machine_line, median_time, write_report

from condgan_blocks import FeatureBank, instance_average_pool, instance_boundary, instance_to_class

HEIGHT, WIDTH, CHANNELS = 512, 1024, 3
COUNTS = (10, 50, 200)
SWEEP = (5, 10, 20, 50, 100, 200, 400)  # instance counts of the pooling plot
PLOT = Path(__file__).resolve().parents[1] / "docs" / "assets" / "bench_pool_vs_instances.png"
# (name, instance count it is checked at, minimum speed-up)
TARGETS = (
    ("instance_average_pool forward", 200, 30.0),
    ("instance_average_pool forward+backward", 200, 50.0),
    ("FeatureBank.sample", 200, 30.0),
    ("FeatureBank.add (per-instance extraction)", 200, 10.0),
)


def cityscapes_like_instances(count: int, *, seed: int = 0) -> torch.Tensor:
    """(1, 1, HEIGHT, WIDTH) int64 map holding exactly ``count`` distinct ids."""
    g = torch.Generator().manual_seed(seed)
    stuff = torch.randperm(24, generator=g)[: max(1, count // 5)]  # classes 0..23 are stuff
    things = torch.randperm(10 * 900, generator=g)[: count - len(stuff)]
    ids = torch.cat([stuff, (24 + things // 900) * 1000 + things % 900])
    cell = 8
    rows, cols = HEIGHT // cell, WIDTH // cell
    seeds = torch.rand(count, 2, generator=g) * torch.tensor([rows, cols])
    grid_y, grid_x = torch.meshgrid(
        torch.arange(rows) + 0.5, torch.arange(cols) + 0.5, indexing="ij"
    )
    distance = (grid_y[..., None] - seeds[:, 0]) ** 2 + (grid_x[..., None] - seeds[:, 1]) ** 2
    owner = distance.argmin(-1)
    owner[seeds[:, 0].long(), seeds[:, 1].long()] = torch.arange(count)  # every id keeps a cell
    owner = owner.repeat_interleave(cell, 0).repeat_interleave(cell, 1)
    instances = ids[owner].view(1, 1, HEIGHT, WIDTH)
    if instances.unique().numel() != count:
        raise RuntimeError("internal error: the instance map lost ids")
    return instances


# -- baselines: loops written as the original writes them --------------------------------------


def loop_average_pool(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """For each id, a boolean mask; per image and channel, the masked mean written back."""
    out = features.clone()
    for instance_id in torch.unique(instances).tolist():
        mask = instances == instance_id
        for b in range(features.shape[0]):
            image_mask = mask[b, 0]
            if not bool(image_mask.any()):
                continue
            for c in range(features.shape[1]):
                out[b, c][image_mask] = features[b, c][image_mask].mean()
    return out


def loop_sample(bank: FeatureBank, instances: torch.Tensor, generator: torch.Generator):
    """The original's ``sample_features`` loop: per id, a random centre written through a mask."""
    centers = bank.centers
    out = torch.zeros(instances.shape[0], bank.feature_channels, *instances.shape[2:])
    for instance_id in torch.unique(instances).tolist():
        label = instance_to_class(instance_id)
        mask = instances == instance_id
        for b in range(instances.shape[0]):
            image_mask = mask[b, 0]
            if label not in centers or not bool(image_mask.any()):
                continue
            choice = int(torch.randint(len(centers[label]), (1,), generator=generator))
            for c in range(bank.feature_channels):
                out[b, c][image_mask] = centers[label][choice, c]
    return out


def original_edges(t: torch.Tensor) -> torch.Tensor:
    """The original's ``get_edges``: four shifted comparisons OR-ed into a byte tensor."""
    edge = torch.zeros(t.size(), dtype=torch.uint8, device=t.device)
    edge[:, :, :, 1:] = edge[:, :, :, 1:] | (t[:, :, :, 1:] != t[:, :, :, :-1]).byte()
    edge[:, :, :, :-1] = edge[:, :, :, :-1] | (t[:, :, :, 1:] != t[:, :, :, :-1]).byte()
    edge[:, :, 1:, :] = edge[:, :, 1:, :] | (t[:, :, 1:, :] != t[:, :, :-1, :]).byte()
    edge[:, :, :-1, :] = edge[:, :, :-1, :] | (t[:, :, 1:, :] != t[:, :, :-1, :]).byte()
    return edge.float()


def loop_extract(features: torch.Tensor, instances: torch.Tensor) -> dict[int, list]:
    """The original's ``encode_features`` loop: nonzero() per id, the middle pixel's values."""
    height, width = instances.shape[-2:]
    rows: dict[int, list] = {}
    for instance_id in torch.unique(instances).tolist():
        label = instance_id if instance_id < 1000 else instance_id // 1000
        index = (instances == instance_id).nonzero()
        num = index.shape[0]
        b, _, y, x = index[num // 2].tolist()
        values = [features[b, k, y, x].item() for k in range(features.shape[1])]
        rows.setdefault(label, []).append([*values, num / (height * width // 32)])
    return rows


# -- timing -------------------------------------------------------------------------------------


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The median of ``repeats`` runs after a warm-up (the name is kept from issue 4)."""
    return median_time(fn, repeats=repeats)["median_s"]


def forward_backward(op, features: torch.Tensor, instances: torch.Tensor) -> None:
    leaf = features.detach().requires_grad_()
    out = op(leaf, instances)
    out.backward(torch.ones_like(out))


def fitted_bank(features: torch.Tensor, instances: torch.Tensor) -> FeatureBank:
    bank = FeatureBank(CHANNELS)
    bank.add(instance_average_pool(features, instances), instances)
    return bank.fit(min_area=0.0, n_init=1)


def sample_is_valid(bank: FeatureBank, sampled: torch.Tensor, instances: torch.Tensor) -> bool:
    """Every instance constant and equal to one centre of its class (exact comparisons)."""
    centers = bank.centers
    for instance_id in torch.unique(instances).tolist():
        values = sampled[0][:, instances[0, 0] == instance_id]
        if not torch.equal(values, values[:, :1].expand_as(values)):
            return False
        if not (centers[instance_to_class(instance_id)] == values[:, 0]).all(1).any():
            return False
    return True


def measure(
    count: int, features: torch.Tensor, repeats: int
) -> list[tuple[str, float, float, str]]:
    """``(name, loop seconds, our seconds, correctness check)`` for each op at ``count`` ids."""
    instances = cityscapes_like_instances(count)
    rows = []

    same = torch.equal(instance_boundary(instances), original_edges(instances))
    rows.append(
        (
            "instance_boundary (vs original get_edges)",
            best_time(lambda: original_edges(instances), repeats),
            best_time(lambda: instance_boundary(instances), repeats),
            f"equal to get_edges: {same}",
        )
    )

    diff = instance_average_pool(features, instances) - loop_average_pool(features, instances)
    rows.append(
        (
            TARGETS[0][0],
            best_time(lambda: loop_average_pool(features, instances), 2),
            best_time(lambda: instance_average_pool(features, instances), repeats),
            f"max |out - loop| {float(diff.abs().max()):.1e}",
        )
    )

    leaf = features.detach().requires_grad_()
    instance_average_pool(leaf, instances).pow(2).sum().backward()
    ours_grad = leaf.grad
    leaf = features.detach().requires_grad_()
    loop_average_pool(leaf, instances).pow(2).sum().backward()  # also the loop's warm-up
    start = time.perf_counter()  # one run: the looped backward takes seconds
    forward_backward(loop_average_pool, features, instances)
    loop_s = time.perf_counter() - start
    ours_s = best_time(
        lambda: forward_backward(instance_average_pool, features, instances), repeats
    )
    grad_diff = float((ours_grad - leaf.grad).abs().max())
    rows.append((TARGETS[1][0], loop_s, ours_s, f"max |grad - loop| {grad_diff:.1e}"))

    bank = fitted_bank(features, instances)
    generator = torch.Generator()
    ours_s = best_time(lambda: bank.sample(instances, generator=generator), repeats)
    loop_s = best_time(lambda: loop_sample(bank, instances, generator), 2)
    valid = sample_is_valid(bank, bank.sample(instances, generator=generator), instances)
    rows.append((TARGETS[2][0], loop_s, ours_s, f"one centre per instance: {valid}"))

    pooled = instance_average_pool(features, instances)
    ours_s = best_time(lambda: FeatureBank(CHANNELS).add(pooled, instances), repeats)
    loop_s = best_time(lambda: loop_extract(pooled, instances), 2)
    reference = loop_extract(pooled, instances)
    expected = torch.tensor([row for label in sorted(reference) for row in reference[label]])
    bank = FeatureBank(CHANNELS)
    bank.add(pooled, instances)
    records = bank.records()
    order = torch.sort(records["classes"], stable=True).indices
    got = torch.cat(
        [
            records["features"][order].double(),
            records["pixels"][order, None] / (HEIGHT * WIDTH // 32),
        ],
        dim=1,
    )
    rows.append(
        (TARGETS[3][0], loop_s, ours_s, f"rows equal to the loop's: {torch.equal(got, expected)}")
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of the vectorised ops")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true", help="64x128, few ids (smoke run)")
    parser.add_argument("--plot", type=Path, default=None, help=f"the plot (default {PLOT})")
    add_out_argument(parser)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    global HEIGHT, WIDTH
    counts, sweep = COUNTS, SWEEP
    if args.quick:
        HEIGHT, WIDTH, counts, sweep = 64, 128, (10, 20), (5, 10, 20)
    plot = args.plot or (args.out / "bench_pool_vs_instances.png" if args.quick else PLOT)

    torch.manual_seed(0)
    features = torch.randn(1, CHANNELS, HEIGHT, WIDTH)
    machine = describe_machine("cpu")
    print(
        f"{machine_line(machine)}; features {tuple(features.shape)}; median of "
        f"{args.repeats} runs, in ms"
    )
    print(f"{'op':44s} {'ids':>4s} {'loop':>9s} {'ours':>8s} {'speed-up':>9s}  check")
    speedups: dict[tuple[str, int], float] = {}
    rows, results = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KMeans on few distinct points
        for count in counts:
            for name, loop_s, ours_s, check in measure(count, features, args.repeats):
                speedups[name, count] = loop_s / ours_s
                print(
                    f"{name:44s} {count:4d} {loop_s * 1e3:9.1f} {ours_s * 1e3:8.2f} "
                    f"{loop_s / ours_s:8.1f}x  {check}"
                )
                rows.append(
                    [
                        name,
                        count,
                        f"{loop_s * 1e3:.1f}",
                        f"{ours_s * 1e3:.2f}",
                        f"{loop_s / ours_s:.1f}x",
                        check,
                    ]
                )
                results.append(
                    {"op": name, "ids": count, "loop_s": loop_s, "ours_s": ours_s, "check": check}
                )

    print()
    all_met = True
    notes = [
        f"Features {tuple(features.shape)}; median of {args.repeats} runs of ours and of the "
        "baseline (2 runs of the looped ops; the looped forward+backward: one run).",
    ]
    for name, count, minimum in TARGETS:
        speedup = speedups.get((name, count))
        if speedup is None:  # --quick measures fewer counts
            continue
        met = speedup >= minimum
        all_met &= met
        line = (
            f"target {name} at {count} ids: >= {minimum:.0f}x, measured {speedup:.1f}x: "
            f"{'MET' if met else 'NOT MET'}"
        )
        print(line)
        notes.append(line)
    print("all targets met" if all_met else "some targets NOT met")
    suffix = "_quick" if args.quick else ""
    write_report(
        args.out,
        "instance_ops" + suffix,
        title=f"Instance ops against the original-style loops, features 1x{CHANNELS}x{HEIGHT}x"
        f"{WIDTH}",
        machine=machine,
        columns=["op", "ids", "original (ms)", "ours (ms)", "speed-up", "check"],
        rows=rows,
        settings={"size": [HEIGHT, WIDTH], "channels": CHANNELS, "repeats": args.repeats},
        results=results,
        notes=notes,
    )
    pool_sweep(features, sweep, args.repeats, machine, args.out, suffix, plot)
    return 0 if all_met or args.quick else 1


def pool_sweep(features, counts, repeats, machine, out, suffix, plot) -> None:
    """instance_average_pool forward against the loop for several instance counts; the plot."""
    print()
    print(f"{'ids':>4s} {'loop (ms)':>10s} {'ours (ms)':>10s}")
    loop_ms, ours_ms = [], []
    for count in counts:
        instances = cityscapes_like_instances(count)
        loop_ms.append(best_time(lambda i=instances: loop_average_pool(features, i), 2) * 1e3)
        ours_ms.append(
            best_time(lambda i=instances: instance_average_pool(features, i), repeats) * 1e3
        )
        print(f"{count:4d} {loop_ms[-1]:10.1f} {ours_ms[-1]:10.2f}")
    write_report(
        out,
        "instance_pool_sweep" + suffix,
        title=f"instance_average_pool forward against the number of instances, features "
        f"1x{CHANNELS}x{HEIGHT}x{WIDTH}",
        machine=machine,
        columns=["ids", "original loop (ms)", "ours (ms)", "speed-up"],
        rows=[
            [count, f"{loop:.1f}", f"{ours:.2f}", f"{loop / ours:.1f}x"]
            for count, loop, ours in zip(counts, loop_ms, ours_ms, strict=True)
        ],
        settings={"size": [HEIGHT, WIDTH], "channels": CHANNELS, "repeats": repeats},
        results={"ids": list(counts), "loop_ms": loop_ms, "ours_ms": ours_ms},
    )
    try:
        import matplotlib
    except ImportError:
        print("no matplotlib (pip install -e '.[docs]'): plot skipped")
        return
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib import ticker

    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=120)
    axes.plot(counts, loop_ms, "o-", label="original-style loop")
    axes.plot(counts, ours_ms, "s-", label="instance_average_pool")
    axes.set_xscale("log")
    axes.set_yscale("log")
    plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
    axes.set_xticks(list(counts))
    axes.xaxis.set_major_formatter(plain)
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes.yaxis.set_major_formatter(plain)
    axes.set_xlabel("instances in the map")
    axes.set_ylabel("forward time (ms, median)")
    axes.set_title(f"Pooling 1x{CHANNELS}x{HEIGHT}x{WIDTH} features ({machine['cpu']})", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    plot.parent.mkdir(parents=True, exist_ok=True)
    temporary = plot.with_name(f".{plot.name}.tmp.png")
    figure.savefig(temporary)
    plt.close(figure)
    temporary.replace(plot)
    print(f"wrote {plot}")


if __name__ == "__main__":
    sys.exit(main())
