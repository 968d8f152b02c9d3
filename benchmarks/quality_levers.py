"""Quality levers at the demo's budget: train the demo-sized pix2pixHD with one change, score it.

Trains on SyntheticScenes (the demo's sizes, epochs and networks; VGG loss off), builds the
feature bank, generates the 48 validation scenes and scores them with a segmenter trained on the
real training images (cached per data seed and size). Prints and writes ``RESULTS/NAME.json``
(generated / real mean IoU, per-class IoU ratios, chroma and luminance high-frequency energy
against the real images, seconds per step) and ``RESULTS/NAME.png`` (labels | generated | real).

    python benchmarks/quality_levers.py base
    python benchmarks/quality_levers.py ema --set ema_decay=0.99
    python benchmarks/quality_levers.py resize --set generator.upsample=resize --data-seed 3

Vary ``--data-seed`` and ``--size`` to check that a lever is not tuned to one set of scenes.
``--l1-detail-pool N`` tries a lever that is not in the library (it lost): the L1 term on the
chroma at full resolution but on the luminance only after N x N mean pooling, leaving the
texture to the adversarial terms (weighted as the L1 term when its class balance is on).
``--noise [--noise-gain-scale S]`` tries another (it did not pay): a per-pixel noise map added
after each generator upsampling, times a learned per-channel gain (zero at the start; S
multiplies it so that Adam moves it S times faster).
Three more prototypes that did not pay either: ``--texture-balance P`` weights the texture
term's cells by the class balance of their pixels (the L1 term's ``frequency ** -P`` weights,
average-pooled to each cell), ``--adversarial-balance P`` weights the generator's LSGAN and
feature-matching terms per discriminator patch the same way, ``--full-resolution-block`` puts
one residual block at full resolution in front of the image head.
Three more that lost: ``--l1-detail-blur K`` (the L1 term's luminance after a K x K box blur at
every pixel, the chroma per pixel, class-balanced as the L1 term), ``--region-texture W`` (an L1
between texture statistics averaged over each class's region of the fake and the real image:
phase-free detail, horizontal and vertical differences, chroma detail) and
``--modulation-kernel K`` (the label-modulated norms' second convolution K x K instead of 3x3;
with ``--set generator.label_modulation=N``).
``--block-modulation N`` is the prototype of ``generator.label_modulation_blocks`` (a modulated
second norm in every residual block; N hidden channels, with ``--set
generator.label_modulation=M`` for the upsamplings). Every run scores one uniform draw of the
bank's styles per batch (``ratio``, as all rows before 2026-11-29) and ``--style-draws`` draws by
cluster population, pooled as ``evaluate`` pools them (``ratio_population``).
See docs/quality.md.
"""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _report import write_atomically

import condgan_blocks.training.step as training_step
from condgan_blocks import FeatureBank
from condgan_blocks.data import SyntheticScenes, collate
from condgan_blocks.evaluation import (
    ConfusionMatrix,
    HighFrequencyMeter,
    SegmentationNet,
    load_segmenter,
    save_segmenter,
    segment,
    train_segmenter,
)
from condgan_blocks.training import TrainingConfig, build_training, resolve_precision

RESULTS = Path("benchmarks/results/quality")


