"""Build G, D, the optional E, the losses and the optimizers from a
[`TrainingConfig`][condgan_blocks.training.TrainingConfig]."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..discriminators.multiscale import MultiscaleDiscriminator
from ..generators.global_generator import GlobalGenerator
from ..generators.local_enhancer import LocalEnhancer
from ..instance.encoder import InstanceFeatureEncoder
from ..layers.initialization import init_weights
from ..losses.adversarial import GANLoss
from ..losses.feature_matching import FeatureMatchingLoss
from ..losses.perceptual import VGGPerceptualLoss
from ..losses.texture import LocalTextureLoss
from .checkpoint import CheckpointError, load_checkpoint, load_module_state
from .config import GENERATOR_FIELDS_ADDED, TrainingConfig, architecture_differences
from .distributed import DistributedContext

logger = logging.getLogger(__name__)

# Fields of the stage-1 checkpoint's config that the grown generator inherits.
_GLOBAL_FIELDS = (
    "base_channels",
    "num_downsamples",
    "num_blocks",
    "norm",
    "padding",
    "upsample",
    "condition_skips",
    "label_modulation",
    "label_modulation_blocks",
)


@dataclass
class TrainingModels:
    """The networks, losses and optimizers of a run.

    ``optimizer_g`` holds the generator's and the encoder's parameters (as the original puts
    ``netE`` into ``optimizer_G``); ``optimizer_d`` the discriminator's. When the config asks
    for ``torch.compile``, `compiled` holds the compiled forwards, which the step calls
    through [`forward`][condgan_blocks.training.TrainingModels.forward]; the modules themselves stay
    uncompiled, so their ``state_dict`` keys do not change.

    Attributes:
        generator: A [`GlobalGenerator`][condgan_blocks.generators.global_generator.GlobalGenerator]
            or [`LocalEnhancer`][condgan_blocks.generators.local_enhancer.LocalEnhancer].
        discriminator: A [`MultiscaleDiscriminator`][condgan_blocks.MultiscaleDiscriminator]
            returning features.
        encoder: An
            [`InstanceFeatureEncoder`][condgan_blocks.instance.encoder.InstanceFeatureEncoder], or
            None.
        gan_loss: The adversarial loss.
        feature_matching_loss: The feature-matching loss, or None when its weight is 0.
        vgg_loss: The VGG loss, or None when its weight is 0.
        optimizer_g: Adam over G's and E's parameters.
        optimizer_d: Adam over D's parameters.
        compiled: Compiled forwards by module name.
        l1_weight: Weight of the L1 distance between generated and real images in the G loss
            (0 leaves it out).
        l1_class_balance: The power of its class balance (0: plain L1; see
            [`class_balanced_l1`][condgan_blocks.losses.class_balance.class_balanced_l1]).
        num_classes: How many leading channels of the condition are one-hot labels (0 for an
            input image: no class balance).
        texture_loss: The [`LocalTextureLoss`][condgan_blocks.LocalTextureLoss] (weighted), or
            None when its weight is 0.

    Examples:
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> models = build_models(config)
        >>> sorted(models.networks()), models.encoder is None
        (['discriminator', 'generator'], True)
        >>> models.forward("generator") is models.generator  # not compiled
        True
        >>> len(models.generator_parameters()) == len(list(models.generator.parameters()))
        True
    """

    generator: GlobalGenerator | LocalEnhancer
    discriminator: MultiscaleDiscriminator
    encoder: InstanceFeatureEncoder | None
    gan_loss: GANLoss
    feature_matching_loss: FeatureMatchingLoss | None
    vgg_loss: VGGPerceptualLoss | None
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    compiled: dict[str, Callable[..., Any]] = field(default_factory=dict)
    l1_weight: float = 0.0
    texture_loss: LocalTextureLoss | None = None
    l1_class_balance: float = 0.0
    num_classes: int = 0

    def networks(self) -> dict[str, nn.Module]:
        """The trained networks by name: generator, discriminator and (if used) encoder."""
        nets: dict[str, nn.Module] = {
            "generator": self.generator,
            "discriminator": self.discriminator,
        }
        if self.encoder is not None:
            nets["encoder"] = self.encoder
        return nets

    def forward(self, name: str) -> Callable[..., Any]:
        """The callable that runs network ``name``: its compiled form if any, else the module."""
        return self.compiled.get(name, self.networks()[name])

    def generator_parameters(self) -> list[nn.Parameter]:
        """G's parameters followed by E's: what ``optimizer_g`` holds."""
        params = list(self.generator.parameters())
        if self.encoder is not None:
            params += list(self.encoder.parameters())
        return params

    def train(self, mode: bool = True) -> None:
        """Put the networks in training (or eval) mode."""
        for net in self.networks().values():
            net.train(mode)


_FUSED_DEVICES = ("cpu", "cuda")


def adam(params: list[nn.Parameter], *, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam over ``params``, with the fused implementation where torch has one for the device.

    The fused update is the same Adam (the same gradients, the same formula; results agree to
    float rounding) in one kernel over all tensors. On a CPU the default loop costs a real
    share of a step: on 2 cores, 11M parameters took 4.8 s per update against 0.8 s fused (a
    loaded machine; the ratio is what counts). Where fused Adam is missing (torch < 2.4 on
    CPU, other devices), the default implementation is used.

    Args:
        params: The parameters, all on one device.
        lr: Learning rate.
        betas: Adam's two betas.

    Returns:
        The optimizer.

    Examples:
        >>> net = nn.Linear(4, 2)
        >>> optimizer = adam(list(net.parameters()), lr=2e-4, betas=(0.5, 0.999))
        >>> optimizer.param_groups[0]["fused"] in (True, None)
        True
    """
    devices = {p.device.type for p in params}
    floating = all(p.dtype in (torch.float32, torch.float16, torch.bfloat16) for p in params)
    if params and floating and len(devices) == 1 and devices <= set(_FUSED_DEVICES):
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel in this torch build
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas)


