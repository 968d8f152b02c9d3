"""One pix2pixHD training step: the fused step, and the original's three-pass step as reference.

Both do the math of the original ``Pix2PixHDModel.forward`` and ``train.py``::

    fake = G(condition [, E(real, instances)])
    loss_G = GAN(D(condition, fake), real) + FM(D(condition, fake), D(condition, real))
             + VGG(fake, real)
    loss_D = 0.5 * (GAN(D(condition, fake.detach()), fake) + GAN(D(condition, real), real))
    G step (with E), then D step

where ``GAN(p, t)`` is the adversarial loss of the predictions ``p`` against target ``t``.

[`fused_step`][condgan_blocks.training.fused_step] runs D on the fake batch **once**. The same
prediction feeds the G loss and the D loss, and each backward is restricted to its own parameters
with ``inputs=``: the D backward gets gradients for D's weights only (it never enters G, which is
exactly what ``fake.detach()`` achieves in the original), and the G backward flows through D to G
and E without computing D's weight gradients. Both use D's weights from before either optimizer
step, as in the original, where the D loss is also built before the G step. With a fake pool the D
loss needs D on *pooled* fakes, so a separate D pass is made on them.

[`naive_step`][condgan_blocks.training.naive_step] is the original's sequence (three D passes, full
backwards whose D weight gradients of the G loss are thrown away) for tests and benchmarks.

The two agree to float rounding (bit for bit in our CPU tests). Stateful discriminator layers
see one forward fewer per step in the fused step: batch-norm running statistics are updated
twice, not three times, and spectral normalisation runs two power iterations, not three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..losses.class_balance import class_balanced_l1
from .fake_pool import FakePool
from .inputs import StepInputs, _with_features
from .models import TrainingModels
from .precision import autocast_context


def losses_to_floats(losses: dict[str, Tensor]) -> dict[str, float]:
    """The loss tensors as Python floats, with one host synchronisation."""
    values = torch.stack([v.detach().float() for v in losses.values()]).tolist()
    return dict(zip(losses, values, strict=True))


def _no_sync(parameters: list[nn.Parameter]) -> None:
    return None


@dataclass
class StepHooks:
    """Where a trainer joins a step.

    Attributes:
        reduce_losses: Called once after the forward pass with the detached losses; returns
            their values as floats (a distributed trainer averages them over the ranks here, and
            raises to stop on a non-finite loss before any weight changes).
        sync_gradients: Called with the parameters that got gradients, after the backward
            passes and before the optimizer steps (a distributed trainer averages them here).

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig, build_models,
        ...                                      prepare_batch)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> _ = torch.manual_seed(0)
        >>> models = build_models(config)
        >>> batch = collate([SyntheticScenes(1, size=(16, 16))[0]])
        >>> inputs = prepare_batch(batch, num_classes=7)
        >>> synced = []
        >>> hooks = StepHooks(sync_gradients=lambda params: synced.append(len(params)))
        >>> losses = fused_step(models, inputs, hooks=hooks)
        >>> trainable = models.generator_parameters() + list(models.discriminator.parameters())
        >>> synced == [len(trainable)]
        True
    """

    reduce_losses: Callable[[dict[str, Tensor]], dict[str, float]] = losses_to_floats
    sync_gradients: Callable[[list[nn.Parameter]], None] = _no_sync


def _trainable(parameters: list[nn.Parameter]) -> list[nn.Parameter]:
    return [p for p in parameters if p.requires_grad]


def _pair(condition: Tensor, image: Tensor) -> Tensor:
    return torch.cat([condition, image.to(condition.dtype)], 1)


def _generate(models: TrainingModels, inputs: StepInputs) -> Tensor:
    features = None
    if models.encoder is not None:
        if inputs.instances is None:
            raise ValueError("the encoder needs instances: StepInputs.instances is None")
        features = models.forward("encoder")(inputs.real, inputs.instances)
    return models.forward("generator")(_with_features(inputs.condition, features))


def _generator_losses(
    models: TrainingModels,
    pred_fake: list,
    pred_real: list,
    fake: Tensor,
    real: Tensor,
    condition: Tensor,
) -> dict[str, Tensor]:
    g_gan = models.gan_loss(pred_fake, True, for_discriminator=False)
    zero = g_gan.new_zeros(())
    g_feat = (
        zero
        if models.feature_matching_loss is None
        else models.feature_matching_loss(pred_fake, pred_real)
    )
    # Under autocast G returns low-precision images; the image losses compare them in the real
    # images' dtype (VGG's convolutions still run in the autocast dtype).
    fake = fake.to(real.dtype)
    g_vgg = zero if models.vgg_loss is None else models.vgg_loss(fake, real)
    losses = {"g_gan": g_gan, "g_feat": g_feat, "g_vgg": g_vgg}
    if models.l1_weight > 0:
        if models.l1_class_balance > 0:
            one_hot = condition[:, : models.num_classes]
            l1 = class_balanced_l1(fake, real, one_hot, models.l1_class_balance)
        else:
            l1 = (fake - real).abs().mean()
        losses["g_l1"] = models.l1_weight * l1
    if models.texture_loss is not None:
        losses["g_texture"] = models.texture_loss(fake, real)
    return losses


def _totals(losses: dict[str, Tensor]) -> dict[str, Tensor]:
    losses["g_total"] = losses["g_gan"] + losses["g_feat"] + losses["g_vgg"]
    for optional in ("g_l1", "g_texture"):
        if optional in losses:
            losses["g_total"] = losses["g_total"] + losses[optional]
    losses["d_total"] = (losses["d_fake"] + losses["d_real"]) * 0.5
    return losses


def _step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)


def _scaled(loss: Tensor, scaler: torch.amp.GradScaler | None) -> Tensor:
    return loss if scaler is None else scaler.scale(loss)


def fused_step(
    models: TrainingModels,
    inputs: StepInputs,
    *,
    fake_pool: FakePool | None = None,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    hooks: StepHooks | None = None,
) -> dict[str, float]:
    """One G update and one D update from one forward, with D run once on the fakes.

    See the module docstring for the math. Parameters with ``requires_grad=False`` (the frozen
    global generator of stage "local") get no gradient and are not updated.

    Args:
        models: Networks, losses and optimizers (the networks in training mode).
        inputs: The batch, from [`prepare_batch`][condgan_blocks.training.prepare_batch].
        fake_pool: A pool of past fakes for the D loss; with ``size > 0`` D makes a separate
            pass on the pooled pairs.
        precision: "fp32", "bf16" or "fp16": the autocast of the forward pass and the losses.
        scaler: The gradient scaler of "fp16".
        hooks: Loss reduction and gradient synchronisation; see
            [`StepHooks`][condgan_blocks.training.StepHooks].

    Returns:
        The losses as floats: ``g_gan``, ``g_feat``, ``g_vgg``, ``d_fake``, ``d_real``,
        ``g_total`` and ``d_total``, and ``g_l1`` and ``g_texture`` when their weights are on.

    Shape:
        - inputs.condition: (N, K(+1), H, W).
        - inputs.real: (N, C, H, W).
        - Output: a dict of Python floats, no tensors.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig, build_models,
        ...                                      prepare_batch)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> _ = torch.manual_seed(0)
        >>> models = build_models(config)
        >>> batch = collate([SyntheticScenes(1, size=(16, 16))[0]])
        >>> inputs = prepare_batch(batch, num_classes=7)
        >>> before = [p.clone() for p in models.discriminator.parameters()]
        >>> losses = fused_step(models, inputs)
        >>> sorted(losses)
        ['d_fake', 'd_real', 'd_total', 'g_feat', 'g_gan', 'g_total', 'g_vgg']
        >>> import math
        >>> d_mean = (losses["d_fake"] + losses["d_real"]) / 2
        >>> losses["g_vgg"], math.isclose(losses["d_total"], d_mean, rel_tol=1e-6)
        (0.0, True)
        >>> any(not torch.equal(a, b) for a, b in zip(before, models.discriminator.parameters()))
        True
    """
    hooks = StepHooks() if hooks is None else hooks
    params_g = _trainable(models.generator_parameters())
    params_d = _trainable(list(models.discriminator.parameters()))
    discriminate = models.forward("discriminator")
    with autocast_context(precision, inputs.real.device):
        fake = _generate(models, inputs)
        pred_fake = discriminate(_pair(inputs.condition, fake))
        pred_real = discriminate(_pair(inputs.condition, inputs.real))
        losses = _generator_losses(
            models, pred_fake, pred_real, fake, inputs.real, inputs.condition
        )
        if fake_pool is None or fake_pool.size == 0:
            pred_fake_d = pred_fake  # shared: the D backward below never leaves D
        else:
            pred_fake_d = discriminate(fake_pool.query(_pair(inputs.condition, fake.detach())))
        losses["d_fake"] = models.gan_loss(pred_fake_d, False)
        losses["d_real"] = models.gan_loss(pred_real, True)
    losses = _totals(losses)
    values = hooks.reduce_losses({k: v.detach() for k, v in losses.items()})
    loss_d, loss_g = losses["d_total"], losses["g_total"]
    # From here only the two totals hold the graph: the D-on-real part, which the G backward
    # does not need, is freed with ``loss_d`` right after the D backward.
    del losses, pred_fake, pred_real, pred_fake_d, fake

    models.optimizer_g.zero_grad(set_to_none=True)
    models.optimizer_d.zero_grad(set_to_none=True)
    # D first: its backward only walks D's part of the graph, which the G backward needs again.
    if params_d:
        torch.autograd.backward(_scaled(loss_d, scaler), inputs=params_d, retain_graph=True)
    del loss_d
    if params_g:
        torch.autograd.backward(_scaled(loss_g, scaler), inputs=params_g)
    del loss_g
    hooks.sync_gradients(params_g + params_d)
    _step(models.optimizer_g, scaler)
    _step(models.optimizer_d, scaler)
    if scaler is not None:
        scaler.update()
    return values


def naive_step(
    models: TrainingModels,
    inputs: StepInputs,
    *,
    fake_pool: FakePool | None = None,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    hooks: StepHooks | None = None,
) -> dict[str, float]:
    """The original's step: D on the (pooled) detached fakes, on the reals, then again on the
    fakes for the G loss; full backwards; G step, then D step.

    Same arguments and result as [`fused_step`][condgan_blocks.training.fused_step]; a reference for
    tests and benchmarks.

    Shape:
        - inputs.condition: (N, K(+1), H, W).
        - inputs.real: (N, C, H, W).
        - Output: a dict of Python floats, no tensors.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes, collate
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig, build_models,
        ...                                      prepare_batch)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> _ = torch.manual_seed(0)
        >>> models = build_models(config)
        >>> batch = collate([SyntheticScenes(1, size=(16, 16))[0]])
        >>> inputs = prepare_batch(batch, num_classes=7)
        >>> losses = naive_step(models, inputs)
        >>> sorted(losses)
        ['d_fake', 'd_real', 'd_total', 'g_feat', 'g_gan', 'g_total', 'g_vgg']
        >>> all(isinstance(value, float) for value in losses.values())
        True
    """
    hooks = StepHooks() if hooks is None else hooks
    discriminate = models.forward("discriminator")
    with autocast_context(precision, inputs.real.device):
        fake = _generate(models, inputs)
        fake_pair = _pair(inputs.condition, fake.detach())
        if fake_pool is not None:
            fake_pair = fake_pool.query(fake_pair)
        pred_fake_pool = discriminate(fake_pair)
        d_fake = models.gan_loss(pred_fake_pool, False)
        pred_real = discriminate(_pair(inputs.condition, inputs.real))
        d_real = models.gan_loss(pred_real, True)
        pred_fake = discriminate(_pair(inputs.condition, fake))
        losses = _generator_losses(
            models, pred_fake, pred_real, fake, inputs.real, inputs.condition
        )
        losses["d_fake"], losses["d_real"] = d_fake, d_real
    losses = _totals(losses)
    values = hooks.reduce_losses({k: v.detach() for k, v in losses.items()})

    params_g = _trainable(models.generator_parameters())
    params_d = _trainable(list(models.discriminator.parameters()))
    models.optimizer_g.zero_grad(set_to_none=True)
    _scaled(losses["g_total"], scaler).backward()
    hooks.sync_gradients(params_g)
    _step(models.optimizer_g, scaler)
    models.optimizer_d.zero_grad(set_to_none=True)  # drops the D gradients of the G loss
    _scaled(losses["d_total"], scaler).backward()
    hooks.sync_gradients(params_d)
    _step(models.optimizer_d, scaler)
    if scaler is not None:
        scaler.update()
    return values