def use_detail_free_l1(pool, *, blur=False):
    """Prototype: L1 on the chroma per pixel, on the luminance after pool x pool means (with
    ``blur``: a pool x pool box blur at every pixel instead), class-balanced as the L1 term."""
    from condgan_blocks.losses.class_balance import class_balance_weights

    original = training_step._generator_losses

    def losses(models, pred_fake, pred_real, fake, real, condition):
        weight, models.l1_weight = models.l1_weight, 0.0
        try:
            out = original(models, pred_fake, pred_real, fake, real, condition)
        finally:
            models.l1_weight = weight
        if weight > 0:
            fake = fake.to(real.dtype)
            power = models.l1_class_balance
            pixel = class_balance_weights(condition[:, : models.num_classes], power)
            fake_lum, real_lum = fake.mean(1, keepdim=True), real.mean(1, keepdim=True)
            chroma = (pixel * ((fake - fake_lum) - (real - real_lum)).abs()).mean()
            if blur:
                pad = (pool // 2, (pool - 1) // 2) * 2
                low = [
                    F.avg_pool2d(F.pad(x, pad, mode="replicate"), pool, stride=1)
                    for x in (fake_lum, real_lum)
                ]
                cell = pixel
            else:
                low = [F.avg_pool2d(x, pool) for x in (fake_lum, real_lum)]
                cell = F.avg_pool2d(pixel, pool)
            lum = (cell * (low[0] - low[1]).abs()).mean()
            out["g_l1"] = weight * (chroma + lum)
        return out

    training_step._generator_losses = losses


def use_balanced_texture(power):
    """Prototype: the texture term's cells weighted by the class balance of their pixels."""
    from condgan_blocks.losses.class_balance import class_balance_weights
    from condgan_blocks.losses.texture import _energy_maps

    original = training_step._generator_losses

    def losses(models, pred_fake, pred_real, fake, real, condition):
        texture, models.texture_loss = models.texture_loss, None
        try:
            out = original(models, pred_fake, pred_real, fake, real, condition)
        finally:
            models.texture_loss = texture
        if texture is not None:
            weights = class_balance_weights(condition[:, : models.num_classes], power)
            fake = fake.to(real.dtype)
            with torch.no_grad():
                targets = _energy_maps(real, texture.window, texture.num_scales)
            fakes = _energy_maps(fake, texture.window, texture.num_scales)
            total = sum(
                (F.adaptive_avg_pool2d(weights, f.shape[-2:]) * (f - t).abs()).mean()
                for f, t in zip(fakes, targets, strict=True)
            )
            out["g_texture"] = texture.weight * total
        return out

    training_step._generator_losses = losses


def use_balanced_adversarial(power):
    """Prototype: the generator's LSGAN and feature-matching terms weighted per patch by the
    class balance of the patch's pixels (the discriminator's own losses unchanged)."""
    from condgan_blocks.losses.class_balance import class_balance_weights

    original = training_step._generator_losses

    def losses(models, pred_fake, pred_real, fake, real, condition):
        out = original(models, pred_fake, pred_real, fake, real, condition)
        weights = class_balance_weights(condition[:, : models.num_classes], power)

        def pooled(t):
            return F.adaptive_avg_pool2d(weights, t.shape[-2:]).to(t.dtype)

        out["g_gan"] = sum((pooled(s[-1]) * (s[-1] - 1.0) ** 2).mean() for s in pred_fake)
        if models.feature_matching_loss is not None:
            scales = len(pred_fake)
            fm = 0.0
            for fs, rs in zip(pred_fake, pred_real, strict=True):
                layers = len(fs) - 1
                for f, r in zip(fs[:-1], rs[:-1], strict=True):
                    diff = (f - r.detach()).abs()
                    fm = fm + (pooled(diff) * diff).mean() * 4.0 / layers / scales
            out["g_feat"] = models.feature_matching_loss.weight * fm
        return out

    training_step._generator_losses = losses


def use_full_resolution_block():
    """Prototype: one residual block at full resolution in front of the image head (on the
    features and, with condition skips, the condition)."""
    from torch import nn

    from condgan_blocks import GlobalGenerator, ResnetBlock

    init = GlobalGenerator.__init__

    def patched_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.head is not None:
            channels = self.head.conv.in_channels
            self.head = nn.Sequential(ResnetBlock(channels, norm=self.norm), self.head)

    GlobalGenerator.__init__ = patched_init


def use_noise_injection(gain_scale=1.0):
    """Prototype: one per-pixel noise map added after each upsampling, learned gain per channel."""
    from torch import nn

    from condgan_blocks import GlobalGenerator

    init = GlobalGenerator.__init__

    def patched_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        widths = [self.base_channels * 2**i for i in range(self.num_downsamples)]
        self.noise_gains = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in reversed(widths))
        for up, gain in zip(self.upsamples, self.noise_gains, strict=True):

            def add_noise(module, inputs, out, gain=gain):
                noise = torch.randn_like(out[:, :1])
                return out + (gain_scale * gain).view(1, -1, 1, 1).to(out.dtype) * noise

            up.register_forward_hook(add_noise)

    GlobalGenerator.__init__ = patched_init


