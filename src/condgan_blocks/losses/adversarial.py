"""The adversarial loss: least squares (pix2pixHD), vanilla (cross-entropy on logits) or hinge."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_bool, check_number
from ..discriminators._nested import final_predictions
from ..layers._factory import check_choice

GAN_MODES = ("hinge", "lsgan", "vanilla")


def _check_labels(mode: str, real_label: object, fake_label: object) -> tuple[float, float]:
    real = check_number("real_label", real_label)
    fake = check_number("fake_label", fake_label)
    if mode == "vanilla":
        for name, value in (("real_label", real), ("fake_label", fake)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"{name} must be in [0, 1] for mode 'vanilla' (a probability target), "
                    f"got {value}"
                )
    return real, fake


def _one_scale(
    prediction: Tensor, mode: str, target_is_real: bool, label: float, for_discriminator: bool
) -> Tensor:
    if mode == "hinge":
        if not for_discriminator:
            return -prediction.mean()
        sign = -1.0 if target_is_real else 1.0
        return F.relu(1.0 + sign * prediction).mean()
    # A new target per call: the prediction's shape, dtype and device, never a cached tensor.
    target = prediction.new_full(prediction.shape, label)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    return F.binary_cross_entropy_with_logits(prediction, target)


def gan_loss(
    predictions: Tensor | list,
    target_is_real: bool,
    *,
    mode: str = "lsgan",
    real_label: float = 1.0,
    fake_label: float = 0.0,
    for_discriminator: bool = True,
) -> Tensor:
    """Adversarial loss of discriminator predictions, summed over scales.

    Per scale, with prediction p (raw scores, no sigmoid) and target t = ``real_label`` if
    ``target_is_real`` else ``fake_label``:

    - "lsgan": mean((p - t)^2), pix2pixHD's loss.
    - "vanilla": binary cross-entropy on logits, mean(softplus(p) - t * p), computed stably.
    - "hinge": for the discriminator, mean(relu(1 - p)) on real and mean(relu(1 + p)) on fake
      (the labels are not used); for the generator (``for_discriminator=False``), -mean(p).

    As in the original, a multi-scale output gives the **sum** over scales of each scale's loss
    on its last tensor. Unlike the original, a bare tensor is the prediction itself (the original
    would index its last batch element).

    Args:
        predictions: A prediction tensor; one discriminator's list of layer outputs (the last is
            the prediction); or a
            [`MultiscaleDiscriminator`][condgan_blocks.MultiscaleDiscriminator] output, a list of
            such lists.
        target_is_real: Whether the predictions should say "real".
        mode: "lsgan", "vanilla" or "hinge".
        real_label: Target value for real, e.g. 0.9 for one-sided label smoothing.
        fake_label: Target value for fake.
        for_discriminator: Only used by "hinge": the generator's hinge loss is -mean(p) and needs
            ``target_is_real=True``. The other modes compute the same formula for both players.

    Returns:
        A 0-dim tensor. Under autocast it may be float32 for low-precision predictions.

    Raises:
        TypeError: If ``predictions`` has another structure or a prediction is not floating, or
            a flag is not a bool.
        ValueError: For an unknown ``mode``, labels outside [0, 1] with "vanilla", an empty
            prediction, or a generator hinge loss with ``target_is_real=False``.

    Shape:
        - Each prediction: any shape, usually (N, 1, h, w).
        - Output: ().

    Examples:
        >>> import torch
        >>> pred = torch.full((1, 1, 4, 4), 0.5)
        >>> float(gan_loss(pred, True)), float(gan_loss([[pred], [pred]], False))
        (0.25, 0.5)
        >>> float(gan_loss(pred, False, mode="hinge"))
        1.5
    """
    check_choice("mode", mode, GAN_MODES)
    check_bool("target_is_real", target_is_real)
    check_bool("for_discriminator", for_discriminator)
    real, fake = _check_labels(mode, real_label, fake_label)
    if mode == "hinge" and not for_discriminator and not target_is_real:
        raise ValueError(
            "the generator's hinge loss is -mean(prediction) and aims for real: call it with "
            "target_is_real=True when for_discriminator=False"
        )
    scales = final_predictions(predictions, "predictions")
    for k, prediction in enumerate(scales):
        if not prediction.is_floating_point():
            raise TypeError(
                f"predictions must be floating tensors (raw discriminator scores), got dtype "
                f"{prediction.dtype} at scale {k}"
            )
        if prediction.numel() == 0:
            raise ValueError(f"the prediction of scale {k} is empty: {tuple(prediction.shape)}")
    label = real if target_is_real else fake
    total = _one_scale(scales[0], mode, target_is_real, label, for_discriminator)
    for prediction in scales[1:]:
        total = total + _one_scale(prediction, mode, target_is_real, label, for_discriminator)
    return total


class GANLoss(nn.Module):
    """Adversarial loss of a (multi-scale) discriminator; see
    [`gan_loss`][condgan_blocks.losses.adversarial.gan_loss].

    It holds no state and no cached target: targets are created at every call with the
    prediction's shape, dtype and device, so one instance serves any dtype and device.

    Args:
        mode: "lsgan" (pix2pixHD's default), "vanilla" (cross-entropy on logits: use a
            discriminator without sigmoid) or "hinge".
        real_label: Target for real predictions ("lsgan", "vanilla").
        fake_label: Target for fake predictions ("lsgan", "vanilla").

    Shape:
        - Input: a tensor, a list of tensors or a list of lists of tensors (see
          [`gan_loss`][condgan_blocks.losses.adversarial.gan_loss]).
        - Output: ().

    Examples:
        >>> import torch
        >>> from condgan_blocks import MultiscaleDiscriminator
        >>> disc = MultiscaleDiscriminator(6, num_scales=2, base_channels=8)
        >>> criterion = GANLoss("lsgan")
        >>> loss = criterion(disc(torch.randn(1, 6, 32, 32)), True)
        >>> loss.shape, bool(loss > 0)
        (torch.Size([]), True)
    """

    def __init__(
        self, mode: str = "lsgan", *, real_label: float = 1.0, fake_label: float = 0.0
    ) -> None:
        super().__init__()
        self.mode = check_choice("mode", mode, GAN_MODES)
        self.real_label, self.fake_label = _check_labels(mode, real_label, fake_label)

    def forward(
        self, predictions: Tensor | list, target_is_real: bool, *, for_discriminator: bool = True
    ) -> Tensor:
        """Loss of ``predictions`` against the real or fake target; see
        [`gan_loss`][condgan_blocks.losses.adversarial.gan_loss]."""
        return gan_loss(
            predictions,
            target_is_real,
            mode=self.mode,
            real_label=self.real_label,
            fake_label=self.fake_label,
            for_discriminator=for_discriminator,
        )

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, real_label={self.real_label}, fake_label={self.fake_label}"
