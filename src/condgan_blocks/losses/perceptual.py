"""The VGG19 perceptual loss of pix2pixHD, with optional ImageNet input normalisation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_bool, check_image_batch, check_number, check_same_shape
from .vgg19 import FEATURE_NAMES, VGG19Features, Weights

DEFAULT_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
NORMALIZATIONS = ("imagenet", "none")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_layer_weights(layer_weights: object) -> tuple[float, ...]:
    if not isinstance(layer_weights, Sequence) or isinstance(layer_weights, str):
        raise TypeError(
            f"layer_weights must be a sequence of {len(FEATURE_NAMES)} numbers, "
            f"got {type(layer_weights).__name__}"
        )
    if len(layer_weights) != len(FEATURE_NAMES):
        raise ValueError(
            f"layer_weights must have {len(FEATURE_NAMES)} entries, one per {FEATURE_NAMES}, "
            f"got {len(layer_weights)}"
        )
    return tuple(
        check_number(f"layer_weights[{i}]", value, minimum=0.0)
        for i, value in enumerate(layer_weights)
    )


def _check_normalize(normalize: object) -> str | None:
    if normalize is None or normalize == "none":
        return None
    if normalize != "imagenet":
        raise ValueError(f"normalize must be 'imagenet' or None, got {normalize!r}")
    return "imagenet"


def imagenet_normalize(images: Tensor) -> Tensor:
    """Map images in [-1, 1] to the ImageNet mean/std normalisation VGG was trained with.

    Computes ``((images + 1) / 2 - mean) / std`` per channel, in the images' dtype and device.

    Args:
        images: RGB images in [-1, 1], shape (N, 3, H, W).

    Returns:
        Tensor of shape (N, 3, H, W).

    Examples:
        >>> import torch
        >>> imagenet_normalize(torch.zeros(1, 3, 1, 1)).flatten()
        tensor([0.0655, 0.1964, 0.4178])
    """
    check_image_batch(images, 3, name="images")
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((images + 1) / 2 - mean) / std


def _check_inputs(vgg: VGG19Features, fake: Tensor, real: Tensor) -> None:
    if not isinstance(vgg, VGG19Features):
        raise TypeError(f"vgg must be a VGG19Features, got {type(vgg).__name__}")
    check_image_batch(fake, 3, name="fake")
    check_image_batch(real, 3, name="real")
    check_same_shape(fake, real, "the input")
    if fake.dtype != real.dtype or fake.device != real.device:
        raise TypeError(
            f"fake and real must share dtype and device, got {fake.dtype} on {fake.device} "
            f"and {real.dtype} on {real.device}"
        )
    weight = vgg.features[0].weight
    if fake.device != weight.device:
        raise ValueError(
            f"the input is on {fake.device} but the VGG19 weights are on {weight.device}; "
            f"move the loss with .to({str(fake.device)!r})"
        )
    if fake.dtype != weight.dtype and not torch.is_autocast_enabled(fake.device.type):
        raise TypeError(
            f"the input is {fake.dtype} but the VGG19 weights are {weight.dtype}; convert the "
            f"loss with .to({fake.dtype}) or run under torch.autocast"
        )


def vgg_perceptual_loss(
    vgg: VGG19Features,
    fake: Tensor,
    real: Tensor,
    *,
    weight: float = 10.0,
    layer_weights: Sequence[float] = DEFAULT_LAYER_WEIGHTS,
    normalize: str | None = "imagenet",
    batched: bool = True,
) -> Tensor:
    """Weighted L1 between VGG19 features of fake and (detached) real images.

    ``loss = weight * sum_k layer_weights[k] * mean(|V_k(fake) - V_k(real)|)`` over relu1_1,
    relu2_1, relu3_1, relu4_1 and relu5_1. No gradient ever reaches ``real``.

    Args:
        vgg: The feature extractor, e.g. ``VGG19Features(weights="imagenet")``.
        fake: Generated images in [-1, 1].
        real: Real images in [-1, 1]; detached.
        weight: Factor on the total (pix2pixHD's ``lambda_feat``).
        layer_weights: One non-negative weight per feature map.
        normalize: "imagenet" maps [-1, 1] to ImageNet's mean/std normalisation, which VGG was
            trained on; ``None`` feeds the images unnormalised, as the original pix2pixHD does.
        batched: Send fake and real through VGG as one batch of 2N (one pass, more memory kept
            for backward); ``False`` runs the real branch separately under ``no_grad``.

    Returns:
        A 0-dim tensor, >= 0.

    Raises:
        TypeError: If ``vgg`` is not a [`VGG19Features`][condgan_blocks.losses.vgg19.VGG19Features],
            or dtypes do not match (outside autocast).
        ValueError: For shapes other than (N, 3, H, W) with H, W >= 16, fake and real of
            different shapes, inputs on another device than ``vgg``, or bad weights.

    Shape:
        - fake, real: (N, 3, H, W), H, W >= 16.
        - Output: ().

    Examples:
        >>> import torch
        >>> vgg = VGG19Features(weights=None)
        >>> fake, real = torch.rand(2, 1, 3, 32, 32) * 2 - 1
        >>> loss = vgg_perceptual_loss(vgg, fake, real)
        >>> loss.shape, bool(loss > 0), float(vgg_perceptual_loss(vgg, real, real))
        (torch.Size([]), True, 0.0)
    """
    weight = check_number("weight", weight, minimum=0.0)
    layer_weights = _check_layer_weights(layer_weights)
    normalize = _check_normalize(normalize)
    batched = check_bool("batched", batched)
    _check_inputs(vgg, fake, real)
    real = real.detach()
    prepare: Callable[[Tensor], Tensor] = imagenet_normalize if normalize else (lambda x: x)
    if batched:
        features = vgg(prepare(torch.cat([fake, real])))
        batch = fake.shape[0]
        fake_features = [f[:batch] for f in features]
        real_features = [f[batch:].detach() for f in features]
    else:
        fake_features = vgg(prepare(fake))
        with torch.no_grad():
            real_features = vgg(prepare(real))
    total = None
    for layer_weight, fake_f, real_f in zip(
        layer_weights, fake_features, real_features, strict=True
    ):
        term = layer_weight * F.l1_loss(fake_f, real_f)
        total = term if total is None else total + term
    return weight * total


class VGGPerceptualLoss(nn.Module):
    """pix2pixHD's VGG19 feature loss; see
    [`vgg_perceptual_loss`][condgan_blocks.losses.perceptual.vgg_perceptual_loss] for the formula.

    **The VGG19 network is not a registered sub-module.** It is held privately (read it through
    [`vgg`][condgan_blocks.losses.perceptual.VGGPerceptualLoss.vgg]) so that it never appears in
    ``parameters()`` (an optimizer built from a model holding this loss never sees it), in
    ``state_dict()`` (a checkpoint does not carry 80 MB of fixed ImageNet weights, and loading one
    does not need them), or in ``apply()`` (a weight initialisation over the model does not
    overwrite it). ``.to()``, ``.cuda()``, ``.double()`` and the other conversions still move it:
    ``_apply`` forwards them. Its parameters have ``requires_grad=False`` and it stays in eval mode.
    One consequence: ``nn.DataParallel`` does not replicate it to other devices, so keep this loss
    outside a ``DataParallel`` module (``DistributedDataParallel``, one module per device, is fine).

    Args:
        weight: Factor on the total (``lambda_feat``, 10 in pix2pixHD).
        layer_weights: Weights of relu1_1 ... relu5_1.
        weights: VGG19 weights: "imagenet" (torch hub cache, else download), a path or a
            torchvision-layout state dict, ``None`` for random weights, or a
            [`VGG19Features`][condgan_blocks.losses.vgg19.VGG19Features] to use as it is (shared,
            not copied).
        normalize: "imagenet" (recommended) or ``None`` (the original's unnormalised input).
        batched: One VGG pass over fake and real together, or two (the real one under
            ``no_grad``). One pass means fewer, larger kernels, which can pay on a GPU at small
            sizes; its backward also computes input gradients for the real half, so on CPU
            ``batched=False`` measured faster and used about 40% less activation memory
            (``benchmarks/bench_vgg_loss.py``).

    Shape:
        - Input: fake and real images (N, 3, H, W) in [-1, 1], H, W >= 16.
        - Output: ().

    Examples:
        >>> import torch
        >>> criterion = VGGPerceptualLoss(weights=None)
        >>> fake = torch.rand(1, 3, 32, 32, requires_grad=True)
        >>> criterion(fake, torch.rand(1, 3, 32, 32)).backward()
        >>> fake.grad.shape, len(criterion.state_dict()), len(list(criterion.parameters()))
        (torch.Size([1, 3, 32, 32]), 0, 0)
    """

    def __init__(
        self,
        weight: float = 10.0,
        *,
        layer_weights: Sequence[float] = DEFAULT_LAYER_WEIGHTS,
        weights: Weights | VGG19Features = "imagenet",
        normalize: str | None = "imagenet",
        batched: bool = True,
    ) -> None:
        super().__init__()
        self.weight = check_number("weight", weight, minimum=0.0)
        self.layer_weights = _check_layer_weights(layer_weights)
        self.normalize = _check_normalize(normalize)
        self.batched = check_bool("batched", batched)
        vgg = weights if isinstance(weights, VGG19Features) else VGG19Features(weights=weights)
        # Kept out of nn.Module's registries on purpose (see the class docstring).
        self.__dict__["_vgg"] = vgg

    @property
    def vgg(self) -> VGG19Features:
        """The frozen feature extractor (not a registered sub-module)."""
        return self.__dict__["_vgg"]

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        if recurse:
            self.vgg._apply(fn, recurse)
        return self

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """Weighted L1 between the VGG19 features of ``fake`` and detached ``real``."""
        return vgg_perceptual_loss(
            self.vgg,
            fake,
            real,
            weight=self.weight,
            layer_weights=self.layer_weights,
            normalize=self.normalize,
            batched=self.batched,
        )

    def extra_repr(self) -> str:
        layer_weights = ", ".join(f"{w:g}" for w in self.layer_weights)
        return (
            f"weight={self.weight}, layer_weights=({layer_weights}), "
            f"normalize={self.normalize!r}, batched={self.batched}, vgg=VGG19Features (frozen)"
        )
