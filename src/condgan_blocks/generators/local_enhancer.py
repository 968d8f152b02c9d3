"""G1..Gn: pix2pixHD's coarse-to-fine generator with any number of local enhancers."""

from __future__ import annotations

from collections.abc import Iterator

import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import (
    MAX_CHANNELS,
    check_architecture_size,
    check_bool,
    check_count,
    check_divisible_size,
    check_image_batch,
    check_input_dtype,
    check_positive_int,
)
from ..layers._checkpointing import run_blocks
from ..layers._factory import NORMS, PADDINGS, check_choice, conv_parameters
from ..layers._groups import (
    UPSAMPLES,
    downsampling,
    downsampling_parameters,
    image_head,
    image_head_parameters,
    resnet_block_parameters,
    stem,
    stem_parameters,
    upsampling,
    upsampling_parameters,
)
from ..layers.label_modulation import (
    LabelModulatedNorm,
    check_label_modulation,
    check_modulated_blocks,
    label_modulation_parameters,
    run_upsampling,
)
from ..layers.pyramid import image_pyramid
from ..layers.resnet_block import ResnetBlock
from .global_generator import GlobalGenerator, _with_condition, global_generator_size

_STAGES = ("all", "finest")


def _stage_parameters(
    in_channels: int,
    width: int,
    num_blocks: int,
    norm: str,
    out_channels: int | None,
    condition_skips: bool = False,
    label_modulation: int = 0,
    label_modulation_blocks: bool = False,
) -> int:
    skip = in_channels if condition_skips else 0
    total = stem_parameters(in_channels, width, norm) + downsampling_parameters(width, norm)
    block_modulation = label_modulation if label_modulation_blocks else 0
    total += num_blocks * resnet_block_parameters(
        2 * width, norm, condition_channels=in_channels, label_modulation=block_modulation
    )
    total += upsampling_parameters(2 * width + skip, norm, width)
    if label_modulation:
        total += label_modulation_parameters(width, in_channels, label_modulation)
    if out_channels is not None:
        total += image_head_parameters(width + skip, out_channels)
    return total


def local_enhancer_size(
    in_channels: int,
    out_channels: int,
    base_channels: int,
    num_enhancers: int,
    num_blocks_local: int,
    num_downsamples_global: int,
    num_blocks_global: int,
    global_base_channels: int,
    norm: str,
    condition_skips: bool = False,
    label_modulation: int = 0,
    label_modulation_blocks: bool = False,
) -> tuple[int, int]:
    """``(widest layer's channels, parameter count)`` of a ``LocalEnhancer``, unbuilt.

    The count is exact; it is only summed once the widest layer is within bounds.
    """
    coarsest_width = base_channels * 2 ** (num_enhancers - 1)
    widest, total = global_generator_size(
        in_channels,
        out_channels,
        global_base_channels,
        num_downsamples_global,
        num_blocks_global,
        norm,
        include_head=False,
        condition_skips=condition_skips,
        label_modulation=label_modulation,
        label_modulation_blocks=label_modulation_blocks,
    )
    widest = max(widest, 2 * coarsest_width)
    if widest > MAX_CHANNELS:
        return widest, 0
    if global_base_channels != 2 * coarsest_width:
        total += conv_parameters(1, global_base_channels, 2 * coarsest_width)
    for k in range(1, num_enhancers + 1):
        width = base_channels * 2 ** (num_enhancers - k)
        head = out_channels if k == num_enhancers else None
        total += _stage_parameters(
            in_channels,
            width,
            num_blocks_local,
            norm,
            head,
            condition_skips,
            label_modulation,
            label_modulation_blocks,
        )
    return widest, total


