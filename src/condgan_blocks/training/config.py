"""The training configuration: plain dataclasses that round-trip through a dict and JSON.

Every field holds a plain value (int, float, bool, str or None), so ``config.to_dict()`` goes
into a checkpoint that ``torch.load(weights_only=True)`` reads back, and into a JSON file.
Every field is checked when the dataclass is created: a wrong kind raises ``TypeError``, a bad
value ``ValueError``, both naming the field (``generator.base_channels``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from .._checks import check_bool, check_number, check_positive_int
from ..layers._factory import NORMS, PADDINGS, check_choice
from ..layers._groups import UPSAMPLES
from ..layers.label_modulation import check_label_modulation, check_modulated_blocks
from ..losses.adversarial import GAN_MODES
from ..losses.class_balance import check_balance_power
from .overrides import apply_overrides, check_config_key, parse_override
from .precision import PRECISIONS

STAGES = ("global", "local")
MAX_SEED = 2**63  # seeds are in [0, MAX_SEED)
PARAM_DTYPES = ("float32", "float64")
VGG_NORMALIZATIONS = ("imagenet", "none")


def _check_optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None, got {type(value).__name__} {value!r}")


class _Section:
    """Shared dict conversion for the config dataclasses."""

    _prefix: ClassVar[str] = ""

    def _name(self, field_name: str) -> str:
        return f"{self._prefix}.{field_name}" if self._prefix else field_name

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict of plain values (nested sections become nested dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """Build from a dict as written by `to_dict`; unknown keys are a ValueError."""
        if not isinstance(values, dict):
            raise TypeError(f"{cls.__name__} needs a dict, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            where = f" in {cls._prefix!r}" if cls._prefix else ""
            raise ValueError(f"unknown config keys{where}: {unknown}; known keys: {sorted(known)}")
        return cls(**values)


@dataclass
class GeneratorConfig(_Section):
    """The generator. Stage "global" builds G1 from the first fields; stage "local" grows it
    with ``num_enhancers`` enhancers
    ([`LocalEnhancer`][condgan_blocks.LocalEnhancer]'s ``from_global``).

    Args:
        base_channels: Width of G1 (``ngf``).
        num_downsamples: Downsamplings of G1 (``n_downsample_global``).
        num_blocks: Residual blocks of G1 (``n_blocks_global``).
        norm: "instance", "batch" or "none".
        padding: Padding of the residual blocks.
        upsample: How G1 and the enhancers upsample: "transposed" (the original's transposed
            convolutions, so its checkpoints load) or "resize" (nearest-neighbour 2x upsampling
            then a 3x3 convolution, free of checkerboard artefacts); see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator].
        condition_skips: Feed the condition, average-pooled, to every upsampling and to the
            head of G1 and the enhancers (see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator]); False, the original's layout,
            by default. The demo and folder presets turn it on.
        label_modulation: Hidden channels of a label-modulated norm (SPADE,
            [`LabelModulatedNorm`][condgan_blocks.LabelModulatedNorm]) in every upsampling of
            G1 and the enhancers; 0 (off, the original's layout) by default. Needs a norm.
        label_modulation_blocks: Modulate the second norm of every residual block of G1 and
            the enhancers too (``label_modulation`` hidden channels); False, the original's
            layout, by default. The demo and folder presets turn it on.
        num_enhancers: Local enhancers added in stage "local" (``n_local_enhancers``).
        local_base_channels: Width of the finest enhancer; None gives
            ``base_channels // 2 ** num_enhancers``, the original's layout.
        num_blocks_local: Residual blocks per enhancer (``n_blocks_local``).
        checkpoint_activations: Recompute residual-block activations in backward.

    Examples:
        >>> generator = GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1)
        >>> generator.to_dict()["num_blocks"], generator.norm
        (1, 'instance')
        >>> GeneratorConfig.from_dict(generator.to_dict()) == generator
        True
        >>> GeneratorConfig(norm="layer")
        Traceback (most recent call last):
        ...
        ValueError: generator.norm must be one of ('batch', 'instance', 'none'), got 'layer'
    """

    _prefix: ClassVar[str] = "generator"

    base_channels: int = 64
    num_downsamples: int = 4
    num_blocks: int = 9
    norm: str = "instance"
    padding: str = "reflect"
    upsample: str = "transposed"
    condition_skips: bool = False
    label_modulation: int = 0
    label_modulation_blocks: bool = False
    num_enhancers: int = 1
    local_base_channels: int | None = None
    num_blocks_local: int = 3
    checkpoint_activations: bool = False

    def __post_init__(self) -> None:
        check_positive_int(self._name("base_channels"), self.base_channels, minimum=1)
        check_positive_int(self._name("num_downsamples"), self.num_downsamples, minimum=0)
        check_positive_int(self._name("num_blocks"), self.num_blocks, minimum=0)
        check_choice(self._name("norm"), self.norm, NORMS)
        check_choice(self._name("padding"), self.padding, PADDINGS)
        check_choice(self._name("upsample"), self.upsample, UPSAMPLES)
        check_bool(self._name("condition_skips"), self.condition_skips)
        check_label_modulation(
            self.label_modulation,
            self.norm,
            name=self._name("label_modulation"),
            norm_name=self._name("norm"),
        )
        check_modulated_blocks(
            self.label_modulation_blocks,
            self.label_modulation,
            name=self._name("label_modulation"),
            flag_name=self._name("label_modulation_blocks"),
        )
        check_positive_int(self._name("num_enhancers"), self.num_enhancers, minimum=1)
        if self.local_base_channels is not None:
            check_positive_int(
                self._name("local_base_channels"), self.local_base_channels, minimum=1
            )
        check_positive_int(self._name("num_blocks_local"), self.num_blocks_local, minimum=0)
        check_bool(self._name("checkpoint_activations"), self.checkpoint_activations)


@dataclass
class DiscriminatorConfig(_Section):
    """The multi-scale discriminator.

    Args:
        base_channels: Channels of the first layer (``ndf``).
        num_scales: Number of discriminators (``num_D``).
        num_layers: Strided layers per discriminator (``n_layers_D``).
        norm: "instance", "batch" or "none".
        spectral_norm: Wrap every convolution in spectral normalisation.

    Examples:
        >>> discriminator = DiscriminatorConfig(base_channels=4, num_scales=1)
        >>> sorted(discriminator.to_dict())
        ['base_channels', 'norm', 'num_layers', 'num_scales', 'spectral_norm']
        >>> discriminator.num_layers, discriminator.spectral_norm
        (3, False)
    """

    _prefix: ClassVar[str] = "discriminator"

    base_channels: int = 64
    num_scales: int = 2
    num_layers: int = 3
    norm: str = "instance"
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        check_positive_int(self._name("base_channels"), self.base_channels, minimum=1)
        check_positive_int(self._name("num_scales"), self.num_scales, minimum=1)
        check_positive_int(self._name("num_layers"), self.num_layers, minimum=1)
        check_choice(self._name("norm"), self.norm, NORMS)
        check_bool(self._name("spectral_norm"), self.spectral_norm)


@dataclass
class EncoderConfig(_Section):
    """The instance feature encoder E (``instance_feat`` in the original), trained with G.

    Args:
        feature_channels: Channels of the feature map fed to G (``feat_num``).
        base_channels: Channels after the stem (``nef``).
        num_downsamples: Downsamplings (``n_downsample_E``).
        norm: "instance", "batch" or "none".

    Examples:
        >>> config = TrainingConfig(num_classes=7, encoder=EncoderConfig(feature_channels=3))
        >>> config.condition_channels, config.generator_in_channels
        (8, 11)
        >>> EncoderConfig.from_dict({"feature_channels": 2}).to_dict()
        {'feature_channels': 2, 'base_channels': 16, 'num_downsamples': 4, 'norm': 'instance'}
    """

    _prefix: ClassVar[str] = "encoder"

    feature_channels: int = 3
    base_channels: int = 16
    num_downsamples: int = 4
    norm: str = "instance"

    def __post_init__(self) -> None:
        check_positive_int(self._name("feature_channels"), self.feature_channels, minimum=1)
        check_positive_int(self._name("base_channels"), self.base_channels, minimum=1)
        check_positive_int(self._name("num_downsamples"), self.num_downsamples, minimum=0)
        check_choice(self._name("norm"), self.norm, NORMS)


@dataclass
class LossConfig(_Section):
    """The losses; a weight of 0 leaves that loss out.

    Args:
        gan_mode: "lsgan" (the paper), "vanilla" or "hinge".
        feature_matching_weight: ``lambda_feat`` of the discriminator feature-matching loss.
        vgg_weight: ``lambda_feat`` of the VGG loss.
        vgg_weights: "imagenet" (torch hub cache), a path to torchvision's VGG19 file, or None
            for random weights (tests and benchmarks only).
        vgg_normalize: "imagenet" normalises [-1, 1] images for VGG; "none" feeds them as the
            original does.
        vgg_batched: One VGG pass over fake and real together, or two passes (the default):
            the fake with gradients, the real under ``no_grad``. Two passes compute no input
            gradients for the real half, so they take less time and memory: measured on a
            2-core CPU at 512x1024, 7.7 s and 1010 MiB saved for backward against 11.2 s and
            1776 MiB, and the whole default step at 256x512 0.94x the original's time against
            1.17x batched. Gradients are the same.
        l1_weight: Weight of an L1 distance between the generated and the real image in the G
            loss (pix2pix's reconstruction term; 0, as in pix2pixHD, leaves it out). It needs
            no pretrained weights, so it is the demo's offline stand-in for the VGG loss: see
            the quality page for what it does to colour noise and small objects. When on, the
            step reports it as ``g_l1``.
        l1_class_balance: Weights the L1 term's pixels by the batch frequency of their input
            class to the power ``-l1_class_balance``
            ([`class_balanced_l1`][condgan_blocks.losses.class_balance.class_balanced_l1]), in
            [0, 1]; 0, the default, is the plain L1 distance. Rare classes (persons,
            sidewalks) then weigh more against road and sky; the weights come from the input
            label map, not from a segmenter. Image-to-image training (``num_classes=0``) has no
            classes: its L1 term stays plain.
        texture_weight: Weight of [`LocalTextureLoss`][condgan_blocks.LocalTextureLoss] in the G
            loss: how much fine detail each small window holds, on the luminance and the chroma,
            compared with the real image (0, as in pix2pixHD, leaves it out). Offline like the
            L1 term; it lowers colour speckle. Reported as ``g_texture``.
        texture_window: Its cell size in pixels.

    Examples:
        >>> losses = LossConfig(vgg_weight=0)  # no VGG loss, no VGG weights to load
        >>> losses.vgg_weight, losses.gan_mode
        (0.0, 'lsgan')
        >>> LossConfig(gan_mode="wgan")
        Traceback (most recent call last):
        ...
        ValueError: losses.gan_mode must be one of ('hinge', 'lsgan', 'vanilla'), got 'wgan'
    """

    _prefix: ClassVar[str] = "losses"

    gan_mode: str = "lsgan"
    feature_matching_weight: float = 10.0
    vgg_weight: float = 10.0
    vgg_weights: str | None = "imagenet"
    vgg_normalize: str = "imagenet"
    vgg_batched: bool = False
    l1_weight: float = 0.0
    l1_class_balance: float = 0.0
    texture_weight: float = 0.0
    texture_window: int = 4

    def __post_init__(self) -> None:
        check_choice(self._name("gan_mode"), self.gan_mode, GAN_MODES)
        self.feature_matching_weight = check_number(
            self._name("feature_matching_weight"), self.feature_matching_weight, minimum=0.0
        )
        self.vgg_weight = check_number(self._name("vgg_weight"), self.vgg_weight, minimum=0.0)
        _check_optional_str(self._name("vgg_weights"), self.vgg_weights)
        check_choice(self._name("vgg_normalize"), self.vgg_normalize, VGG_NORMALIZATIONS)
        check_bool(self._name("vgg_batched"), self.vgg_batched)
        self.l1_weight = check_number(self._name("l1_weight"), self.l1_weight, minimum=0.0)
        self.l1_class_balance = check_balance_power(
            self._name("l1_class_balance"), self.l1_class_balance
        )
        self.texture_weight = check_number(
            self._name("texture_weight"), self.texture_weight, minimum=0.0
        )
        check_positive_int(self._name("texture_window"), self.texture_window)


@dataclass
class OptimizerConfig(_Section):
    """Adam for G (with E) and for D, as in the paper.

    Args:
        lr: Initial learning rate of G's optimizer (and of D's when ``d_lr`` is None).
        beta1: Adam's first beta.
        beta2: Adam's second beta.
        d_lr: Initial learning rate of D's optimizer; None: ``lr``, as in the paper. A
            two-timescale rule (TTUR, Heusel et al. 2017) gives D a larger rate than G.
            Both follow the same schedule.

    Examples:
        >>> OptimizerConfig(lr=1e-3).to_dict()
        {'lr': 0.001, 'beta1': 0.5, 'beta2': 0.999, 'd_lr': None}
        >>> OptimizerConfig(lr=1e-4, d_lr=4e-4).discriminator_lr
        0.0004
        >>> OptimizerConfig(beta1=1.0)
        Traceback (most recent call last):
        ...
        ValueError: optimizer.beta1 must be < 1.0, got 1.0
    """

    _prefix: ClassVar[str] = "optimizer"

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_lr: float | None = None

    def __post_init__(self) -> None:
        self.lr = check_number(self._name("lr"), self.lr, minimum=0.0)
        if self.lr == 0:
            raise ValueError(f"{self._name('lr')} must be > 0, got 0.0")
        if self.d_lr is not None:
            self.d_lr = check_number(self._name("d_lr"), self.d_lr, minimum=0.0)
            if self.d_lr == 0:
                raise ValueError(f"{self._name('d_lr')} must be > 0 or None, got 0.0")
        self.beta1 = check_number(self._name("beta1"), self.beta1, minimum=0.0, below=1.0)
        self.beta2 = check_number(self._name("beta2"), self.beta2, minimum=0.0, below=1.0)

    @property
    def discriminator_lr(self) -> float:
        """D's initial learning rate: ``d_lr``, or ``lr`` when it is None."""
        return self.lr if self.d_lr is None else self.d_lr