def _global_generator(config: TrainingConfig) -> GlobalGenerator:
    # In: the condition (one-hot labels or the input image, + boundary, + features); out: the
    # image channels, whatever the input has.
    g = config.generator
    return GlobalGenerator(
        config.generator_in_channels,
        config.image_channels,
        base_channels=g.base_channels,
        num_downsamples=g.num_downsamples,
        num_blocks=g.num_blocks,
        norm=g.norm,
        padding=g.padding,
        upsample=g.upsample,
        condition_skips=g.condition_skips,
        label_modulation=g.label_modulation,
        label_modulation_blocks=g.label_modulation_blocks,
        checkpoint_activations=g.checkpoint_activations,
    )


def _check_stage_one(config: TrainingConfig, checkpoint: dict[str, Any], path: object) -> None:
    saved = checkpoint["config"]
    if saved.get("stage") != "global":
        raise CheckpointError(
            f"global_checkpoint {path} is a stage {saved.get('stage')!r} checkpoint; stage "
            "'local' starts from a stage 'global' checkpoint"
        )
    ours = config.architecture()
    keys = ("num_classes", "image_channels", "input_channels", "use_instances", "encoder")
    first = {k: saved.get(k) for k in keys}
    second = {k: ours[k] for k in keys}
    saved_generator = {**GENERATOR_FIELDS_ADDED, **saved.get("generator", {})}
    first["generator"] = {k: saved_generator.get(k) for k in _GLOBAL_FIELDS}
    second["generator"] = {k: ours["generator"][k] for k in _GLOBAL_FIELDS}
    differences = architecture_differences(first, second)
    if differences:
        raise CheckpointError(
            f"global_checkpoint {path} was trained with another architecture (checkpoint vs "
            f"config): {'; '.join(differences)}"
        )


def _load_matching(module: nn.Module, state: dict[str, Any]) -> tuple[int, list[str]]:
    """Load the entries of ``state`` whose key and shape match; return (count, skipped keys)."""
    ours = module.state_dict()
    matching = {
        k: v
        for k, v in state.items()
        if k in ours and isinstance(v, torch.Tensor) and v.shape == ours[k].shape
    }
    module.load_state_dict(matching, strict=False)
    return len(matching), sorted(set(ours) - set(matching))


def _local_generator(
    config: TrainingConfig, stage_one: dict[str, Any] | None, path: object
) -> LocalEnhancer:
    global_generator = _global_generator(config)
    if stage_one is not None:
        load_module_state(
            global_generator, stage_one["models"]["generator"], "stage-1 generator", path
        )
    g = config.generator
    generator = LocalEnhancer.from_global(
        global_generator,
        num_enhancers=g.num_enhancers,
        base_channels=g.local_base_channels,
        num_blocks_local=g.num_blocks_local,
    )
    init_weights(generator.stages, std=config.init_std)
    init_weights(generator.bridge, std=config.init_std)
    generator.checkpoint_activations = g.checkpoint_activations
    return generator