def use_modulation_kernel(kernel):
    """Prototype: the label-modulated norms' second convolution (``affine``) with a
    ``kernel x kernel`` window instead of 3x3 (1: a cheaper per-pixel mapping)."""
    from torch import nn

    from condgan_blocks import LabelModulatedNorm

    init = LabelModulatedNorm.__init__

    def patched_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.affine = nn.Conv2d(self.hidden, 2 * self.channels, kernel, padding=kernel // 2)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    LabelModulatedNorm.__init__ = patched_init


def use_block_modulation(hidden):
    """Prototype: a label-modulated norm (SPADE) as the second norm of every residual block
    too, driven by the generator's input pooled to the blocks' size (with
    ``--set generator.label_modulation=N`` the upsamplings keep theirs)."""
    import torch.nn.functional as F
    from torch import nn

    from condgan_blocks import GlobalGenerator, LabelModulatedNorm

    class BlockNorm(nn.Module):
        def __init__(self, norm, channels, condition_channels):
            super().__init__()
            self.modulated = LabelModulatedNorm(norm, channels, condition_channels, hidden=hidden)
            self.condition = None

        def forward(self, x):
            return self.modulated(x, self.condition)

    init, features = GlobalGenerator.__init__, GlobalGenerator.features

    def patched_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        for block in self.blocks:
            channels = block.conv2.out_channels
            block.norm2 = BlockNorm(block.norm2, channels, self.in_channels)

    def patched_features(self, x):
        condition = F.avg_pool2d(x, 2**self.num_downsamples)
        for block in self.blocks:
            block.norm2.condition = condition
        return features(self, x)

    GlobalGenerator.__init__ = patched_init
    GlobalGenerator.features = patched_features


def region_statistics(images, one_hot):
    """(N, K, S) means over each image's pixels of each class of S texture statistics: the
    luminance's box detail, |horizontal| and |vertical| differences, the chroma's box detail
    per channel, and the luminance ones again at half size."""
    from condgan_blocks.layers._detail import box_detail

    def maps(x):
        lum = x.mean(1, keepdim=True)
        dx = F.pad((lum[..., :, 1:] - lum[..., :, :-1]).abs(), (0, 1, 0, 0))
        dy = F.pad((lum[..., 1:, :] - lum[..., :-1, :]).abs(), (0, 0, 0, 1))
        return [box_detail(lum), dx, dy, box_detail(x - lum)]

    stats = []
    for scale in (1, 2):
        x = images if scale == 1 else F.avg_pool2d(images, scale)
        mask = one_hot if scale == 1 else F.avg_pool2d(one_hot, scale)
        parts = maps(x) if scale == 1 else maps(x)[:3]
        feats = torch.cat(parts, 1)
        area = mask.sum((2, 3)).clamp_min(1e-6)  # (N, K)
        stats.append(torch.einsum("nkhw,nshw->nks", mask, feats) / area[..., None])
    return torch.cat(stats, 2)


def use_region_texture(weight):
    """Prototype: L1 between the texture statistics of each class's region in the fake and the
    real image (region_statistics; phase-free: where the grain or the grout lies does not
    count), every (image, class present) pair weighing the same."""
    original = training_step._generator_losses

    def losses(models, pred_fake, pred_real, fake, real, condition):
        out = original(models, pred_fake, pred_real, fake, real, condition)
        one_hot = condition[:, : models.num_classes].float()
        present = one_hot.sum((2, 3)) > 0  # (N, K)
        with torch.no_grad():
            target = region_statistics(real.float(), one_hot)
        stats = region_statistics(fake.float(), one_hot)
        diff = (stats - target).abs().mean(2)  # (N, K)
        out["g_region"] = weight * diff[present].mean()
        out["g_texture"] = out.get("g_texture", 0) + out["g_region"]
        return out

    training_step._generator_losses = losses


def batches(ds, n, bs):
    for s in range(0, n, bs):
        yield collate([ds[i] for i in range(s, min(s + bs, n))])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--size", type=int, nargs=2, default=[64, 128])
    p.add_argument("--num-train", type=int, default=400)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--decay", type=int, default=4)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--segmenter-epochs", type=int, default=12)
    p.add_argument("--l1-detail-pool", type=int, default=0)
    p.add_argument("--l1-detail-blur", type=int, default=0)
    p.add_argument("--noise", action="store_true")
    p.add_argument("--noise-gain-scale", type=float, default=1.0)
    p.add_argument("--texture-balance", type=float, default=0.0)
    p.add_argument("--adversarial-balance", type=float, default=0.0)
    p.add_argument("--full-resolution-block", action="store_true")
    p.add_argument("--modulation-kernel", type=int, default=0)
    p.add_argument("--region-texture", type=float, default=0.0)
    p.add_argument("--block-modulation", type=int, default=0)
    p.add_argument("--style-draws", type=int, default=4)
    a = p.parse_args()
    if a.block_modulation:
        use_block_modulation(a.block_modulation)
    if a.full_resolution_block:
        use_full_resolution_block()
    if a.modulation_kernel:
        use_modulation_kernel(a.modulation_kernel)
    if a.region_texture:
        use_region_texture(a.region_texture)
    if a.texture_balance:
        use_balanced_texture(a.texture_balance)
    if a.adversarial_balance:
        use_balanced_adversarial(a.adversarial_balance)
    if a.l1_detail_pool:
        use_detail_free_l1(a.l1_detail_pool)
    if a.l1_detail_blur:
        use_detail_free_l1(a.l1_detail_blur, blur=True)
    if a.noise:
        use_noise_injection(a.noise_gain_scale)
    results = a.results
    torch.set_num_threads(2)
    size = tuple(a.size)
    # cache: each scene drawn once (the same scenes; rows before 2026-11-28 drew them per step)
    train = SyntheticScenes(a.num_train, size=size, seed=a.data_seed, split="train", cache=True)
    val = SyntheticScenes(48, size=size, seed=a.data_seed, split="val", cache=True)
    cfg = {
        "num_classes": 7,
        "generator": {"base_channels": 32, "num_downsamples": 3, "num_blocks": 4},
        "discriminator": {"base_channels": 32, "num_scales": 2, "num_layers": 3},
        "encoder": {"feature_channels": 3, "base_channels": 16, "num_downsamples": 3},
        "losses": {"vgg_weight": 0.0, "vgg_weights": None},
        "precision": "auto",  # bf16 where the CPU computes it (the rows' machine), else fp32
        "batch_size": 4,
        "epochs": a.epochs,
        "decay_epochs": a.decay,
        "log_every_steps": 0,
        "seed": 0,
    }
    for text in a.set:
        key, value = text.split("=", 1)
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    config = TrainingConfig.from_dict(cfg)
    if a.adversarial_balance and config.losses.gan_mode != "lsgan":
        raise ValueError(
            f"--adversarial-balance needs losses.gan_mode=lsgan, got {config.losses.gan_mode!r}"
        )
    training = build_training(config)
    t0 = time.perf_counter()
    fit = training.fit(train)
    train_s = time.perf_counter() - t0
    if fit.interrupted_by is not None:
        # A stopped run would be scored and stored like a finished one: keep no row for it.
        sys.exit(
            f"{a.name}: training stopped by {fit.interrupted_by} at step {fit.global_step};"
            " no result written"
        )
    steps = training.state.global_step
    enc = training.models.encoder
    gen = training.generator
    enc.eval()
    gen.eval()
    bank = FeatureBank(3)
    with torch.no_grad():
        for b in batches(train, len(train), 16):
            bank.add(enc(b["image"], b["instance"]).float(), b["instance"], b["label"])
    bank.fit(6, min_area=0.005, seed=0)
    seg_name = f"seg{a.segmenter_epochs}_{a.data_seed}_{size[0]}x{size[1]}_{a.num_train}.pt"
    seg_path = results / seg_name
    if seg_path.is_file():
        seg = load_segmenter(seg_path)
    else:
        torch.manual_seed(0)
        seg = SegmentationNet(3, 7, base_channels=16)
        train_segmenter(
            seg,
            train,
            epochs=a.segmenter_epochs,
            seed=0,
            progress=False,
            precision=resolve_precision("auto", "cpu"),
            channels_last=True,
        )
        save_segmenter(seg, seg_path)
    seg.eval()
    mats = {k: ConfusionMatrix(7) for k in ("generated", "real")}
    hfs = {k: HighFrequencyMeter() for k in mats}
    fakes = []
    from condgan_blocks import Synthesizer

    # The rows before 2026-11-29: one uniform draw of the bank's styles per batch, seeded with
    # the batch's index ("generated", "ratio"). Since then also `--style-draws` draws by cluster
    # population (the library's default), pooled as `evaluate` pools them ("ratio_population").
    synthesizer = Synthesizer(gen, 7, bank=bank, precision="auto")
    val_batches = list(batches(val, len(val), 8))
    pooled = ConfusionMatrix(7)
    per_draw = [ConfusionMatrix(7) for _ in range(a.style_draws)]
    with torch.no_grad():
        for i, b in enumerate(val_batches):
            uniform = bank.sample(b["instance"], b["label"], by_population=False,
                                  generator=torch.Generator().manual_seed(i))  # fmt: skip
            fake = synthesizer(b["label"], b["instance"], features=uniform)
            fakes.append(fake)
            for k, img in (("generated", fake), ("real", b["image"])):
                mats[k].update(segment(seg, img), b["label"])
                hfs[k].update(img.float())
            for d, matrix in enumerate(per_draw):
                drawn = synthesizer(b["label"], b["instance"], seed=d * len(val_batches) + i)
                prediction = segment(seg, drawn)
                matrix.update(prediction, b["label"])
                pooled.update(prediction, b["label"])
    res = {k: mats[k].compute() for k in mats}
    from condgan_blocks.evaluation import per_class_iou

    for k in mats:
        res[k]["per_class_iou"] = per_class_iou(mats[k].matrix).tolist()
    cls_ratio = [
        g / r if r > 0 else float("nan")
        for g, r in zip(
            res["generated"]["per_class_iou"], res["real"]["per_class_iou"], strict=True
        )
    ]
    out = {
        "name": a.name,
        "epochs": [a.epochs, a.decay],
        "segmenter_epochs": a.segmenter_epochs,
        "l1_detail_pool": a.l1_detail_pool,
        "l1_detail_blur": a.l1_detail_blur,
        "noise": [a.noise, a.noise_gain_scale],
        "texture_balance": a.texture_balance,
        "adversarial_balance": a.adversarial_balance,
        "full_resolution_block": a.full_resolution_block,
        "modulation_kernel": a.modulation_kernel,
        "region_texture": a.region_texture,
        "set": a.set,
        "data_seed": a.data_seed,
        "size": size,
        "steps": steps,
        "train_s": round(train_s, 1),
        "s_per_step": round(train_s / max(steps, 1), 3),
        "miou_gen": res["generated"]["mean_iou"],
        "miou_real": res["real"]["mean_iou"],
        "ratio": res["generated"]["mean_iou"] / res["real"]["mean_iou"],
        "block_modulation": a.block_modulation,
        "style_draws": a.style_draws,
        "ratio_population": pooled.compute()["mean_iou"] / res["real"]["mean_iou"],
        "ratio_population_per_draw": [
            m.compute()["mean_iou"] / res["real"]["mean_iou"] for m in per_draw
        ],
        "min_class_ratio": min(cls_ratio),
        "class_ratio": [round(c, 3) for c in cls_ratio],
    }
    for k in ("generated", "real"):
        energy = hfs[k].compute()
        c, lu = energy["chroma_hf"], energy["luminance_hf"]
        out[f"chroma_{k}"] = c
        out[f"lum_{k}"] = lu
    out["chroma_x"] = out["chroma_generated"] / out["chroma_real"]
    out["lum_x"] = out["lum_generated"] / out["lum_real"]
    out["per_class"] = {k: res[k] for k in res}
    results.mkdir(parents=True, exist_ok=True)
    write_atomically(results / f"{a.name}.json", json.dumps(out, indent=1, default=str))
    from condgan_blocks.visualization import image_grid, save_png

    rows = []
    for j in range(6):
        b = val[j]
        rows.append(
            [
                SyntheticScenes.colorize(b["label"][0]).float() / 127.5 - 1,
                torch.cat(fakes)[j],
                b["image"],
            ]
        )
    save_png(image_grid(rows), results / f"{a.name}.png")
    print(json.dumps({k: v for k, v in out.items() if k != "per_class"}))


if __name__ == "__main__":
    main()