_ENHANCER_KEYS = ("num_enhancers", "local_base_channels", "num_blocks_local")
# Generator fields added after the first release, with the value that reproduces the networks of
# a checkpoint written before them.
GENERATOR_FIELDS_ADDED = {
    "upsample": "transposed",
    "condition_skips": False,
    "label_modulation": 0,
    "label_modulation_blocks": False,
}
# Fields that fix the shapes of the networks: a checkpoint must agree on all of them.
ARCHITECTURE_KEYS = (
    "num_classes",
    "image_channels",
    "input_channels",
    "use_instances",
    "stage",
    "generator",
    "discriminator",
    "encoder",
)


@dataclass
class TrainingConfig(_Section):
    """Everything [`build_training`][condgan_blocks.training.build_training] needs.

    Args:
        num_classes: Semantic classes K of the label maps; 0 trains image to image (the
            original's ``--label_nc 0``): G and D are then conditioned on the batch's
            ``input`` image itself, of ``input_channels`` channels, with no one-hot encoding.
        image_channels: Channels of the images G makes and D judges (``--output_nc``).
        input_channels: Channels C_in of the input images with ``num_classes=0``
            (``--input_nc``); must be None with label maps.
        use_instances: Feed the instance boundary map to G and D (with ``num_classes=0`` too,
            when the data has instance maps).
        ignore_index: A label id whose pixels get an all-zero one-hot vector (label maps only).
        stage: "global" trains G1 alone; "local" grows a stage-1 checkpoint into a
            [`LocalEnhancer`][condgan_blocks.generators.local_enhancer.LocalEnhancer].
        global_checkpoint: The stage-1 checkpoint (a file, or a run folder holding
            ``latest.pt``); needed by stage "local" unless resuming.
        freeze_global_epochs: Stage "local" trains only the finest enhancer (and E) for this many
            epochs, then everything (``niter_fix_global``).
        generator: See [`GeneratorConfig`][condgan_blocks.training.GeneratorConfig].
        discriminator: See [`DiscriminatorConfig`][condgan_blocks.training.DiscriminatorConfig].
        encoder: See [`EncoderConfig`][condgan_blocks.training.EncoderConfig]; None trains no
            encoder. Needs label maps (the feature bank clusters features per class): refused with
            ``num_classes=0``.
        losses: See [`LossConfig`][condgan_blocks.training.LossConfig].
        optimizer: See [`OptimizerConfig`][condgan_blocks.training.OptimizerConfig].
        epochs: Epochs at the initial learning rate (``niter``).
        decay_epochs: Epochs of linear decay to 0 (``niter_decay``).
        batch_size: Samples per step and process.
        num_workers: DataLoader worker processes.
        drop_last: Drop the last incomplete batch of an epoch.
        shuffle: Shuffle the samples every epoch (seeded by ``seed`` and the epoch).
        pool_size: Fake-image pool for the discriminator (0: off, the fused single D pass).
        ema_decay: Decay of an exponential moving average of G's weights; None: no EMA.
        precision: "fp32", "bf16" (autocast), "fp16" (autocast and a gradient scaler, CUDA) or
            "auto": bf16 where the device computes it in hardware, fp32 elsewhere (see
            [`resolve_precision`][condgan_blocks.training.resolve_precision]; the run
            records "auto", each process resolves it on its own device).
        param_dtype: Dtype of the weights, "float32" or "float64" (for exact comparisons).
        channels_last: Use the channels-last memory format.
        compile: Wrap G, D and E with ``torch.compile`` (the compiled backward of D may
            compute D's weight gradients in the G backward anyway; results are the same).
        compile_backend: The ``torch.compile`` backend, e.g. "inductor" or "aot_eager".
        device: Device of the run, e.g. "cpu", "cuda", "cuda:1"; under ``torchrun`` "cuda"
            means this process's ``LOCAL_RANK`` GPU.
        seed: Seed of the weights, the data order and every random draw, in [0, 2**63).
        output_dir: Where checkpoints go; None saves nothing.
        save_every_steps: Also save ``latest.pt`` every this many steps (0: only per epoch).
        keep_last: Keep only the last N per-epoch checkpoints; None keeps all.
        log_every_steps: Log the losses every this many steps (0: never).
        init_std: Standard deviation of the N(0, std) weight initialisation.

    Examples:
        >>> config = TrainingConfig(num_classes=7, generator=GeneratorConfig(base_channels=8))
        >>> TrainingConfig.from_dict(config.to_dict()) == config
        True
        >>> TrainingConfig(num_classes=7, precision="fp8")
        Traceback (most recent call last):
        ...
        ValueError: precision must be one of ('auto', 'bf16', 'fp16', 'fp32'), got 'fp8'

        Image to image: a 1-channel input conditions G and D, G makes 3 channels.

        >>> config = TrainingConfig(num_classes=0, input_channels=1, use_instances=False)
        >>> config.condition_channels, config.discriminator_in_channels
        (1, 4)
    """

    num_classes: int
    image_channels: int = 3
    input_channels: int | None = None
    use_instances: bool = True
    ignore_index: int | None = None
    stage: str = "global"
    global_checkpoint: str | None = None
    freeze_global_epochs: int = 0
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    encoder: EncoderConfig | None = None
    losses: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    epochs: int = 100
    decay_epochs: int = 100
    batch_size: int = 1
    num_workers: int = 0
    drop_last: bool = False
    shuffle: bool = True
    pool_size: int = 0
    ema_decay: float | None = None
    precision: str = "fp32"
    param_dtype: str = "float32"
    channels_last: bool = False
    compile: bool = False
    compile_backend: str = "inductor"
    device: str = "cpu"
    seed: int = 0
    output_dir: str | None = None
    save_every_steps: int = 0
    keep_last: int | None = None
    log_every_steps: int = 100
    init_std: float = 0.02

    def __post_init__(self) -> None:
        check_positive_int("num_classes", self.num_classes, minimum=0)
        check_positive_int("image_channels", self.image_channels, minimum=1)
        if self.input_channels is not None:
            check_positive_int("input_channels", self.input_channels, minimum=1)
        check_bool("use_instances", self.use_instances)
        if self.ignore_index is not None:
            check_positive_int("ignore_index", self.ignore_index, minimum=None)
        check_choice("stage", self.stage, STAGES)
        _check_optional_str("global_checkpoint", self.global_checkpoint)
        if self.stage == "global" and self.global_checkpoint is not None:
            raise ValueError(
                "global_checkpoint is only used with stage='local', got stage='global'"
            )
        check_positive_int("freeze_global_epochs", self.freeze_global_epochs, minimum=0)
        for name, kind in (
            ("generator", GeneratorConfig),
            ("discriminator", DiscriminatorConfig),
            ("losses", LossConfig),
            ("optimizer", OptimizerConfig),
        ):
            self._check_section(name, kind, optional=False)
        self._check_section("encoder", EncoderConfig, optional=True)
        self._check_image_input()
        check_positive_int("epochs", self.epochs, minimum=0)
        check_positive_int("decay_epochs", self.decay_epochs, minimum=0)
        if self.epochs + self.decay_epochs == 0:
            raise ValueError("epochs + decay_epochs must be >= 1, got 0 and 0")
        check_positive_int("batch_size", self.batch_size, minimum=1)
        check_positive_int("num_workers", self.num_workers, minimum=0)
        check_bool("drop_last", self.drop_last)
        check_bool("shuffle", self.shuffle)
        check_positive_int("pool_size", self.pool_size, minimum=0)
        if self.ema_decay is not None:
            self.ema_decay = check_number("ema_decay", self.ema_decay, minimum=0.0, below=1.0)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("param_dtype", self.param_dtype, PARAM_DTYPES)
        check_bool("channels_last", self.channels_last)
        check_bool("compile", self.compile)
        if not isinstance(self.compile_backend, str) or not self.compile_backend:
            raise TypeError(
                f"compile_backend must be a non-empty string, got {self.compile_backend!r}"
            )
        self._check_device()
        check_positive_int("seed", self.seed, minimum=0)
        if self.seed >= MAX_SEED:
            raise ValueError(
                f"seed must be < 2**63 (torch generators take 64-bit seeds, and each epoch "
                f"seeds with seed + epoch), got {self.seed}"
            )
        _check_optional_str("output_dir", self.output_dir)
        check_positive_int("save_every_steps", self.save_every_steps, minimum=0)
        if self.keep_last is not None:
            check_positive_int("keep_last", self.keep_last, minimum=1)
        check_positive_int("log_every_steps", self.log_every_steps, minimum=0)
        self.init_std = check_number("init_std", self.init_std, minimum=0.0)
        if self.init_std == 0:
            raise ValueError("init_std must be > 0, got 0.0")

    def _check_section(self, name: str, kind: type, *, optional: bool) -> None:
        value = getattr(self, name)
        if value is None and optional:
            return
        if isinstance(value, dict):
            value = kind.from_dict(value)
            setattr(self, name, value)
        if not isinstance(value, kind):
            allowed = f"a {kind.__name__}{', None' if optional else ''} or a dict"
            raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")

    def _check_image_input(self) -> None:
        """The fields that depend on labels (num_classes >= 1) or an input image (0)."""
        if self.num_classes > 0:
            if self.input_channels is not None:
                raise ValueError(
                    f"input_channels is only used with num_classes=0 (image input); with "
                    f"num_classes={self.num_classes} the input is the one-hot label map, got "
                    f"input_channels={self.input_channels} (leave it None)"
                )
            return
        if self.input_channels is None:
            raise ValueError(
                "num_classes=0 (image-to-image training: the input is an image) needs "
                "input_channels, the channel count of the input images; got None"
            )
        if self.encoder is not None:
            raise ValueError(
                "encoder (instance features) needs label maps: the feature bank clusters "
                "features per class, and num_classes=0 (image input) has no classes; set "
                "encoder=None"
            )
        if self.ignore_index is not None:
            raise ValueError(
                f"ignore_index is a label id, and num_classes=0 (image input) has no labels; "
                f"got ignore_index={self.ignore_index} (leave it None)"
            )

    def _check_device(self) -> None:
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {self.device!r}")
        try:
            device = torch.device(self.device)
        except RuntimeError as error:
            raise ValueError(
                f"device {self.device!r} is not a valid torch device: {error}"
            ) from None
        if self.precision == "fp16" and device.type != "cuda":
            raise ValueError(
                f"precision='fp16' needs a CUDA device (autocast + GradScaler), got device="
                f"{self.device!r}; use precision='auto', 'bf16' or 'fp32' on {device.type}"
            )

    @property
    def total_epochs(self) -> int:
        """``epochs + decay_epochs``: the length of the run."""
        return self.epochs + self.decay_epochs

    @property
    def image_input(self) -> bool:
        """True for image-to-image training (``num_classes == 0``): the input is an image."""
        return self.num_classes == 0

    @property
    def condition_channels(self) -> int:
        """Channels of the input both networks see: one-hot classes, or the input image's
        ``input_channels`` with ``num_classes=0`` (+ the boundary map)."""
        base = self.input_channels if self.image_input else self.num_classes
        return base + int(self.use_instances)

    @property
    def generator_in_channels(self) -> int:
        """Input channels of G: the condition plus the encoder's features."""
        features = 0 if self.encoder is None else self.encoder.feature_channels
        return self.condition_channels + features

    @property
    def discriminator_in_channels(self) -> int:
        """Input channels of D: the condition and the image."""
        return self.condition_channels + self.image_channels

    def architecture(self) -> dict[str, Any]:
        """The fields that fix the networks' shapes, as plain values; see
        `architecture_of`."""
        return architecture_of(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        """Build from [`to_dict`][condgan_blocks.training.TrainingConfig.to_dict] output (nested
        dicts become the section dataclasses).

        Raises:
            ValueError: For unknown keys (at any level) or bad values.
            TypeError: For values of the wrong kind.
        """
        return super().from_dict(values)

    @classmethod
    def parse_override(cls, text: str) -> tuple[tuple[str, ...], Any]:
        """Read one ``KEY=VALUE`` override of a field, e.g. from ``--set`` on a command line.

        The key is a field or a dotted path into a section (``generator.num_blocks``) and must
        exist; the value is read as JSON when it parses, else kept as a string (see
        [`parse_override`][condgan_blocks.training.parse_override]). Values are checked when
        the config is built.

        Returns:
            ``(path, value)``: the key path as a tuple of names and the parsed value.

        Raises:
            ValueError: No ``=``, or an unknown key (the message lists the valid keys).

        Examples:
            >>> TrainingConfig.parse_override("generator.num_blocks=6")
            (('generator', 'num_blocks'), 6)
            >>> TrainingConfig.parse_override("epoch=3")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            ValueError: unknown config key 'epoch'; valid keys: [...'epochs'...]
        """
        path, value = parse_override(text)
        check_config_key(cls, path)
        return path, value

    def with_overrides(
        self, overrides: Iterable[str | tuple[Sequence[str], Any]]
    ) -> TrainingConfig:
        """A copy with overrides applied in order (this config is not changed).

        Args:
            overrides: ``"KEY=VALUE"`` strings (see
                [`parse_override`][condgan_blocks.training.TrainingConfig.parse_override]) or
                ``(path, value)`` pairs; ``encoder.feature_channels=3`` adds an encoder to a
                config without one, ``encoder=null`` removes it.

        Returns:
            The new, fully checked config.

        Raises:
            ValueError: An unknown key or a bad value, naming the field.
            TypeError: A value of the wrong kind.

        Examples:
            >>> config = TrainingConfig(num_classes=7)
            >>> new = config.with_overrides(["epochs=3", "generator.num_blocks=6"])
            >>> new.epochs, new.generator.num_blocks, config.generator.num_blocks
            (3, 6, 9)
            >>> config.with_overrides(["generator.num_blocks=-1"])
            Traceback (most recent call last):
            ...
            ValueError: generator.num_blocks must be >= 0, got -1
        """
        parsed = []
        for override in overrides:
            path, value = parse_override(override) if isinstance(override, str) else override
            path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
            check_config_key(type(self), path)
            parsed.append((path, value))
        return type(self).from_dict(apply_overrides(self.to_dict(), parsed))


def architecture_of(values: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ``TrainingConfig.to_dict()`` dict that fix the networks' shapes.

    ``generator.checkpoint_activations`` changes no shape and is left out, and so are the
    enhancer fields in stage "global". Works on a stored dict without validating the rest of
    it (a checkpoint written on a GPU with fp16 is still readable on a CPU). Fields added since
    a checkpoint was written get the value that reproduces the old networks.
    """
    architecture = {key: values.get(key, "<missing>") for key in ARCHITECTURE_KEYS}
    # Checkpoints written before image input existed were trained on label maps.
    architecture["input_channels"] = values.get("input_channels")
    generator = architecture["generator"]
    if isinstance(generator, dict):
        generator = {k: v for k, v in generator.items() if k != "checkpoint_activations"}
        generator = {**GENERATOR_FIELDS_ADDED, **generator}
        if architecture["stage"] == "global":
            generator = {k: v for k, v in generator.items() if k not in _ENHANCER_KEYS}
        architecture["generator"] = generator
    return architecture


def architecture_differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """Name every architecture field where two ``config.architecture()`` dicts differ.

    Returns:
        Lines such as ``"generator.base_channels: 64 vs 32"``; empty when they agree.

    Examples:
        >>> a = TrainingConfig(num_classes=7).architecture()
        >>> b = TrainingConfig(num_classes=7, generator=GeneratorConfig(num_blocks=3))
        >>> architecture_differences(a, b.architecture())
        ['generator.num_blocks: 9 vs 3']
    """
    lines: list[str] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix[:-1]}: {a!r} vs {b!r}")

    walk(first, second, "")
    return lines
