"""G1, pix2pixHD's global generator."""

from __future__ import annotations

import torch
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
from ..layers._factory import NORMS, PADDINGS, check_choice
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
from ..layers.resnet_block import ResnetBlock


def global_generator_size(
    in_channels: int,
    out_channels: int,
    base_channels: int,
    num_downsamples: int,
    num_blocks: int,
    norm: str,
    *,
    include_head: bool = True,
    condition_skips: bool = False,
    label_modulation: int = 0,
    label_modulation_blocks: bool = False,
) -> tuple[int, int]:
    """``(widest layer's channels, parameter count)`` of a ``GlobalGenerator``, unbuilt.

    The count is exact. Sizes are checked ints (``num_downsamples`` at most ``MAX_REPEATS``),
    so ``base_channels * 2**num_downsamples`` is cheap even when absurd; the parameters are only
    summed once the width is within bounds.
    """
    widest = max(in_channels, out_channels, base_channels * 2**num_downsamples, label_modulation)
    if widest > MAX_CHANNELS:
        return widest, 0
    skip = in_channels if condition_skips else 0
    widths = [base_channels * 2**i for i in range(num_downsamples + 1)]
    total = stem_parameters(in_channels, base_channels, norm)
    total += sum(downsampling_parameters(w, norm) for w in widths[:-1])
    block_modulation = label_modulation if label_modulation_blocks else 0
    total += num_blocks * resnet_block_parameters(
        widths[-1], norm, condition_channels=in_channels, label_modulation=block_modulation
    )
    total += sum(upsampling_parameters(w + skip, norm, w // 2) for w in widths[1:])
    if label_modulation:
        total += sum(
            label_modulation_parameters(w // 2, in_channels, label_modulation) for w in widths[1:]
        )
    if include_head:
        total += image_head_parameters(base_channels + skip, out_channels)
    return widest, total


class GlobalGenerator(nn.Module):
    """The global generator G1: encoder, residual blocks, decoder.

    Layout: a 7x7 ``stem`` to ``base_channels``; ``num_downsamples`` stride-2 3x3 convolutions
    doubling the channels; ``num_blocks`` residual blocks; as many 2x upsamplings halving them
    back (transposed convolutions, or resize-convolutions with ``upsample="resize"``); a 7x7
    ``head`` and tanh. The 7x7 convolutions always reflect-pad, as in the original; ``padding``
    applies to the residual blocks and to the resize-convolutions.

    Args:
        in_channels: Input channels (label channels + boundary map + features).
        out_channels: Image channels produced.
        base_channels: Channels after the stem (``ngf`` in the original).
        num_downsamples: Number of stride-2 downsamplings (``n_downsample_global``).
        num_blocks: Number of residual blocks (``n_blocks_global``).
        norm: "instance", "batch" or "none".
        padding: Padding of the residual blocks: "reflect", "replicate" or "zero".
        upsample: "transposed" (the original's stride-2 3x3 transposed convolutions, so its
            checkpoints load) or "resize" (nearest-neighbour 2x upsampling then a 3x3
            convolution, which avoids checkerboard artefacts; it pads by reflection when
            ``padding`` is "reflect" and with zeros otherwise). The state-dict keys are the same
            (``upsamples.N.conv.weight``), only the weight's layout differs: (in, out, 3, 3) for
            "transposed", (out, in, 3, 3) for "resize".
        include_head: Build the final 7x7 convolution and tanh. Without it, ``forward`` returns
            the last feature map, as the local enhancer needs.
        condition_skips: Concatenate the input, average-pooled to each resolution, to the
            input of every upsampling and of the head (skips of the condition, not of
            features). The decoder then sees the labels' fine layout, which the bottleneck
            loses: thin objects and class edges come out where the labels put them. Adds
            ``in_channels`` input channels to each upsampling and to the head; False (the
            original's layout, whose checkpoints load) by default.
        label_modulation: If positive, the norm of every upsampling becomes a
            [`LabelModulatedNorm`][condgan_blocks.LabelModulatedNorm] (SPADE) with this
            many hidden channels: the input, average-pooled to that resolution, sets a scale
            and shift per pixel and channel after the norm. It starts as the plain norm (its
            last convolution is zero) and adds the keys ``upsamples.N.norm.shared.*`` and
            ``upsamples.N.norm.affine.*``; 0 (the original's layout) by default. Needs a norm.
        label_modulation_blocks: Modulate the second norm of every residual block too (the
            input pooled to the bottleneck's size, ``label_modulation`` hidden channels): the
            labels then steer the bottleneck as well as the decoder. Adds the keys
            ``blocks.N.norm2.shared.*`` and ``blocks.N.norm2.affine.*``; False by default.
            Needs ``label_modulation`` > 0.
        checkpoint_activations: Recompute the residual blocks' activations in backward instead of
            storing them (same results, lower peak memory, about one more forward of the blocks).

    Raises:
        TypeError: If a size is not an int or a flag not a bool.
        ValueError: If a size is out of range (or ``label_modulation`` is on with
            ``norm="none"``, or ``label_modulation_blocks`` without it), including an
            architecture whose widest layer (``base_channels * 2**num_downsamples``) exceeds
            2**16 channels or whose parameter count exceeds 2**34; this is checked before
            anything is allocated.

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of ``2 ** num_downsamples``.
        - Output: (N, out_channels, H, W) in [-1, 1], or (N, base_channels, H, W) without head.

    Examples:
        >>> import torch
        >>> net = GlobalGenerator(4, base_channels=8, num_downsamples=2, num_blocks=1)
        >>> net(torch.randn(1, 4, 32, 48)).shape
        torch.Size([1, 3, 32, 48])
        >>> skips = GlobalGenerator(4, base_channels=8, num_downsamples=2, num_blocks=1,
        ...                         condition_skips=True)
        >>> skips(torch.randn(1, 4, 32, 48)).shape, skips.head.conv.in_channels
        (torch.Size([1, 3, 32, 48]), 12)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 3,
        *,
        base_channels: int = 64,
        num_downsamples: int = 4,
        num_blocks: int = 9,
        norm: str = "instance",
        padding: str = "reflect",
        upsample: str = "transposed",
        include_head: bool = True,
        condition_skips: bool = False,
        checkpoint_activations: bool = False,
        label_modulation: int = 0,
        label_modulation_blocks: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.base_channels = check_positive_int("base_channels", base_channels)
        self.num_downsamples = check_count("num_downsamples", num_downsamples)
        self.num_blocks = check_count("num_blocks", num_blocks)
        self.norm = check_choice("norm", norm, NORMS)
        self.padding = check_choice("padding", padding, PADDINGS)
        self.upsample = check_choice("upsample", upsample, UPSAMPLES)
        check_bool("include_head", include_head)
        self.condition_skips = check_bool("condition_skips", condition_skips)
        self.checkpoint_activations = check_bool("checkpoint_activations", checkpoint_activations)
        self.label_modulation = check_label_modulation(label_modulation, self.norm)
        self.label_modulation_blocks = check_modulated_blocks(
            label_modulation_blocks, self.label_modulation
        )
        check_architecture_size(
            "GlobalGenerator",
            *global_generator_size(
                in_channels,
                out_channels,
                base_channels,
                num_downsamples,
                num_blocks,
                norm,
                include_head=include_head,
                condition_skips=condition_skips,
                label_modulation=self.label_modulation,
                label_modulation_blocks=self.label_modulation_blocks,
            ),
            hint="in_channels, out_channels, base_channels, num_downsamples or num_blocks (the "
            "widest inner layer has base_channels * 2**num_downsamples channels)",
        )

        skip = in_channels if condition_skips else 0
        widths = [base_channels * 2**i for i in range(num_downsamples + 1)]
        self.stem = stem(in_channels, base_channels, norm)
        self.downsamples = nn.ModuleList(downsampling(w, norm) for w in widths[:-1])
        block_modulation = self.label_modulation if self.label_modulation_blocks else 0
        self.blocks = nn.ModuleList(
            ResnetBlock(
                widths[-1],
                norm=norm,
                padding=padding,
                label_modulation=block_modulation,
                condition_channels=in_channels if block_modulation else 0,
            )
            for _ in range(num_blocks)
        )
        self.upsamples = nn.ModuleList(
            upsampling(w + skip, norm, w // 2, mode=upsample, padding=padding)
            for w in reversed(widths[1:])
        )
        if self.label_modulation:
            for up, w in zip(self.upsamples, reversed(widths[1:]), strict=True):
                up.norm = LabelModulatedNorm(
                    up.norm, w // 2, in_channels, hidden=self.label_modulation
                )
        self.head = image_head(base_channels + skip, out_channels) if include_head else None

    @property
    def size_multiple(self) -> int:
        """The number H and W must be divisible by: ``2 ** num_downsamples``."""
        return 2**self.num_downsamples

    def features(self, x: Tensor) -> Tensor:
        """Run everything but the head.

        Args:
            x: Tensor of shape (N, in_channels, H, W).

        Returns:
            Tensor of shape (N, base_channels, H, W).
        """
        check_image_batch(x, self.in_channels)
        check_input_dtype(x, self.stem.conv.bias)
        check_divisible_size(
            x, self.size_multiple, why=f"the generator downsamples {self.num_downsamples} times"
        )
        self._check_min_size(x)
        # The condition at each level's size (level k: 2**k times smaller), each pooled once:
        # the skip of level k and the modulated norm of level k + 1 share it.
        # The modulated blocks take the coarsest, pooled[num_downsamples].
        pooled = [x]
        if self.condition_skips or self.label_modulation:
            pooled += [F.avg_pool2d(x, 2**k) for k in range(1, len(self.upsamples) + 1)]
        x = self.stem(x)
        for down in self.downsamples:
            x = down(x)
        condition = pooled[-1] if self.label_modulation_blocks and self.blocks else None
        x = run_blocks(
            self.blocks, x, checkpointed=self.checkpoint_activations, condition=condition
        )
        for level, up in zip(range(len(self.upsamples), 0, -1), self.upsamples, strict=True):
            if self.condition_skips:
                x = _with_condition(x, pooled[level])
            x = run_upsampling(up, x, pooled[level - 1] if self.label_modulation else pooled[0])
        return x

    @property
    def min_size(self) -> int:
        """The smallest height and width accepted.

        A multiple of ``size_multiple``, at least 4 (the 7x7 convolutions reflect-pad by 3)
        and two multiples when the coarsest size meets reflect-padded residual blocks or
        instance norm (which needs more than one pixel).
        """
        multiple = self.size_multiple
        reflect_blocks = self.num_blocks > 0 and self.padding == "reflect"
        instance_norm = self.num_downsamples > 0 and self.norm == "instance"
        coarsest = 2 if reflect_blocks or instance_norm else 1
        return max(-(-4 // multiple), coarsest) * multiple

    def _check_min_size(self, x: Tensor) -> None:
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"input {tuple(x.shape)} is too small: height and width must be at least "
                f"{self.min_size} for reflect padding"
            )

    def forward(self, x: Tensor) -> Tensor:
        y = self.features(x)
        if self.head is None:
            return y
        return self.head(_with_condition(y, x) if self.condition_skips else y)


def _with_condition(features: Tensor, condition: Tensor) -> Tensor:
    """``features`` (N, C, H, W) and ``condition`` (N, K, H, W) as one (N, C + K, H, W) tensor in
    the features' dtype (under autocast the features are low precision, the condition is not)."""
    return torch.cat([features, condition.to(features.dtype)], 1)
