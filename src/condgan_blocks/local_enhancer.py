"""G1..Gn: pix2pixHD's coarse-to-fine generator with any number of local enhancers."""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor, nn

from ._checkpointing import run_blocks
from ._checks import check_divisible_size, check_image_batch, check_positive_int
from ._factory import NORMS, PADDINGS, check_choice
from ._layers import downsampling, image_head, stem, upsampling
from .global_generator import GlobalGenerator
from .image_pyramid import image_pyramid
from .resnet_block import ResnetBlock

_STAGES = ("all", "finest")


class EnhancerStage(nn.Module):
    """One local enhancer G_k: front end, residual blocks on (front end + coarser), upsampling.

    Args:
        in_channels: Input channels of the full model.
        width: Channels c of this stage; the front end goes to 2c, the output has c channels.
        num_blocks: Residual blocks at 2c channels.
        norm: "instance", "batch" or "none".
        padding: Padding of the residual blocks.
        out_channels: If given, this is the finest stage and ends in a 7x7 head and tanh.

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
        out_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.width = check_positive_int("width", width)
        check_positive_int("num_blocks", num_blocks, minimum=0)
        check_choice("norm", norm, NORMS)
        check_choice("padding", padding, PADDINGS)
        if out_channels is not None:
            check_positive_int("out_channels", out_channels)
        self.front = nn.Sequential(stem(in_channels, width, norm), downsampling(width, norm))
        self.blocks = nn.ModuleList(
            ResnetBlock(2 * width, norm=norm, padding=padding) for _ in range(num_blocks)
        )
        self.up = upsampling(2 * width, norm)
        self.head = None if out_channels is None else image_head(width, out_channels)
        self.checkpoint_activations = False

    def forward(self, image: Tensor, coarser: Tensor) -> Tensor:
        check_image_batch(image, self.in_channels, name="image")
        check_image_batch(coarser, 2 * self.width, name="coarser")
        x = self.front(image) + coarser
        x = self.up(run_blocks(self.blocks, x, checkpointed=self.checkpoint_activations))
        return x if self.head is None else self.head(x)


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
        checkpoint_activations: Recompute residual-block activations in backward.

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
        checkpoint_activations: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.base_channels = check_positive_int("base_channels", base_channels)
        self.num_enhancers = check_positive_int("num_enhancers", num_enhancers)
        self.num_blocks_local = check_positive_int("num_blocks_local", num_blocks_local, minimum=0)
        self.norm = check_choice("norm", norm, NORMS)
        self.padding = check_choice("padding", padding, PADDINGS)
        coarsest_width = base_channels * 2 ** (num_enhancers - 1)
        if global_base_channels is None:
            global_base_channels = 2 * coarsest_width
        check_positive_int("global_base_channels", global_base_channels)

        self.global_generator = GlobalGenerator(
            in_channels,
            out_channels,
            base_channels=global_base_channels,
            num_downsamples=num_downsamples_global,
            num_blocks=num_blocks_global,
            norm=norm,
            padding=global_padding,
            include_head=False,
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
                out_channels=out_channels if k == num_enhancers - 1 else None,
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
        self.global_generator.checkpoint_activations = bool(value)
        for stage in self.stages:
            stage.checkpoint_activations = bool(value)

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
    ) -> LocalEnhancer:
        """Grow a trained global generator into an enhancer model, keeping its weights.

        Args:
            generator: A trained :class:`GlobalGenerator`; its head is dropped.
            num_enhancers: Number of enhancers to add.
            base_channels: Width of the finest enhancer; defaults to
                ``generator.base_channels // 2 ** num_enhancers``, the original's layout.
            num_blocks_local: Residual blocks per enhancer.

        Returns:
            A :class:`LocalEnhancer` whose global generator holds copies of ``generator``'s
            weights (on the same device and dtype).
        """
        if not isinstance(generator, GlobalGenerator):
            raise TypeError(f"generator must be a GlobalGenerator, got {type(generator).__name__}")
        check_positive_int("num_enhancers", num_enhancers)
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
        )
        # Move first, then copy: loading into a float32 model would round float64 weights.
        reference = next(generator.parameters())
        model = model.to(device=reference.device, dtype=reference.dtype)
        weights = {k: v for k, v in generator.state_dict().items() if not k.startswith("head.")}
        model.global_generator.load_state_dict(weights)
        model.checkpoint_activations = generator.checkpoint_activations
        return model
