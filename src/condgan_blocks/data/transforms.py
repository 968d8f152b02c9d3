"""Paired transforms: random parameters drawn once per sample, applied to every member.

A sample is a dict; every tensor in it has shape (C, H, W) and all share H and W. Integer
(and bool) tensors, such as ``label`` and ``instance``, are maps: they are resized with
nearest neighbour (source pixel ``floor((i + 0.5) * in / out)``, like Pillow's NEAREST), so
they keep their dtype and hold only values that were there. Floating tensors, such as
``image`` and ``input``, are pictures, resized with antialiased bilinear or bicubic
interpolation. Other entries (``path``) pass through.

Each plain function (``resize_sample``, ``crop_sample``, ``hflip_sample``, ``pad_sample``) is
deterministic; the classes draw their parameters, from ``generator`` or torch's global random
state, then call the function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_positive_int
from ..layers._factory import PADDINGS, check_choice

Sample = dict[str, Any]
INTERPOLATIONS = ("bicubic", "bilinear", "nearest")
_PAD_MODES = {"reflect": "reflect", "replicate": "replicate", "zero": "constant"}


def sample_size(sample: Sample) -> tuple[int, int]:
    """The common (H, W) of a sample's tensors.

    Raises:
        ValueError: If a tensor is not (C, H, W), the sizes differ, or there is no tensor.
    """
    sizes = {}
    for key, value in sample.items():
        if isinstance(value, Tensor):
            if value.ndim != 3:
                raise ValueError(
                    f"sample[{key!r}] must have shape (C, H, W), got {tuple(value.shape)}"
                )
            sizes[key] = tuple(value.shape[-2:])
    if not sizes:
        raise ValueError(f"sample has no tensor to transform; keys: {sorted(sample)}")
    if len(set(sizes.values())) > 1:
        raise ValueError(f"sample members must share H and W, got {sizes}")
    return next(iter(sizes.values()))


def _is_map(x: Tensor) -> bool:
    return not (x.is_floating_point() or x.is_complex())


def _map_each(sample: Sample, fn) -> Sample:
    return {key: fn(value) if isinstance(value, Tensor) else value for key, value in sample.items()}


def _nearest_index(size_in: int, size_out: int, device: torch.device) -> Tensor:
    position = (torch.arange(size_out, device=device, dtype=torch.float64) + 0.5) * (
        size_in / size_out
    )
    return position.floor().long().clamp_(max=size_in - 1)


def resize_sample(
    sample: Sample, size: tuple[int, int], *, interpolation: str = "bicubic"
) -> Sample:
    """Resize every member to ``size`` = (H, W).

    Args:
        sample: Dict of (C, H, W) tensors (and other entries, kept as they are).
        size: Output (height, width).
        interpolation: For floating members: "bicubic" or "bilinear" (both antialiased when
            shrinking; bicubic is clamped to the member's input range) or "nearest". Integer
            members always use nearest neighbour.

    Examples:
        >>> s = {"label": torch.tensor([[[0, 1], [2, 3]]]), "image": torch.zeros(3, 2, 2)}
        >>> resize_sample(s, (4, 4))["label"][0]
        tensor([[0, 0, 1, 1],
                [0, 0, 1, 1],
                [2, 2, 3, 3],
                [2, 2, 3, 3]])
    """
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    height, width = (check_positive_int("size", int(v)) for v in size)
    current = sample_size(sample)
    if current == (height, width):
        return dict(sample)

    def resize(x: Tensor) -> Tensor:
        if _is_map(x) or interpolation == "nearest":
            rows = _nearest_index(current[0], height, x.device)
            cols = _nearest_index(current[1], width, x.device)
            return x.index_select(-2, rows).index_select(-1, cols)
        y = F.interpolate(
            x[None], size=(height, width), mode=interpolation, align_corners=False, antialias=True
        )[0]
        if interpolation == "bicubic" and x.numel():
            y = y.clamp(x.min(), x.max())
        return y

    return _map_each(sample, resize)


def crop_sample(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """Cut the window ``[top, top + height) x [left, left + width)`` out of every member.

    Raises:
        ValueError: If the window is not inside the sample.

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: every tensor (C, height, width)

    Examples:
        >>> s = {"label": torch.arange(12).view(1, 3, 4), "path": "a.png"}
        >>> crop_sample(s, top=1, left=1, height=2, width=2)["label"]
        tensor([[[ 5,  6],
                 [ 9, 10]]])
    """
    full_h, full_w = sample_size(sample)
    inside = top >= 0 and top + height <= full_h and left >= 0 and left + width <= full_w
    if not inside or height < 1 or width < 1:
        raise ValueError(
            f"crop window top={top}, left={left}, height={height}, width={width} is not inside "
            f"a sample of size (H, W) = {(full_h, full_w)}"
        )
    return _map_each(sample, lambda x: x[:, top : top + height, left : left + width])


def hflip_sample(sample: Sample) -> Sample:
    """Mirror every member left to right.

    Examples:
        >>> hflip_sample({"label": torch.tensor([[[1, 2, 3]]]), "path": "a.png"})
        {'label': tensor([[[3, 2, 1]]]), 'path': 'a.png'}
    """
    sample_size(sample)
    return _map_each(sample, lambda x: x.flip(-1))


def pad_sample(
    sample: Sample,
    padding: tuple[int, int, int, int],
    *,
    image_padding: str = "reflect",
    map_fill: int | None = None,
) -> Sample:
    """Pad every member by ``padding`` = (left, right, top, bottom), the order of ``F.pad``.

    Args:
        sample: Dict of (C, H, W) tensors.
        padding: Non-negative pixel counts (left, right, top, bottom).
        image_padding: Floating members: "reflect", "replicate" or "zero".
        map_fill: Integer members: None repeats the edge pixels (so padding adds no new class
            or instance boundary); an int fills with that id (e.g. an ignore class).

    Examples:
        >>> s = {"label": torch.tensor([[[1, 2]]]), "image": torch.tensor([[[0.0, 1.0]]])}
        >>> out = pad_sample(s, (1, 1, 0, 0), image_padding="zero")
        >>> out["label"], out["image"]
        (tensor([[[1, 1, 2, 2]]]), tensor([[[0., 0., 1., 0.]]]))
    """
    check_choice("image_padding", image_padding, PADDINGS)
    if len(padding) != 4 or any(isinstance(p, bool) or int(p) != p or p < 0 for p in padding):
        raise ValueError(
            f"padding must be 4 non-negative ints (left, right, top, bottom), got {padding}"
        )
    if map_fill is not None and (isinstance(map_fill, bool) or not isinstance(map_fill, int)):
        raise TypeError(f"map_fill must be None or an int, got {map_fill!r}")
    left, right, top, bottom = (int(p) for p in padding)
    height, width = sample_size(sample)
    if image_padding == "reflect" and (max(left, right) >= width or max(top, bottom) >= height):
        raise ValueError(
            f"reflect padding by {padding} needs a sample larger than the padding, got (H, W) = "
            f"{(height, width)}; use image_padding='replicate' or 'zero'"
        )
    if not any(padding):
        return dict(sample)

    def pad(x: Tensor) -> Tensor:
        if not _is_map(x):
            return F.pad(x[None], (left, right, top, bottom), mode=_PAD_MODES[image_padding])[0]
        if map_fill is None:
            rows = torch.arange(-top, height + bottom, device=x.device).clamp_(0, height - 1)
            cols = torch.arange(-left, width + right, device=x.device).clamp_(0, width - 1)
            return x.index_select(-2, rows).index_select(-1, cols)
        out = x.new_full((x.shape[0], height + top + bottom, width + left + right), map_fill)
        out[:, top : top + height, left : left + width] = x
        return out

    return _map_each(sample, pad)


class PairedTransform:
    """Base class: draw parameters once per sample, then apply them to every member.

    Subclasses implement [`get_params`][condgan_blocks.data.PairedTransform.get_params] (random
    draws, from ``generator`` when given, else torch's global random state) and
    [`apply`][condgan_blocks.data.PairedTransform.apply] (deterministic).

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: every tensor (C', H', W'), as the subclass makes it

    Examples:
        >>> class Negate(PairedTransform):  # no random parameters: get_params returns None
        ...     def apply(self, sample, params):
        ...         return {k: -v if k == "image" else v for k, v in sample.items()}
        >>> out = Negate()({"image": torch.ones(3, 2, 2), "path": "a.png"})
        >>> out["image"][:, 0, 0], out["path"]
        (tensor([-1., -1., -1.]), 'a.png')
    """

    def get_params(self, size: tuple[int, int], generator: torch.Generator | None) -> Any:
        """Draw this transform's parameters for a sample of ``size`` = (H, W)."""
        return None

    def apply(self, sample: Sample, params: Any) -> Sample:
        """Apply the transform with the given parameters."""
        raise NotImplementedError

    def __call__(self, sample: Sample, *, generator: torch.Generator | None = None) -> Sample:
        return self.apply(sample, self.get_params(sample_size(sample), generator))


class Compose(PairedTransform):
    """Apply transforms in order; each draws its parameters once for the whole sample.

    Examples:
        >>> t = Compose([ScaleWidth(8), RandomHorizontalFlip(p=0.0)])
        >>> t({"label": torch.zeros(1, 4, 16, dtype=torch.long)})["label"].shape
        torch.Size([1, 2, 8])
    """

    def __init__(self, transforms: Sequence[PairedTransform]) -> None:
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"every transform must be callable, got {t!r}")
        self.transforms = transforms

    def __call__(self, sample: Sample, *, generator: torch.Generator | None = None) -> Sample:
        for t in self.transforms:
            sample = t(sample, generator=generator) if isinstance(t, PairedTransform) else t(sample)
        return sample

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ScaleWidth(PairedTransform):
    """Resize to ``width``, keeping the aspect ratio (height ``int(width * H / W)``, as pix2pixHD).

    Args:
        width: Output width in pixels.
        interpolation: For images: "bicubic" (as pix2pixHD), "bilinear" or "nearest".
            Labels and instances always use nearest neighbour.

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: every tensor (C, int(width * H / W), width), dtype kept

    Examples:
        >>> s = {"label": torch.zeros(1, 4, 8, dtype=torch.long), "image": torch.zeros(3, 4, 8)}
        >>> out = ScaleWidth(4)(s)
        >>> out["label"].shape, out["label"].dtype, out["image"].shape
        (torch.Size([1, 2, 4]), torch.int64, torch.Size([3, 2, 4]))
    """

    def __init__(self, width: int, *, interpolation: str = "bicubic") -> None:
        self.width = check_positive_int("width", width)
        self.interpolation = check_choice("interpolation", interpolation, INTERPOLATIONS)

    def get_params(self, size, generator):
        height, width = size
        return max(1, int(self.width * height / width)), self.width

    def apply(self, sample: Sample, params: tuple[int, int]) -> Sample:
        return resize_sample(sample, params, interpolation=self.interpolation)

    def __repr__(self) -> str:
        return f"ScaleWidth({self.width}, interpolation={self.interpolation!r})"


class Resize(PairedTransform):
    """Resize every member to ``size`` = (H, W) (an int means square), ignoring the aspect ratio.

    This is the "resize" of pix2pixHD's ``--resize_or_crop resize_and_crop``: every frame
    becomes ``loadSize`` x ``loadSize`` before [`RandomCrop`][condgan_blocks.data.RandomCrop]
    cuts ``fineSize`` x ``fineSize`` out of it.

    Args:
        size: Output (height, width), or one int for a square.
        interpolation: For images: "bicubic" (as pix2pixHD), "bilinear" or "nearest".
            Labels and instances always use nearest neighbour.

    Raises:
        TypeError: If ``size`` is neither an int nor a pair.
        ValueError: If a size is not a positive int, or ``interpolation`` is unknown.

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: every tensor (C, size[0], size[1]), dtype kept

    Examples:
        >>> s = {"label": torch.zeros(1, 4, 8, dtype=torch.long), "image": torch.zeros(3, 4, 8)}
        >>> out = Resize(6)(s)
        >>> out["label"].shape, out["label"].dtype, out["image"].shape
        (torch.Size([1, 6, 6]), torch.int64, torch.Size([3, 6, 6]))
    """

    def __init__(self, size: int | tuple[int, int], *, interpolation: str = "bicubic") -> None:
        pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"size must be an int or a pair (height, width), got {size!r}")
        self.size = tuple(check_positive_int("size", v) for v in pair)
        self.interpolation = check_choice("interpolation", interpolation, INTERPOLATIONS)

    def apply(self, sample: Sample, params: None) -> Sample:
        return resize_sample(sample, self.size, interpolation=self.interpolation)

    def __repr__(self) -> str:
        return f"Resize({self.size}, interpolation={self.interpolation!r})"


class RandomCrop(PairedTransform):
    """Cut the same random ``size`` = (H, W) window (an int means square) out of every member.

    Raises:
        ValueError: When called on a sample smaller than ``size``.

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: every tensor (C, size[0], size[1])

    Examples:
        >>> label = torch.arange(16).view(1, 4, 4)
        >>> s = {"label": label, "image": label.float()}
        >>> out = RandomCrop(2)(s, generator=torch.Generator().manual_seed(0))
        >>> out["label"].shape, out["image"].shape
        (torch.Size([1, 2, 2]), torch.Size([1, 2, 2]))
        >>> torch.equal(out["image"], out["label"].float())  # the same window in every member
        True
    """

    def __init__(self, size: int | tuple[int, int]) -> None:
        pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"size must be an int or a pair (height, width), got {size!r}")
        self.size = tuple(check_positive_int("size", v) for v in pair)

    def get_params(self, size, generator):
        (height, width), (crop_h, crop_w) = size, self.size
        if crop_h > height or crop_w > width:
            raise ValueError(
                f"cannot crop {self.size} (H, W) out of a sample of size {size}; scale it "
                "(ScaleWidth) or pad it (PadToMultiple) first"
            )
        top = int(torch.randint(height - crop_h + 1, (1,), generator=generator))
        left = int(torch.randint(width - crop_w + 1, (1,), generator=generator))
        return top, left

    def apply(self, sample: Sample, params: tuple[int, int]) -> Sample:
        return crop_sample(sample, *params, *self.size)

    def __repr__(self) -> str:
        return f"RandomCrop({self.size})"