class EnhancerStage(nn.Module):
    """One local enhancer G_k: front end, residual blocks on (front end + coarser), upsampling.

    Args:
        in_channels: Input channels of the full model.
        width: Channels c of this stage; the front end goes to 2c, the output has c channels.
        num_blocks: Residual blocks at 2c channels.
        norm: "instance", "batch" or "none".
        padding: Padding of the residual blocks (and of the resize-convolution).
        upsample: "transposed" (the original's transposed convolution) or "resize"
            (nearest-neighbour 2x upsampling then a 3x3 convolution); see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator].
        out_channels: If given, this is the finest stage and ends in a 7x7 head and tanh.
        condition_skips: Concatenate this stage's input, average-pooled by 2, to the
            upsampling's input, and the input itself to the head's; see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator].
        label_modulation: Hidden channels of a
            [`LabelModulatedNorm`][condgan_blocks.LabelModulatedNorm] in the
            upsampling, modulated by this stage's input; 0 (off) by default. Needs a norm.
        label_modulation_blocks: Modulate the second norm of every residual block too, by
            this stage's input pooled by 2; see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator]. Needs ``label_modulation``.

    Raises:
        TypeError: If a size is not an int.
        ValueError: If a size is out of range, including a stage wider than 2**16 channels or
            with more than 2**34 parameters.

    Shape:
        - Input: ``image`` (N, in_channels, H, W) and ``coarser`` (N, 2c, H/2, W/2).
        - Output: (N, c, H, W), or (N, out_channels, H, W) for the finest stage.

    Examples:
        >>> import torch
        >>> stage = EnhancerStage(3, 4, num_blocks=1, out_channels=3)
        >>> stage(torch.randn(1, 3, 16, 16), torch.randn(1, 8, 8, 8)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        *,
        num_blocks: int = 3,
        norm: str = "instance",
        padding: str = "reflect",
        upsample: str = "transposed",
        out_channels: int | None = None,
        condition_skips: bool = False,
        label_modulation: int = 0,
        label_modulation_blocks: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.width = check_positive_int("width", width)
        check_count("num_blocks", num_blocks)
        check_choice("norm", norm, NORMS)
        self.label_modulation = check_label_modulation(label_modulation, norm)
        self.label_modulation_blocks = check_modulated_blocks(
            label_modulation_blocks, self.label_modulation
        )
        check_choice("padding", padding, PADDINGS)
        check_choice("upsample", upsample, UPSAMPLES)
        if out_channels is not None:
            check_positive_int("out_channels", out_channels)
        self.condition_skips = check_bool("condition_skips", condition_skips)
        check_architecture_size(
            "EnhancerStage",
            max(in_channels, 2 * width, out_channels or 0),
            _stage_parameters(
                in_channels,
                width,
                num_blocks,
                norm,
                out_channels,
                condition_skips,
                self.label_modulation,
                self.label_modulation_blocks,
            ),
            hint="in_channels, width, out_channels or num_blocks",
        )
        self.front = nn.Sequential(stem(in_channels, width, norm), downsampling(width, norm))
        block_modulation = self.label_modulation if self.label_modulation_blocks else 0
        self.blocks = nn.ModuleList(
            ResnetBlock(
                2 * width,
                norm=norm,
                padding=padding,
                label_modulation=block_modulation,
                condition_channels=in_channels if block_modulation else 0,
            )
            for _ in range(num_blocks)
        )
        skip = in_channels if condition_skips else 0
        self.up = upsampling(2 * width + skip, norm, width, mode=upsample, padding=padding)
        if self.label_modulation:
            self.up.norm = LabelModulatedNorm(
                self.up.norm, width, in_channels, hidden=self.label_modulation
            )
        self.head = None if out_channels is None else image_head(width + skip, out_channels)
        self.checkpoint_activations = False

    @property
    def blocks_modulated(self) -> bool:
        """Whether the residual blocks are label-modulated (and there are any)."""
        return self.label_modulation_blocks and len(self.blocks) > 0

    def forward(self, image: Tensor, coarser: Tensor) -> Tensor:
        check_image_batch(image, self.in_channels, name="image")
        check_image_batch(coarser, 2 * self.width, name="coarser")
        check_input_dtype(image, self.front[0].conv.bias, name="image")
        check_input_dtype(coarser, self.front[0].conv.bias, name="coarser")
        x = self.front(image) + coarser
        pooled = F.avg_pool2d(image, 2) if self.condition_skips or self.blocks_modulated else None
        condition = pooled if self.blocks_modulated else None
        x = run_blocks(
            self.blocks, x, checkpointed=self.checkpoint_activations, condition=condition
        )
        if self.condition_skips:
            x = _with_condition(x, pooled)
        x = run_upsampling(self.up, x, image)
        if self.head is None:
            return x
        return self.head(_with_condition(x, image) if self.condition_skips else x)


class LocalEnhancer(nn.Module):
    """The global generator refined by ``num_enhancers`` local enhancers (G1, G2, ..., Gn).

    The input is downsampled ``num_enhancers`` times with 3x3 average pooling. The global
    generator (without its head) runs on the coarsest level. Enhancer k (1 coarsest ... n finest)
    has width ``base_channels * 2 ** (n - k)``: its front end maps its pyramid level to twice that
    width, adds the coarser level's features, runs its residual blocks and upsamples. The finest
    enhancer produces the image.

    Args:
        in_channels: Input channels.
        out_channels: Image channels produced.
        base_channels: Width of the finest enhancer (``ngf`` in the original).
        num_enhancers: Number of local enhancers n >= 1 (``n_local_enhancers``).
        num_blocks_local: Residual blocks per enhancer (``n_blocks_local``).
        num_downsamples_global: Downsamplings of the global generator.
        num_blocks_global: Residual blocks of the global generator.
        global_base_channels: Width of the global generator. ``None`` means
            ``base_channels * 2 ** num_enhancers`` as in the original, so its checkpoints load.
            Another value adds a 1x1 ``bridge`` convolution to the coarsest enhancer's width.
        norm: "instance", "batch" or "none".
        padding: Padding of the enhancers' residual blocks.
        global_padding: Padding of the global generator's residual blocks.
        upsample: How the enhancers upsample: "transposed" (the original's transposed
            convolutions) or "resize" (nearest-neighbour 2x upsampling then a 3x3 convolution,
            free of checkerboard artefacts); see
            [`GlobalGenerator`][condgan_blocks.GlobalGenerator].
        global_upsample: How the global generator upsamples; ``None`` means as ``upsample``.
        condition_skips: Give the global generator and every enhancer skips of the condition
            (see [`GlobalGenerator`][condgan_blocks.GlobalGenerator]); False, the original's
            layout, by default.
        label_modulation: Hidden channels of the
            [`LabelModulatedNorm`][condgan_blocks.LabelModulatedNorm] (SPADE) in every
            upsampling of the global generator and the enhancers; 0 (off, the original's
            layout) by default. Needs a norm.
        label_modulation_blocks: Modulate the second norm of every residual block of the
            global generator and the enhancers too; False by default. Needs
            ``label_modulation``.
        checkpoint_activations: Recompute residual-block activations in backward.

    Raises:
        TypeError: If a size is not an int or a flag not a bool.
        ValueError: If a size is out of range, including an architecture whose widest layer
            exceeds 2**16 channels or whose parameter count exceeds 2**34; this is checked
            before anything is allocated.

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of
          ``2 ** (num_downsamples_global + num_enhancers)``.
        - Output: (N, out_channels, H, W) in [-1, 1].

    Examples:
        >>> import torch
        >>> net = LocalEnhancer(4, base_channels=4, num_enhancers=2, num_blocks_local=1,
        ...                     num_downsamples_global=1, num_blocks_global=1)
        >>> net(torch.randn(1, 4, 32, 16)).shape
        torch.Size([1, 3, 32, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 3,
        *,
        base_channels: int = 32,
        num_enhancers: int = 1,
        num_blocks_local: int = 3,
        num_downsamples_global: int = 4,
        num_blocks_global: int = 9,
        global_base_channels: int | None = None,
        norm: str = "instance",
        padding: str = "reflect",
        global_padding: str = "reflect",
        upsample: str = "transposed",
        global_upsample: str | None = None,
        condition_skips: bool = False,
        checkpoint_activations: bool = False,
        label_modulation: int = 0,
        label_modulation_blocks: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.base_channels = check_positive_int("base_channels", base_channels)
        self.num_enhancers = check_count("num_enhancers", num_enhancers, minimum=1)
        self.num_blocks_local = check_count("num_blocks_local", num_blocks_local)
        check_count("num_downsamples_global", num_downsamples_global)
        check_count("num_blocks_global", num_blocks_global)
        self.norm = check_choice("norm", norm, NORMS)
        self.padding = check_choice("padding", padding, PADDINGS)
        check_choice("global_padding", global_padding, PADDINGS)
        self.upsample = check_choice("upsample", upsample, UPSAMPLES)
        if global_upsample is None:
            global_upsample = upsample
        check_choice("global_upsample", global_upsample, UPSAMPLES)
        self.condition_skips = check_bool("condition_skips", condition_skips)
        self.label_modulation = check_label_modulation(label_modulation, norm)
        self.label_modulation_blocks = check_modulated_blocks(
            label_modulation_blocks, self.label_modulation
        )
        check_bool("checkpoint_activations", checkpoint_activations)
        coarsest_width = base_channels * 2 ** (num_enhancers - 1)
        if global_base_channels is None:
            global_base_channels = 2 * coarsest_width
        check_positive_int("global_base_channels", global_base_channels)
        check_architecture_size(
            "LocalEnhancer",
            *local_enhancer_size(
                in_channels,
                out_channels,
                base_channels,
                num_enhancers,
                num_blocks_local,
                num_downsamples_global,
                num_blocks_global,
                global_base_channels,
                norm,
                condition_skips,
                self.label_modulation,
                self.label_modulation_blocks,
            ),
            hint="in_channels, out_channels, base_channels, num_enhancers (the coarsest enhancer "
            "has base_channels * 2**num_enhancers channels), global_base_channels, "
            "num_downsamples_global (the global generator's widest layer has "
            "global_base_channels * 2**num_downsamples_global) or the numbers of blocks",
        )

        self.global_generator = GlobalGenerator(
            in_channels,
            out_channels,
            base_channels=global_base_channels,
            num_downsamples=num_downsamples_global,
            num_blocks=num_blocks_global,
            norm=norm,
            padding=global_padding,
            upsample=global_upsample,
            include_head=False,
            condition_skips=condition_skips,
            label_modulation=self.label_modulation,
            label_modulation_blocks=self.label_modulation_blocks,
        )
        self.bridge = (
            nn.Identity()
            if global_base_channels == 2 * coarsest_width
            else nn.Conv2d(global_base_channels, 2 * coarsest_width, 1)
        )
        widths = [base_channels * 2 ** (num_enhancers - k) for k in range(1, num_enhancers + 1)]
        self.stages = nn.ModuleList(
            EnhancerStage(
                in_channels,
                width,
                num_blocks=num_blocks_local,
                norm=norm,
                padding=padding,
                upsample=upsample,
                out_channels=out_channels if k == num_enhancers - 1 else None,
                condition_skips=condition_skips,
                label_modulation=self.label_modulation,
                label_modulation_blocks=self.label_modulation_blocks,
            )
            for k, width in enumerate(widths)
        )
        self.checkpoint_activations = checkpoint_activations

    @property
    def checkpoint_activations(self) -> bool:
        """Whether residual blocks recompute their activations in backward."""
        return self.global_generator.checkpoint_activations

    @checkpoint_activations.setter
    def checkpoint_activations(self, value: bool) -> None:
        check_bool("checkpoint_activations", value)
        self.global_generator.checkpoint_activations = value
        for stage in self.stages:
            stage.checkpoint_activations = value

    @property
    def size_multiple(self) -> int:
        """The number H and W must be divisible by."""
        return self.global_generator.size_multiple * 2**self.num_enhancers

    @property
    def min_size(self) -> int:
        """The smallest height and width accepted: the global generator's, times 2 per enhancer."""
        return self.global_generator.min_size * 2**self.num_enhancers

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.in_channels)
        check_input_dtype(x, self.stages[-1].front[0].conv.bias)
        check_divisible_size(
            x,
            self.size_multiple,
            why=f"{self.num_enhancers} enhancer(s) and a global generator downsampling "
            f"{self.global_generator.num_downsamples} times",
        )
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"input {tuple(x.shape)} is too small: height and width must be at least "
                f"{self.min_size} for reflect padding"
            )
        pyramid = image_pyramid(x, self.num_enhancers)
        y = self.bridge(self.global_generator(pyramid[-1]))
        for stage, level in zip(self.stages, reversed(pyramid[:-1]), strict=True):
            y = stage(level, y)
        return y

    def stage_parameters(self, stage: str = "all") -> Iterator[nn.Parameter]:
        """Parameters to optimise in a training stage.

        Args:
            stage: "finest" gives only the finest enhancer's parameters (what the original trains
                while the global generator is frozen); "all" gives every parameter.
        """
        check_choice("stage", stage, _STAGES)
        if stage == "finest":
            return self.stages[-1].parameters()
        return self.parameters()

    @classmethod
    def from_global(
        cls,
        generator: GlobalGenerator,
        *,
        num_enhancers: int = 1,
        base_channels: int | None = None,
        num_blocks_local: int = 3,
        upsample: str | None = None,
    ) -> LocalEnhancer:
        """Grow a trained global generator into an enhancer model, keeping its weights.

        The enhancers get skips of the condition and label-modulated norms when ``generator``
        has them (``generator.condition_skips``, ``generator.label_modulation``,
        ``generator.label_modulation_blocks``).

        Args:
            generator: A trained [`GlobalGenerator`][condgan_blocks.GlobalGenerator]; its head
                is dropped. Its ``upsample`` mode is kept for the global part.
            num_enhancers: Number of enhancers to add.
            base_channels: Width of the finest enhancer; defaults to
                ``generator.base_channels // 2 ** num_enhancers``, the original's layout.
            num_blocks_local: Residual blocks per enhancer.
            upsample: How the new enhancers upsample, "transposed" or "resize"; defaults to
                ``generator.upsample``.

        Returns:
            A [`LocalEnhancer`][condgan_blocks.LocalEnhancer] whose global generator holds
            copies of ``generator``'s weights (on the same device and dtype).
        """
        if not isinstance(generator, GlobalGenerator):
            raise TypeError(f"generator must be a GlobalGenerator, got {type(generator).__name__}")
        check_count("num_enhancers", num_enhancers, minimum=1)
        if base_channels is None:
            base_channels = generator.base_channels // 2**num_enhancers
            if base_channels < 1:
                raise ValueError(
                    f"generator.base_channels={generator.base_channels} is too small for "
                    f"{num_enhancers} enhancers; pass base_channels explicitly"
                )
        model = cls(
            generator.in_channels,
            generator.out_channels,
            base_channels=base_channels,
            num_enhancers=num_enhancers,
            num_blocks_local=num_blocks_local,
            num_downsamples_global=generator.num_downsamples,
            num_blocks_global=generator.num_blocks,
            global_base_channels=generator.base_channels,
            norm=generator.norm,
            global_padding=generator.padding,
            upsample=generator.upsample if upsample is None else upsample,
            global_upsample=generator.upsample,
            condition_skips=generator.condition_skips,
            label_modulation=generator.label_modulation,
            label_modulation_blocks=generator.label_modulation_blocks,
        )
        # Move first, then copy: loading into a float32 model would round float64 weights.
        reference = next(generator.parameters())
        model = model.to(device=reference.device, dtype=reference.dtype)
        weights = {k: v for k, v in generator.state_dict().items() if not k.startswith("head.")}
        model.global_generator.load_state_dict(weights)
        model.checkpoint_activations = generator.checkpoint_activations
        return model
