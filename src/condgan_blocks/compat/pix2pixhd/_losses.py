"""Losses: build the original's GANLoss, feature-matching loss and VGGLoss, map Vgg19's keys.

The losses built here compute exactly the original's numbers from its options:

- ``gan_loss``: our [`GANLoss`][condgan_blocks.losses.adversarial.GANLoss] in "lsgan" mode; with
  ``use_lsgan=False`` a module that, like the original, applies ``BCELoss`` to probabilities (the
  discriminator's sigmoid output).
- ``feature_matching_loss``: our
  [`FeatureMatchingLoss`][condgan_blocks.losses.feature_matching.FeatureMatchingLoss] with
  ``lambda_feat`` as weight, checking that the inputs have the ``num_D`` x ``n_layers_D + 2``
  structure of the options.
- ``vgg_loss``: our [`vgg_perceptual_loss`][condgan_blocks.losses.perceptual.vgg_perceptual_loss]
  without ImageNet normalisation and without ``lambda_feat``, over a
  [`VGG19Features`][condgan_blocks.losses.vgg19.VGG19Features] that is a real child here, so that
  the original ``Vgg19`` keys (``slice1.0.weight``, ...) load into it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ..._checks import check_bool, check_number
from ...discriminators._nested import as_scales, final_predictions
from ...losses.adversarial import GANLoss
from ...losses.feature_matching import FeatureMatchingLoss
from ...losses.perceptual import (
    DEFAULT_LAYER_WEIGHTS,
    _check_layer_weights,
    _check_normalize,
    vgg_perceptual_loss,
)
from ...losses.vgg19 import FEATURE_INDICES, VGG19Features
from ._networks import DEFAULTS
from ._registry import Options, option, register_key_map, register_kind

_LOSS_DEFAULTS = {"target_real_label": 1.0, "target_fake_label": 0.0, "lambda_feat": 10.0}


class ProbabilityBCEGANLoss(nn.Module):
    """The original ``GANLoss`` with ``use_lsgan=False``: ``BCELoss`` on probabilities.

    Not cross-entropy on logits: the predictions must already be in [0, 1], and torch clamps
    the logs at -100, so exact 0 and 1 give finite losses. Summed over scales like
    [`GANLoss`][condgan_blocks.losses.adversarial.GANLoss]. Prefer ``GANLoss("vanilla")`` with a
    sigmoid-free discriminator for new training: it is numerically stable.

    Args:
        real_label: Target for real predictions, in [0, 1].
        fake_label: Target for fake predictions, in [0, 1].
    """

    def __init__(self, *, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        self.real_label = check_number("real_label", real_label)
        self.fake_label = check_number("fake_label", fake_label)
        for name, value in (("real_label", self.real_label), ("fake_label", self.fake_label)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1] for BCELoss, got {value}")

    def forward(self, predictions: Tensor | list, target_is_real: bool) -> Tensor:
        label = self.real_label if check_bool("target_is_real", target_is_real) else self.fake_label
        total = None
        for prediction in final_predictions(predictions, "predictions"):
            target = prediction.new_full(prediction.shape, label)
            term = F.binary_cross_entropy(prediction, target)
            total = term if total is None else total + term
        return total

    def extra_repr(self) -> str:
        return f"real_label={self.real_label}, fake_label={self.fake_label}"


class OriginalFeatureMatchingLoss(FeatureMatchingLoss):
    """[`FeatureMatchingLoss`][condgan_blocks.losses.feature_matching.FeatureMatchingLoss] that
    checks the inputs against the original's options.

    The original weights layers by ``4 / (n_layers_D + 1)`` and scales by ``1 / num_D`` from its
    options; ours derives both from the inputs. They agree when the inputs come from a
    discriminator built with those options, which this class checks.
    """

    def __init__(self, *, num_scales: int, num_layers: int, weight: float = 10.0) -> None:
        super().__init__(weight)
        self.num_scales = num_scales
        self.num_layers = num_layers

    def forward(self, fake_features: list, real_features: list) -> Tensor:
        for name, features in (("fake_features", fake_features), ("real_features", real_features)):
            lengths = [len(scale) for scale in as_scales(features, name)]
            if lengths != [self.num_layers + 2] * self.num_scales:
                raise ValueError(
                    f"{name} has {len(lengths)} scales with {lengths} outputs; the options "
                    f"(num_D={self.num_scales}, n_layers_D={self.num_layers}) expect "
                    f"{self.num_scales} scales of {self.num_layers + 2}"
                )
        return super().forward(fake_features, real_features)


class OriginalVGGLoss(nn.Module):
    """The original ``VGGLoss``: weighted L1 over VGG19 features, ``lambda_feat`` NOT included.

    Unlike [`VGGPerceptualLoss`][condgan_blocks.losses.perceptual.VGGPerceptualLoss], the
    [`VGG19Features`][condgan_blocks.losses.vgg19.VGG19Features] is a registered child (``vgg``), so
    the original ``Vgg19`` state dict loads through
    [`compat.pix2pixhd.load_state_dict`][condgan_blocks.compat.pix2pixhd.load_state_dict].

    Args:
        layer_weights: Weights of relu1_1 ... relu5_1 (the original's ``self.weights``).
        normalize: ``None``, the original's unnormalised [-1, 1] input, or "imagenet".
    """

    def __init__(
        self,
        *,
        layer_weights: Sequence[float] = DEFAULT_LAYER_WEIGHTS,
        normalize: str | None = None,
    ) -> None:
        super().__init__()
        self.layer_weights = _check_layer_weights(layer_weights)
        self.normalize = _check_normalize(normalize)
        self.vgg = VGG19Features(weights=None)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        # Two passes, y's under no_grad, as the original (which detaches y's features).
        return vgg_perceptual_loss(
            self.vgg,
            x,
            y,
            weight=1.0,
            layer_weights=self.layer_weights,
            normalize=self.normalize,
            batched=False,
        )


@register_kind("gan_loss")
def build_gan_loss(options: Options) -> nn.Module:
    use_lsgan = option(options, "use_lsgan", not option(options, "no_lsgan", DEFAULTS["no_lsgan"]))
    labels = {
        "real_label": option(options, "target_real_label", _LOSS_DEFAULTS["target_real_label"]),
        "fake_label": option(options, "target_fake_label", _LOSS_DEFAULTS["target_fake_label"]),
    }
    if use_lsgan:
        return GANLoss("lsgan", **labels)
    return ProbabilityBCEGANLoss(**labels)


@register_kind("feature_matching_loss")
def build_feature_matching_loss(options: Options) -> OriginalFeatureMatchingLoss:
    return OriginalFeatureMatchingLoss(
        num_scales=option(options, "num_D", DEFAULTS["num_D"]),
        num_layers=option(options, "n_layers_D", DEFAULTS["n_layers_D"]),
        weight=option(options, "lambda_feat", _LOSS_DEFAULTS["lambda_feat"]),
    )


@register_kind("vgg_loss")
def build_vgg_loss(options: Options) -> OriginalVGGLoss:
    # In these options ``weights`` is the original's LAYER weights, not a weights file.
    return OriginalVGGLoss(
        layer_weights=option(options, "weights", DEFAULT_LAYER_WEIGHTS),
        normalize=option(options, "input_normalization", None),
    )


# ---------------------------------------------------------------------------------------------
# Key maps: our sub-module path -> the original's sub-module path.


def vgg19_map(ours: str = "", original: str = "") -> dict[str, str]:
    """``features.<i>`` (torchvision's index) -> the original ``Vgg19``'s ``slice<s>.<i>``."""
    mapping = {}
    start = 0
    for s, end in enumerate(FEATURE_INDICES, start=1):
        for index in range(start, end + 1):
            mapping[f"{ours}features.{index}"] = f"{original}slice{s}.{index}"
        start = end + 1
    return mapping


def _prefix_of(original_keys: Collection[str] | None) -> str:
    # The original VGGLoss holds its Vgg19 as ``vgg``; accept both its keys and Vgg19's own.
    if original_keys is not None and any(key.startswith("vgg.slice") for key in original_keys):
        return "vgg."
    return ""


@register_key_map(VGG19Features)
def _vgg19_keys(_: VGG19Features, original_keys: Collection[str] | None) -> dict[str, str]:
    return vgg19_map("", _prefix_of(original_keys))


@register_key_map(OriginalVGGLoss)
def _vgg_loss_keys(_: OriginalVGGLoss, original_keys: Collection[str] | None) -> dict[str, str]:
    return vgg19_map("vgg.", _prefix_of(original_keys))


@register_key_map(GANLoss)
@register_key_map(ProbabilityBCEGANLoss)
@register_key_map(FeatureMatchingLoss)
def _stateless_keys(_: nn.Module, __: Collection[str] | None) -> dict[str, str]:
    return {}  # these losses hold no state