class RandomHorizontalFlip(PairedTransform):
    """Mirror the whole sample left to right with probability ``p``.

    Shape:
        - Input: every tensor (C, H, W), all with the same H and W
        - Output: same shapes as the input

    Examples:
        >>> s = {"label": torch.tensor([[[1, 2, 3]]]), "path": "a.png"}
        >>> RandomHorizontalFlip(p=1.0)(s)["label"]
        tensor([[[3, 2, 1]]])
        >>> RandomHorizontalFlip(p=0.0)(s)["label"]
        tensor([[[1, 2, 3]]])
    """

    def __init__(self, p: float = 0.5) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def get_params(self, size, generator):
        return bool(torch.rand((), generator=generator) < self.p)

    def apply(self, sample: Sample, params: bool) -> Sample:
        return hflip_sample(sample) if params else dict(sample)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class PadToMultiple(PairedTransform):
    """Pad H and W up to the next multiple of ``multiple``, split evenly as
    [`pad_to_multiple`][condgan_blocks.layers.padding.pad_to_multiple].

    The padding is the one
    [`condgan_blocks.pad_to_multiple`][condgan_blocks.layers.padding.pad_to_multiple] computes for
    the same size, so [`condgan_blocks.crop_padding`][condgan_blocks.layers.padding.crop_padding]
    removes it from a generator's output.

    Args:
        multiple: H and W become multiples of this (e.g. ``2 ** num_downsamples``).
        image_padding: Floating members: "reflect", "replicate" or "zero".
        map_fill: Integer members: None repeats the edge; an int fills with that id.

    Examples:
        >>> out = PadToMultiple(4)({"label": torch.zeros(1, 5, 6, dtype=torch.long)})
        >>> out["label"].shape
        torch.Size([1, 8, 8])
    """

    def __init__(
        self, multiple: int, *, image_padding: str = "reflect", map_fill: int | None = None
    ) -> None:
        self.multiple = check_positive_int("multiple", multiple)
        self.image_padding = check_choice("image_padding", image_padding, PADDINGS)
        if map_fill is not None and (isinstance(map_fill, bool) or not isinstance(map_fill, int)):
            raise TypeError(f"map_fill must be None or an int, got {map_fill!r}")
        self.map_fill = map_fill

    def get_params(self, size, generator):
        height, width = size
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2

    def apply(self, sample: Sample, params: tuple[int, int, int, int]) -> Sample:
        return pad_sample(sample, params, image_padding=self.image_padding, map_fill=self.map_fill)

    def __repr__(self) -> str:
        return (
            f"PadToMultiple({self.multiple}, image_padding={self.image_padding!r}, "
            f"map_fill={self.map_fill!r})"
        )
