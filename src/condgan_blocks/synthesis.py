"""One inference path: label maps of any size to images, with a chosen style source.

[`Synthesizer`][condgan_blocks.synthesis.Synthesizer] is what the recipe's ``generate``, the
editor, [`Training.generate`][condgan_blocks.training.Training.generate], the tutorials and the
ONNX runner share: it pads the maps to the generator's size multiple (ids by replication, so
they stay exact), builds the generator's input exactly as training does
([`condition_map`][condgan_blocks.training.condition_map] plus the instance features), runs the
generator in eval mode without gradients, and crops back to the input size. The same maps,
styles and seed therefore give bit-identical images on every path.

[`generator_input_from_labels`][condgan_blocks.synthesis.generator_input_from_labels] builds the
generator's input from (edited) maps without padding; it replaces the two ``generator_input``
functions of ``condgan_blocks.editing`` and ``condgan_blocks.training``, now deprecated.

Examples:
    >>> import torch
    >>> from condgan_blocks import GlobalGenerator
    >>> generator = GlobalGenerator(4, base_channels=4, num_downsamples=2, num_blocks=1)
    >>> synthesizer = Synthesizer(generator, num_classes=3)
    >>> labels = torch.randint(0, 3, (1, 1, 13, 21))
    >>> synthesizer(labels, labels).shape  # padded to a multiple of 4 inside, cropped back
    torch.Size([1, 3, 13, 21])
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ._checks import check_image_batch, check_positive_int
from .instance.feature_bank import FeatureBank
from .instance.ids import check_instance_map, check_same_size
from .layers.padding import crop_padding
from .training.inputs import _with_features, condition_map
from .training.precision import autocast_context, resolve_precision

__all__ = ["Synthesizer", "generator_input_from_labels"]

GeneratorLike = nn.Module | Callable[[Tensor], Tensor]
"""A generator module, or a callable such as
[`OnnxGenerator`][condgan_blocks.export.OnnxGenerator] with a ``size_multiple`` attribute."""


def generator_input_from_labels(
    labels: Tensor,
    num_classes: int,
    *,
    instances: Tensor | None = None,
    features: Tensor | None = None,
    ignore_index: int | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """The generator's input for (edited) maps, in the original's channel order, unpadded.

    ``cat([one_hot(labels), boundary(instances), features], dim=1)``: the condition of
    [`condition_map`][condgan_blocks.training.condition_map] followed by the instance
    features, exactly what training feeds the generator.

    Args:
        labels: Label map (N, 1, H, W) or (N, H, W); with ``num_classes=0`` the input image
            (N, C_in, H, W) of image-to-image training.
        num_classes: Number of label classes K (``label_nc``).
        instances: Instance map of the same size, or None to leave the boundary map out (the
            original's ``--no_instance``).
        features: Optional feature map (N, C, H, W), e.g. from ``FeatureBank.feature_map``.
        ignore_index: Label whose pixels get an all-zero one-hot vector.
        dtype: Floating dtype of the result; by default the features' dtype, else float32.

    Returns:
        Tensor of shape (N, K + 1 + C, H, W), without the parts left out.

    Raises:
        TypeError: If ``features`` is not a floating tensor.
        ValueError: If the maps or features differ in size, or a label is outside
            ``[0, num_classes)``.

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) or (N, H, W); ``features``
          (N, C, H, W).
        - Output: (N, K + 1 + C, H, W), without the parts left out.

    Examples:
        >>> import torch
        >>> labels = torch.tensor([[[[0, 1], [1, 1]]]])
        >>> instances = torch.tensor([[[[0, 1000], [1000, 1000]]]])
        >>> x = generator_input_from_labels(labels, 2, instances=instances)
        >>> x.shape, x.dtype
        (torch.Size([1, 3, 2, 2]), torch.float32)
        >>> x[0, 1]
        tensor([[0., 1.],
                [1., 1.]])
        >>> generator_input_from_labels(labels, 2, features=torch.zeros(1, 3, 2, 2)).shape
        torch.Size([1, 5, 2, 2])
    """
    if num_classes != 0:
        labels = check_instance_map(labels, name="labels")
    if instances is not None:
        instances = check_instance_map(instances)
        check_same_size(labels, instances, name="labels")
    if features is not None:
        check_image_batch(features, name="features")
        check_same_size(features, labels)
        if not features.is_floating_point():
            raise TypeError(f"features must be a floating tensor, got dtype {features.dtype}")
        dtype = features.dtype if dtype is None else dtype
        features = features.to(dtype)
    dtype = torch.float32 if dtype is None else dtype
    condition = condition_map(
        labels, num_classes, instance=instances, ignore_index=ignore_index, dtype=dtype
    )
    return _with_features(condition, features)


def _padding(height: int, width: int, multiple: int, min_size: int) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` to the next multiple (at least ``min_size``), split evenly
    as ``pad_to_multiple`` splits it."""

    def target(size: int) -> int:
        return max(-(-size // multiple) * multiple, -(-min_size // multiple) * multiple)

    pad_h, pad_w = target(height) - height, target(width) - width
    return (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)


def _replicate_pad(x: Tensor, padding: tuple[int, int, int, int]) -> Tensor:
    """Pad H and W by repeating the border: exact for ids of any dtype, on any device."""
    if not any(padding):
        return x
    left, right, top, bottom = padding
    height, width = x.shape[-2:]
    rows = torch.arange(-top, height + bottom, device=x.device).clamp_(0, height - 1)
    cols = torch.arange(-left, width + right, device=x.device).clamp_(0, width - 1)
    return x.index_select(-2, rows).index_select(-1, cols)


@contextlib.contextmanager
def _eval_mode(*modules: object) -> Iterator[None]:
    """Put the torch modules among ``modules`` in eval mode; every submodule gets its own mode
    back after."""
    roots = [m for m in modules if isinstance(m, nn.Module)]
    modes = [(m, m.training) for root in roots for m in root.modules()]
    for root in roots:
        root.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _first_parameter(module: object) -> Tensor | None:
    if not isinstance(module, nn.Module):
        return None
    return next(itertools.chain(module.parameters(), module.buffers()), None)


def _check_ids(ids: Tensor, name: str) -> Tensor:
    if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
        raise TypeError(
            f"{name} must be an integer tensor of ids (e.g. int64), got dtype {ids.dtype}"
        )
    ids = check_instance_map(ids, name=name)
    if ids.shape[0] == 0 or ids.shape[-2] == 0 or ids.shape[-1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(ids.shape)}")
    return ids


class Synthesizer:
    """Images from label maps of any size: pad, condition, generate, crop.

    Wraps a generator (a [`GlobalGenerator`][condgan_blocks.GlobalGenerator], a
    [`LocalEnhancer`][condgan_blocks.LocalEnhancer], or a callable such as
    [`OnnxGenerator`][condgan_blocks.export.OnnxGenerator]) with what it was trained on: the
    number of classes, whether it sees the instance boundary map, and the source of its
    instance features, if it takes any: an
    [`InstanceFeatureEncoder`][condgan_blocks.InstanceFeatureEncoder] (features of a real
    image) and/or a [`FeatureBank`][condgan_blocks.FeatureBank] (cluster centres, drawn with a
    seed or chosen per instance).

    A call runs the whole inference path:

    1. the style features at the input size: ``features`` as given, the encoder's pooled
       features of ``image``, or the bank's centres (``choices`` for the instances named,
       draws from ``torch.Generator().manual_seed(seed)`` on the maps' device for the others);
    2. padding of the maps and features by replication (never interpolation: ids stay exact)
       to a multiple of ``size_multiple`` that is at least ``min_size``, split evenly between
       the two sides as [`pad_to_multiple`][condgan_blocks.pad_to_multiple] splits it;
    3. the generator's input, built as training builds it
       ([`generator_input_from_labels`][condgan_blocks.synthesis.generator_input_from_labels]);
    4. the generator, in eval mode (every submodule gets its own mode back after), under
       ``torch.no_grad`` and the autocast of ``precision``;
    5. cropping back to the input size; float32 on the device of ``labels``.

    Args:
        generator: The network, or a callable taking the padded input (N, C, H', W').
        num_classes: Number of label classes K; 0 for image-to-image generators, whose
            ``labels`` are input images (N, C_in, H, W).
        use_instances: Whether the generator sees the instance boundary map.
        encoder: The instance feature encoder, for ``image=`` styles.
        bank: The feature bank, for drawn and chosen styles.
        feature_channels: Channels of the instance features; by default the encoder's or the
            bank's (0 when there is neither).
        ignore_index: A label id whose pixels get an all-zero one-hot vector.
        size_multiple: The number H and W must be divisible by; by default the generator's
            ``size_multiple``.
        min_size: The smallest H and W the generator accepts; by default its ``min_size``
            (1 when it has none).
        precision: "fp32", "bf16", "fp16" (CUDA only) or "auto" (bf16 where the device computes
            it in hardware, else fp32): the autocast of the networks.
        device: Where the networks run; by default the generator's (or encoder's) parameters'
            device, else the CPU.
        dtype: Floating dtype of the generator's input; by default its parameters' (an
            ``OnnxGenerator``'s ``dtype``), else float32.

    Raises:
        TypeError: If the generator is not callable, or the encoder or bank has the wrong type.
        ValueError: If the generator's ``in_channels`` differs from the condition and feature
            channels, the encoder and bank disagree in feature channels, or the size multiple
            is unknown.

    Shape:
        - Input: ``labels`` and ``instances`` (N, 1, H, W) of any H, W; ``image``
          (N, C_img, H, W); ``features`` (N, feature_channels, H, W).
        - Output: (N, out_channels, H, W) float32, in [-1, 1] for a tanh head.

    Examples:
        >>> import torch
        >>> from condgan_blocks import FeatureBank, GlobalGenerator
        >>> bank = FeatureBank(2)
        >>> instances = torch.tensor([[[[1, 1, 2, 2]]]]).expand(1, 1, 4, 4)
        >>> _ = bank.add(torch.rand(1, 2, 4, 4), instances)
        >>> _ = bank.fit(1, min_area=0)
        >>> generator = GlobalGenerator(3 + 1 + 2, base_channels=4, num_downsamples=1,
        ...                             num_blocks=1)
        >>> synthesizer = Synthesizer(generator, 3, bank=bank)
        >>> synthesizer.in_channels, synthesizer.num_styles
        (6, {1: 1, 2: 1})
        >>> synthesizer.style_populations  # one instance per class: each cluster holds it
        {1: [1], 2: [1]}
        >>> labels = instances.clone()
        >>> image = synthesizer(labels, instances, {2: 0}, seed=7)
        >>> image.shape, bool(image.abs().max() <= 1)
        (torch.Size([1, 3, 4, 4]), True)
        >>> torch.equal(image, synthesizer(labels, instances, {2: 0}, seed=7))
        True
    """

    def __init__(
        self,
        generator: GeneratorLike,
        num_classes: int,
        *,
        use_instances: bool = True,
        encoder: nn.Module | None = None,
        bank: FeatureBank | None = None,
        feature_channels: int | None = None,
        ignore_index: int | None = None,
        size_multiple: int | None = None,
        min_size: int | None = None,
        precision: str = "fp32",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not callable(generator):
            raise TypeError(f"generator must be callable, got {type(generator).__name__}")
        self.generator = generator
        self.num_classes = check_positive_int("num_classes", num_classes, minimum=0)
        if not isinstance(use_instances, bool):
            raise TypeError(f"use_instances must be a bool, got {use_instances!r}")
        self.use_instances = use_instances
        if encoder is not None and not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be an nn.Module or None, got {type(encoder).__name__}")
        if bank is not None and not isinstance(bank, FeatureBank):
            raise TypeError(f"bank must be a FeatureBank or None, got {type(bank).__name__}")
        if self.num_classes == 0 and (encoder is not None or bank is not None):
            raise ValueError(
                "instance features need label maps: num_classes=0 (image input) takes no "
                "encoder and no bank"
            )
        self.encoder = encoder
        self.bank = bank
        self.feature_channels = self._feature_channels(feature_channels)
        if ignore_index is not None:
            check_positive_int("ignore_index", ignore_index, minimum=None)
        self.ignore_index = ignore_index
        if size_multiple is None:
            size_multiple = getattr(generator, "size_multiple", None)
            if size_multiple is None:
                raise ValueError(
                    f"size_multiple is needed: the generator ({type(generator).__name__}) has "
                    "no size_multiple attribute"
                )
        self.size_multiple = check_positive_int("size_multiple", int(size_multiple))
        if min_size is None:
            min_size = getattr(generator, "min_size", 1)
        self.min_size = check_positive_int("min_size", int(min_size))
        reference = _first_parameter(generator)
        if reference is None:
            reference = _first_parameter(encoder)
        if device is None:
            device = "cpu" if reference is None else reference.device
        self.device = torch.device(device)
        # checks precision (and fp16 on CUDA only); "auto" becomes this device's fast one
        self.precision = resolve_precision(precision, self.device)
        if dtype is None:
            dtype = getattr(generator, "dtype", None)
        if dtype is None:
            param = _first_parameter(generator)
            dtype = param.dtype if param is not None and param.is_floating_point() else None
        self.dtype = torch.float32 if dtype is None else dtype
        if not isinstance(self.dtype, torch.dtype) or not self.dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {self.dtype!r}")
        expected = getattr(generator, "in_channels", None)
        if isinstance(expected, int) and self.in_channels not in (None, expected):
            raise ValueError(
                f"the generator takes {expected} input channels, but {self._channel_text()} "
                f"give {self.in_channels} channels"
            )

    def _feature_channels(self, feature_channels: int | None) -> int:
        known = {
            name: int(channels)
            for name, channels in (
                ("encoder", getattr(self.encoder, "feature_channels", None)),
                ("bank", None if self.bank is None else self.bank.feature_channels),
                ("feature_channels", feature_channels),
            )
            if channels is not None
        }
        if len(set(known.values())) > 1:
            raise ValueError(f"the feature channels disagree: {known}")
        value = next(iter(known.values()), 0)
        return check_positive_int("feature_channels", value, minimum=0)

    def _channel_text(self) -> str:
        parts = [f"num_classes={self.num_classes}"]
        if self.use_instances:
            parts.append("the boundary map (1)")
        if self.feature_channels:
            parts.append(f"feature_channels={self.feature_channels}")
        return " + ".join(parts)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_training(
        cls,
        training: Any,
        *,
        bank: FeatureBank | None = None,
        precision: str | None = None,
        generator: GeneratorLike | None = None,
    ) -> Synthesizer:
        """The synthesizer of a [`Training`][condgan_blocks.training.Training] run.

        Uses its generator (the EMA average when there is one), encoder, configuration
        (classes, boundary map, ``ignore_index``, precision), device and parameter dtype.

        Args:
            training: The run.
            bank: Its feature bank, for drawn and chosen styles.
            precision: Overrides the run's precision.
            generator: Another network for the same input, e.g. the run's generator exported
                to ONNX (an [`OnnxGenerator`][condgan_blocks.export.OnnxGenerator]).

        Returns:
            A new Synthesizer.

        Examples:
            >>> from condgan_blocks.training import (GeneratorConfig, LossConfig, TrainingConfig,
            ...                                      build_training)
            >>> config = TrainingConfig(num_classes=7, losses=LossConfig(vgg_weight=0.0),
            ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1))
            >>> synthesizer = Synthesizer.from_training(build_training(config))
            >>> synthesizer.in_channels, synthesizer.size_multiple
            (8, 2)
        """
        config = training.config
        network = training.generator if generator is None else generator
        return cls(
            network,
            config.num_classes,
            use_instances=config.use_instances,
            encoder=training.models.encoder,
            bank=bank,
            feature_channels=0 if config.encoder is None else config.encoder.feature_channels,
            ignore_index=config.ignore_index,
            precision=config.precision if precision is None else precision,
            device=training.device,
            dtype=getattr(network, "dtype", None) if generator is not None else training.dtype,
        )

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        *,
        bank: FeatureBank | str | os.PathLike | None = None,
        device: str = "cpu",
        precision: str | None = None,
    ) -> Synthesizer:
        """The synthesizer of a training checkpoint (a ``.pt`` file or a run folder).

        The checkpoint is read safely (``weights_only``) with
        [`load_checkpoint`][condgan_blocks.training.load_checkpoint]; its stored configuration
        rebuilds the run with
        [`build_training`][condgan_blocks.training.build_training] (which checks the file),
        on ``device``, without the VGG loss (no ImageNet weights are needed), and nothing is
        written.

        Args:
            path: A checkpoint file, or a folder holding ``latest.pt``.
            bank: A [`FeatureBank`][condgan_blocks.FeatureBank] or the path of one saved with
                ``FeatureBank.save``.
            device: Where the networks run.
            precision: Overrides the stored precision (by default the stored one; "fp32" for
                a run stored with "fp16" when ``device`` is not CUDA).

        Returns:
            A new Synthesizer.

        Raises:
            FileNotFoundError: If there is no checkpoint (or bank file) at the path.
            CheckpointError: If the checkpoint is corrupt or of another kind.

        Examples:
            >>> import tempfile
            >>> from condgan_blocks.training import (GeneratorConfig, LossConfig, TrainingConfig,
            ...                                      build_training)
            >>> folder = tempfile.mkdtemp()
            >>> config = TrainingConfig(num_classes=7, output_dir=folder,
            ...     losses=LossConfig(vgg_weight=0.0),
            ...     generator=GeneratorConfig(base_channels=4, num_downsamples=1, num_blocks=1))
            >>> path = build_training(config).save()
            >>> Synthesizer.from_checkpoint(folder).in_channels
            8
        """
        import dataclasses

        from .training.checkpoint import load_checkpoint, resolve_checkpoint_path
        from .training.config import TrainingConfig
        from .training.trainer import build_training

        path = resolve_checkpoint_path(path)
        stored = TrainingConfig.from_dict(load_checkpoint(path, map_location="cpu")["config"])
        if precision is None:  # a run trained in fp16 on a GPU generates in fp32 elsewhere
            on_cuda = torch.device(device).type == "cuda"
            precision = "fp32" if stored.precision == "fp16" and not on_cuda else stored.precision
        config = dataclasses.replace(
            stored,
            device=device,
            precision=precision,
            compile=False,
            output_dir=None,
            # Generation needs no VGG loss (and so no ImageNet weights).
            losses=dataclasses.replace(stored.losses, vgg_weight=0.0),
        )
        training = build_training(config, resume=path)
        if bank is not None and not isinstance(bank, FeatureBank):
            channels = 0 if config.encoder is None else config.encoder.feature_channels
            bank = FeatureBank.load(bank, feature_channels=channels or None)
        return cls.from_training(training, bank=bank)

    def with_generator(
        self,
        generator: GeneratorLike,
        *,
        size_multiple: int | None = None,
        min_size: int | None = None,
        dtype: torch.dtype | None = None,
    ) -> Synthesizer:
        """The same synthesizer (classes, encoder, bank, precision) with another network.

        For a deployment backend, such as an
        [`OnnxGenerator`][condgan_blocks.export.OnnxGenerator] exported from this generator:
        the padding, condition and styles stay those of this path.

        Args:
            generator: The network, a module or a callable with a ``size_multiple``.
            size_multiple: Overrides its ``size_multiple``.
            min_size: Overrides its ``min_size``.
            dtype: Overrides the dtype of its input (by default its ``dtype`` or parameters').

        Returns:
            A new Synthesizer.

        Raises:
            ValueError: If the network takes another number of input channels.

        Examples:
            >>> from condgan_blocks import GlobalGenerator
            >>> synthesizer = Synthesizer(GlobalGenerator(4, num_downsamples=1, num_blocks=1), 3)
            >>> wider = synthesizer.with_generator(GlobalGenerator(4, num_downsamples=3))
            >>> wider.size_multiple
            8
        """
        return Synthesizer(
            generator,
            self.num_classes,
            use_instances=self.use_instances,
            encoder=self.encoder,
            bank=self.bank,
            feature_channels=self.feature_channels,
            ignore_index=self.ignore_index,
            size_multiple=size_multiple,
            min_size=min_size,
            precision=self.precision,
            device=self.device,
            dtype=dtype,
        )

    # -- properties ---------------------------------------------------------------------------

    @property
    def in_channels(self) -> int | None:
        """Channels of the generator's input: classes, boundary map and features (None with
        ``num_classes=0``, where the input image's channels count)."""
        if not self.num_classes:
            return None
        return self.num_classes + int(self.use_instances) + self.feature_channels

    @property
    def num_styles(self) -> dict[int, int]:
        """``{class: number of clusters}`` of the bank (empty without one)."""
        if self.bank is None:
            return {}
        return {label: len(centers) for label, centers in self.bank.centers.items()}

    @property
    def style_populations(self) -> dict[int, list[int]]:
        """``{class: instances each cluster stands for}`` of the bank (empty without a bank or
        for a bank without populations): how often `__call__` draws each style, and the
        editor's random styles with it."""
        if self.bank is None:
            return {}
        return {label: sizes.tolist() for label, sizes in self.bank.populations.items()}

    def padding(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The padding a map of size (height, width) gets: ``(left, right, top, bottom)``.

        Examples:
            >>> from condgan_blocks import GlobalGenerator
            >>> generator = GlobalGenerator(4, base_channels=4, num_downsamples=2, num_blocks=1)
            >>> Synthesizer(generator, 3).padding(13, 21)
            (1, 2, 1, 2)
        """
        check_positive_int("height", height)
        check_positive_int("width", width)
        return _padding(height, width, self.size_multiple, self.min_size)

    def __repr__(self) -> str:
        return (
            f"Synthesizer({type(self.generator).__name__}, num_classes={self.num_classes}, "
            f"use_instances={self.use_instances}, feature_channels={self.feature_channels}, "
            f"encoder={self.encoder is not None}, bank={self.bank is not None}, "
            f"size_multiple={self.size_multiple}, min_size={self.min_size}, "
            f"precision={self.precision!r}, device={str(self.device)!r})"
        )

    # -- styles -------------------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, image: Tensor, instances: Tensor) -> Tensor:
        """The encoder's instance-pooled features of real images of any size.

        The image is padded by replication to the encoder's size multiple (the ids with it),
        encoded in eval mode and cropped back.

        Args:
            image: Real images (N, C_img, H, W) in [-1, 1].
            instances: Instance map (N, 1, H, W), integer ids.

        Returns:
            Features (N, feature_channels, H, W) in ``dtype``, on the image's device, constant
            inside every instance.

        Raises:
            ValueError: Without an encoder, or if the shapes disagree.
            TypeError: If the image is not floating or the ids not integers.

        Examples:
            >>> import torch
            >>> from condgan_blocks import GlobalGenerator, InstanceFeatureEncoder
            >>> encoder = InstanceFeatureEncoder(base_channels=4, num_downsamples=2)
            >>> generator = GlobalGenerator(3 + 1 + 3, base_channels=4, num_downsamples=1)
            >>> synthesizer = Synthesizer(generator, 3, encoder=encoder)
            >>> instances = torch.zeros(1, 1, 9, 10, dtype=torch.long)
            >>> synthesizer.encode(torch.rand(1, 3, 9, 10), instances).shape
            torch.Size([1, 3, 9, 10])
        """
        if self.encoder is None:
            raise ValueError("this Synthesizer has no encoder: build it with encoder=...")
        check_image_batch(image, name="image")
        if not image.is_floating_point():
            raise TypeError(f"image must be a floating tensor in [-1, 1], got dtype {image.dtype}")
        instances = _check_ids(instances, "instances")
        check_same_size(image, instances, name="image")
        multiple = int(getattr(self.encoder, "size_multiple", 1))
        padding = _padding(*image.shape[-2:], multiple, 1)
        weight = _first_parameter(self.encoder)
        dtype = weight.dtype if weight is not None and weight.is_floating_point() else self.dtype
        padded = _replicate_pad(image.to(self.device, dtype), padding)
        ids = _replicate_pad(instances.to(self.device), padding)
        with _eval_mode(self.encoder), autocast_context(self.precision, self.device):
            features = self.encoder(padded, ids)
        return crop_padding(features, padding).to(image.device, self.dtype)

    def style_features(
        self,
        labels: Tensor,
        instances: Tensor | None = None,
        choices: Mapping[int, int] | None = None,
        *,
        seed: int = 0,
        image: Tensor | None = None,
        features: Tensor | None = None,
    ) -> Tensor | None:
        """The instance features a call uses, at the input size (None without features).

        Exactly one source: ``features`` as given, the encoded ``image``, or the bank: chosen
        centres for the instances in ``choices``, draws seeded with ``seed`` for the others
        (the same seed draws the same centres for them, with or without choices).

        Args:
            labels: Label map (N, 1, H, W).
            instances: Instance map of the same size (needed by the encoder and the bank).
            choices: ``{instance id: cluster}`` for the bank.
            seed: Seed of the bank's draws.
            image: Real images (N, C_img, H, W) for the encoder.
            features: A feature map (N, feature_channels, H, W).

        Returns:
            Features (N, feature_channels, H, W) in ``dtype`` on the Synthesizer's device, or
            None when the generator takes none.

        Raises:
            ValueError: If the sources conflict, the needed one is missing, or a shape differs.

        Examples:
            >>> import torch
            >>> from condgan_blocks import FeatureBank, GlobalGenerator
            >>> bank = FeatureBank(1)
            >>> instances = torch.tensor([[[[1, 2]]]])
            >>> _ = bank.add(torch.tensor([[[[0.5, -0.5]]]]), instances)
            >>> synthesizer = Synthesizer(GlobalGenerator(4), 2, bank=bank.fit(1, min_area=0))
            >>> synthesizer.style_features(instances, instances, {2: 0})
            tensor([[[[ 0.5000, -0.5000]]]])
        """
        named = [n for n, v in (("features", features), ("image", image)) if v is not None]
        if choices:
            named.append("choices")
        if not self.feature_channels:
            if named:
                raise ValueError(
                    f"this generator takes no instance features, got {' and '.join(named)}"
                )
            return None
        if len(named) > 1:
            raise ValueError(f"give one style source, got {' and '.join(named)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
        if features is not None:
            check_image_batch(features, self.feature_channels, name="features")
            check_same_size(features, labels)
            if not features.is_floating_point():
                raise TypeError(f"features must be a floating tensor, got dtype {features.dtype}")
            return features.to(self.device, self.dtype)
        if instances is None:
            raise ValueError(
                "instances are needed for instance features (pass the label map as instances "
                "to treat every class region as one instance)"
            )
        if image is not None:
            return self.encode(image, instances).to(self.device)
        if self.bank is None:
            raise ValueError(
                "this generator takes instance features: pass features=, image= (with an "
                "encoder) or build the Synthesizer with a bank"
            )
        # Drawn where the maps are (CPU maps: the same styles whatever runs the networks).
        generator = torch.Generator(device=instances.device).manual_seed(seed)
        labels = labels.to(instances.device)
        if choices:
            drawn = self.bank.feature_map(instances, choices, labels, generator=generator)
        else:
            drawn = self.bank.sample(instances, labels, generator=generator)
        return drawn.to(self.device, self.dtype)

    # -- generation ---------------------------------------------------------------------------

    def _check_maps(self, labels: Tensor, instances: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.num_classes:
            labels = _check_ids(labels, "labels")
            low, high = (int(v) for v in torch.aminmax(labels.to(torch.int64)))
            valid = range(self.num_classes)
            if low not in valid or high not in valid:
                ids = labels.unique()
                bad = [i for i in ids.tolist() if i not in valid and i != self.ignore_index]
                if bad:
                    raise ValueError(
                        f"labels must be class ids in [0, {self.num_classes}), found {bad[:10]} "
                        f"in a map of shape {tuple(labels.shape)}"
                    )
        else:
            check_image_batch(labels, name="labels")
            if not labels.is_floating_point():
                raise TypeError(
                    f"with num_classes=0 labels must be a floating input image, got dtype "
                    f"{labels.dtype}"
                )
        if instances is not None:
            instances = _check_ids(instances, "instances")
            check_same_size(labels, instances, name="labels")
            if int(instances.min()) < 0:
                raise ValueError("instances must be non-negative ids")
        elif self.use_instances:
            raise ValueError(
                "this generator sees the instance boundary map: pass instances (or the label "
                "map itself to use class boundaries)"
            )
        return labels, instances

    @torch.no_grad()
    def generate(
        self,
        labels: Tensor,
        instances: Tensor | None = None,
        choices: Mapping[int, int] | None = None,
        *,
        seed: int = 0,
        image: Tensor | None = None,
        features: Tensor | None = None,
    ) -> Tensor:
        """Images for label maps of any size (also the call of the object).

        Args:
            labels: Label map (N, 1, H, W) of integer class ids (with ``num_classes=0``: the
                input image, floating).
            instances: Instance map of the same size: needed for the boundary map and for the
                encoder's and bank's features.
            choices: ``{instance id: cluster}`` of the bank's centres (the editor's
                ``GenerateFn`` signature: ``synthesizer(labels, instances, choices)``).
            seed: Seed of the bank's draws for the instances not in ``choices``.
            image: Real images (N, C_img, H, W) in [-1, 1], whose encoded features give the
                styles.
            features: An explicit feature map (N, feature_channels, H, W).

        Returns:
            Float32 images (N, out_channels, H, W) on the device of ``labels``.

        Raises:
            TypeError: If ids are not integers, or images or features not floating.
            ValueError: If the shapes disagree, a label is not a class id, instances are
                missing where needed, or the style sources conflict (see
                [`style_features`][condgan_blocks.synthesis.Synthesizer.style_features]).

        Examples:
            >>> import torch
            >>> from condgan_blocks import LocalEnhancer
            >>> generator = LocalEnhancer(3, base_channels=4, num_downsamples_global=1,
            ...                           num_blocks_global=1, num_blocks_local=1)
            >>> labels = torch.randint(0, 2, (2, 1, 5, 7))
            >>> Synthesizer(generator, 2).generate(labels, labels).shape
            torch.Size([2, 3, 5, 7])
        """
        labels, instances = self._check_maps(labels, instances)
        styles = self.style_features(
            labels, instances, choices, seed=seed, image=image, features=features
        )
        padding = self.padding(*labels.shape[-2:])
        padded_labels = _replicate_pad(labels.to(self.device), padding)
        padded_instances = None
        if self.use_instances:
            padded_instances = _replicate_pad(instances.to(self.device), padding)
        if styles is not None:
            styles = _replicate_pad(styles, padding)
        x = generator_input_from_labels(
            padded_labels,
            self.num_classes,
            instances=padded_instances,
            features=styles,
            ignore_index=self.ignore_index,
            dtype=self.dtype,
        )
        with _eval_mode(self.generator), autocast_context(self.precision, self.device):
            fake = self.generator(x)
        return crop_padding(fake, padding).to(labels.device, torch.float32)

    __call__ = generate