def build_models(
    config: TrainingConfig, *, device: torch.device | str | None = None, load_global: bool = True
) -> TrainingModels:
    """Build the networks with ``init_weights``, the losses and the two Adam optimizers.

    Weights are drawn from the global torch random state: seed it first for a reproducible run
    ([`build_training`][condgan_blocks.training.build_training] does). Stage "local" reads
    ``config.global_checkpoint`` (when ``load_global``): its generator becomes the global
    generator of a [`LocalEnhancer`][condgan_blocks.generators.local_enhancer.LocalEnhancer]
    (``from_global``), and, as in the original, the discriminator and encoder entries that match in
    key and shape are loaded too.

    Args:
        config: The run's configuration.
        device: Where to build; defaults to ``config.device``.
        load_global: Read the stage-1 checkpoint in stage "local". Pass False when the weights
            come from a checkpoint of this run anyway (resuming).

    Returns:
        A [`TrainingModels`][condgan_blocks.training.TrainingModels].

    Raises:
        ValueError: If stage "local" has no ``global_checkpoint`` while ``load_global``.
        CheckpointError: If the stage-1 checkpoint does not fit the configuration.

    Examples:
        >>> from condgan_blocks.training import (DiscriminatorConfig, GeneratorConfig,
        ...                                      LossConfig, TrainingConfig)
        >>> config = TrainingConfig(
        ...     num_classes=7,
        ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1),
        ...     discriminator=DiscriminatorConfig(base_channels=4, num_scales=1),
        ...     losses=LossConfig(vgg_weight=0.0))
        >>> models = build_models(config)
        >>> type(models.generator).__name__, models.vgg_loss is None
        ('GlobalGenerator', True)
        >>> models.optimizer_g.defaults["lr"], models.optimizer_g.defaults["betas"]
        (0.0002, (0.5, 0.999))
    """
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, got {type(config).__name__}")
    device = torch.device(config.device if device is None else device)
    dtype = getattr(torch, config.param_dtype)
    stage_one = None
    if config.stage == "local" and load_global:
        if config.global_checkpoint is None:
            raise ValueError(
                "stage='local' needs global_checkpoint, the stage-1 checkpoint to grow from"
            )
        stage_one = load_checkpoint(config.global_checkpoint)
        _check_stage_one(config, stage_one, config.global_checkpoint)

    if config.stage == "global":
        generator = init_weights(_global_generator(config), std=config.init_std)
    else:
        generator = _local_generator(config, stage_one, config.global_checkpoint)
    d = config.discriminator
    discriminator = init_weights(
        MultiscaleDiscriminator(
            config.discriminator_in_channels,
            num_scales=d.num_scales,
            base_channels=d.base_channels,
            num_layers=d.num_layers,
            norm=d.norm,
            return_features=True,
            spectral_norm=d.spectral_norm,
        ),
        std=config.init_std,
    )
    encoder = None
    if config.encoder is not None:
        e = config.encoder
        encoder = init_weights(
            InstanceFeatureEncoder(
                config.image_channels,
                e.feature_channels,
                base_channels=e.base_channels,
                num_downsamples=e.num_downsamples,
                norm=e.norm,
            ),
            std=config.init_std,
        )
    if stage_one is not None:
        loaded, skipped = _load_matching(discriminator, stage_one["models"]["discriminator"])
        if DistributedContext.current().is_main:
            logger.info("stage 1 discriminator: loaded %d entries, %d new", loaded, len(skipped))
        if encoder is not None and stage_one["models"].get("encoder") is not None:
            load_module_state(encoder, stage_one["models"]["encoder"], "encoder", "stage 1")

    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    nets = [net for net in (generator, discriminator, encoder) if net is not None]
    for net in nets:
        net.to(device=device, dtype=dtype, memory_format=memory_format)

    losses = config.losses
    feature_matching = (
        FeatureMatchingLoss(losses.feature_matching_weight)
        if losses.feature_matching_weight > 0
        else None
    )
    vgg = None
    if losses.vgg_weight > 0:
        vgg = VGGPerceptualLoss(
            losses.vgg_weight,
            weights=losses.vgg_weights,
            normalize=None if losses.vgg_normalize == "none" else "imagenet",
            batched=losses.vgg_batched,
        ).to(device=device, dtype=dtype, memory_format=memory_format)

    opt = config.optimizer
    params_g = list(generator.parameters())
    if encoder is not None:
        params_g += list(encoder.parameters())
    optimizer_g = adam(params_g, lr=opt.lr, betas=(opt.beta1, opt.beta2))
    optimizer_d = adam(
        list(discriminator.parameters()), lr=opt.discriminator_lr, betas=(opt.beta1, opt.beta2)
    )
    models = TrainingModels(
        generator,
        discriminator,
        encoder,
        GANLoss(losses.gan_mode),
        feature_matching,
        vgg,
        optimizer_g,
        optimizer_d,
        l1_weight=losses.l1_weight,
        texture_loss=(
            LocalTextureLoss(losses.texture_weight, window=losses.texture_window)
            if losses.texture_weight > 0
            else None
        ),
        l1_class_balance=losses.l1_class_balance if config.num_classes > 0 else 0.0,
        num_classes=config.num_classes,
    )
    if config.compile:
        models.compiled = {
            name: torch.compile(net, backend=config.compile_backend)
            for name, net in models.networks().items()
        }
    return models
