"""A small fully-convolutional segmentation network, its training loop and its files.

The paper scores synthesised images with a segmentation network trained on real images
(PSPNet on Cityscapes).
[`SegmentationNet`][condgan_blocks.evaluation.SegmentationNet] is a small stand-in that trains
in a minute on a CPU: the recipe trains it on the real training images, caches it, and segments
real, synthesised and flat-colour images with it.
[`load_segmenter`][condgan_blocks.evaluation.load_segmenter] also reads a user's own network,
as TorchScript or as a ``torch.export`` program, each checked before it is loaded.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from .._checks import check_image_batch, check_positive_int
from .._files.archive import check_input_file, check_zip, load_torch_file
from .._files.atomic import atomic_write
from .._files.program_check import read_program_archive
from ..layers.padding import crop_padding, pad_to_multiple

logger = logging.getLogger(__name__)

SEGMENTER_FORMAT = "condgan_blocks.segmenter"
_ARCH_KEYS = ("in_channels", "num_classes", "base_channels", "num_downsamples")
_WHAT = "segmenter file"
_TRAIN_PRECISIONS = ("fp32", "bf16")


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SegmentationNet(nn.Module):
    """A small encoder-decoder that predicts class logits for every pixel.

    Layout: a 3x3 ``stem``; ``num_downsamples`` stride-2 ``stages`` doubling the channels; a
    ``context`` block of two 3x3 convolutions; bilinear upsampling to full size, concatenated
    with the stem's output (``fuse``); a 1x1 ``head`` to the class logits. Batch norm and ReLU
    throughout.

    Args:
        in_channels: Image channels.
        num_classes: Number of classes K.
        base_channels: Channels of the stem.
        num_downsamples: Stride-2 stages.

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of ``size_multiple``
          ([`segment`][condgan_blocks.evaluation.segment] pads any size).
        - Output: (N, K, H, W) logits.

    Examples:
        >>> net = SegmentationNet(3, 7, base_channels=4)
        >>> net(torch.randn(2, 3, 16, 24)).shape
        torch.Size([2, 7, 16, 24])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        base_channels: int = 16,
        num_downsamples: int = 2,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.base_channels = check_positive_int("base_channels", base_channels)
        self.num_downsamples = check_positive_int("num_downsamples", num_downsamples, minimum=0)
        self.size_multiple = 2**num_downsamples
        widths = [base_channels * 2**i for i in range(num_downsamples + 1)]
        self.stem = _conv(in_channels, base_channels)
        self.stages = nn.ModuleList(
            _conv(w_in, w_out, stride=2) for w_in, w_out in itertools.pairwise(widths)
        )
        self.context = nn.Sequential(_conv(widths[-1], widths[-1]), _conv(widths[-1], widths[-1]))
        self.fuse = _conv(widths[-1] + base_channels, base_channels)
        self.head = nn.Conv2d(base_channels, num_classes, 1)

    def config(self) -> dict[str, int]:
        """The constructor arguments, as ``save_segmenter`` saves them."""
        return {key: getattr(self, key) for key in _ARCH_KEYS}

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            # str() concatenation: the module stays scriptable (TorchScript)
            raise ValueError(
                "expected input of shape (N, "
                + str(self.in_channels)
                + ", H, W), got "
                + str(list(x.shape))
            )
        skip = self.stem(x)
        y = skip
        for stage in self.stages:
            y = stage(y)
        y = self.context(y)
        y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        # fuse's convolution of cat([y, skip]) as the sum of its two halves: the same sum
        # without the concatenated copy (a training epoch 17% faster on a CPU)
        weight, wide = self.fuse[0].weight, y.shape[1]
        fused = F.conv2d(y, weight[:, :wide], padding=1) + F.conv2d(
            skip, weight[:, wide:], padding=1
        )
        return self.head(self.fuse[2](self.fuse[1](fused)))


def _collate_pairs(samples: list[dict[str, Any]]) -> tuple[Tensor, Tensor]:
    images = torch.stack([s["image"] for s in samples])
    labels = torch.stack([s["label"] for s in samples])[:, 0].long()
    return images, labels


def train_segmenter(
    model: nn.Module,
    dataset: Dataset,
    *,
    epochs: int = 10,
    batch_size: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    ignore_index: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
) -> list[float]:
    """Train ``model`` on the real images of ``dataset`` with cross-entropy and Adam.

    Seeded: the same seed, data and model give the same weights. The learning rate decays
    with a cosine schedule to 0 over the run.

    Args:
        model: A network mapping (N, C, H, W) images to (N, K, H, W) logits.
        dataset: Sample dicts with ``image`` (C, H, W) and ``label`` (1, H, W), all one size.
        epochs: Passes over the dataset.
        batch_size: Samples per step.
        lr: Initial Adam learning rate.
        seed: Seed of the weights' shuffling and flips.
        ignore_index: A label id left out of the loss.
        flip: Flip every batch horizontally with probability 1/2.
        device: Where to train.
        progress: Show a tqdm bar (None: when stderr is a terminal and tqdm is installed).
        on_epoch: Called after every epoch with the epoch (from 1) and its mean loss.
        precision: "fp32", or "bf16" to run the forward pass under bf16 autocast (the loss
            and the weights stay fp32). About 1.8x faster on a recent CPU.
        channels_last: Train in the channels-last memory format (about 1.8x faster on a CPU
            for this network, fp32 or bf16; both together about 3x).

    Returns:
        The mean loss of every epoch.

    Raises:
        ValueError: For a precision other than "fp32" and "bf16", a non-positive epochs or
            batch_size.

    Examples:
        >>> from condgan_blocks.data import SyntheticScenes
        >>> net = SegmentationNet(3, 7, base_channels=4, num_downsamples=1)
        >>> losses = train_segmenter(net, SyntheticScenes(4, size=(16, 16)), epochs=2)
        >>> len(losses), losses[1] < losses[0]
        (2, True)
    """
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if precision not in _TRAIN_PRECISIONS:
        raise ValueError(f"precision must be one of {_TRAIN_PRECISIONS}, got {precision!r}")
    if not isinstance(channels_last, bool):
        raise TypeError(f"channels_last must be a bool, got {channels_last!r}")
    device = torch.device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=generator, collate_fn=_collate_pairs
    )
    model.to(device, memory_format=memory_format).train()
    from ..training.models import adam  # fused where available; no import cycle at load time
    from ..training.precision import autocast_context

    optimizer = adam(list(model.parameters()), lr=lr, betas=(0.9, 0.999))
    total_steps = epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))
    )
    bar = _progress_bar(total_steps, "segmenter", progress)
    history = []
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            if flip and bool(torch.rand((), generator=generator) < 0.5):
                images, labels = images.flip(-1), labels.flip(-1)
            images = images.contiguous(memory_format=memory_format)
            with autocast_context(precision, device):
                logits = model(images)
            loss = F.cross_entropy(
                logits.float(), labels, ignore_index=-100 if ignore_index is None else ignore_index
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            value = loss.item()
            total += value * images.shape[0]
            count += images.shape[0]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{value:.3f}")
        history.append(total / max(count, 1))
        logger.info("segmenter epoch %d/%d: loss %.4f", epoch, epochs, history[-1])
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    if bar is not None:
        bar.close()
    model.to(memory_format=torch.contiguous_format).eval()
    return history


def _progress_bar(total: int, description: str, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, dynamic_ncols=True, leave=False)


@torch.no_grad()
def segment(model: Callable[[Tensor], Tensor], images: Tensor, *, batch_size: int = 16) -> Tensor:
    """The predicted class of every pixel, for images of any size.

    Images are padded (replicate) to the model's ``size_multiple`` when it has one, and the
    logits cropped back.

    Args:
        model: A network mapping (N, C, H, W) images to (N, K, H, W) logits, in eval mode.
        images: (N, C, H, W) images in the range the model was trained on.
        batch_size: Images per forward pass.

    Returns:
        int64 tensor of shape (N, 1, H, W).

    Examples:
        >>> net = SegmentationNet(3, 5, base_channels=4).eval()
        >>> segment(net, torch.randn(1, 3, 13, 21)).shape
        torch.Size([1, 1, 13, 21])
    """
    check_image_batch(images, name="images")
    check_positive_int("batch_size", batch_size)
    multiple = int(getattr(model, "size_multiple", 1))
    out = []
    for chunk in images.split(batch_size):
        padded, padding = pad_to_multiple(chunk, multiple, "replicate")
        logits = crop_padding(model(padded), padding)
        out.append(logits.argmax(1, keepdim=True))
    return torch.cat(out)


def save_segmenter(model: SegmentationNet, path: str | os.PathLike) -> Path:
    """Write a ``SegmentationNet`` (arguments and weights) to ``path`` atomically.

    The file is read back with ``torch.load(weights_only=True)``: nothing is unpickled. It is
    written to a temporary file in the same folder, then renamed over ``path``.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        TypeError: If ``model`` is not a ``SegmentationNet``.

    Examples:
        >>> import os, tempfile
        >>> net = SegmentationNet(3, 5, base_channels=4)
        >>> path = save_segmenter(net, os.path.join(tempfile.mkdtemp(), "segmenter.pt"))
        >>> path.name, path.is_file()
        ('segmenter.pt', True)
    """
    if not isinstance(model, SegmentationNet):
        raise TypeError(f"model must be a SegmentationNet, got {type(model).__name__}")
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": SEGMENTER_FORMAT, "config": model.config(), "state_dict": state}
    with atomic_write(path) as file:
        torch.save(payload, file)
    return path


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def load_segmenter(
    path: str | os.PathLike, *, map_location: torch.device | str = "cpu"
) -> Callable[[Tensor], Tensor]:
    """Read a segmentation network for [`segment`][condgan_blocks.evaluation.segment], in eval mode.

    Three kinds of file are read, each checked before it is loaded:

    - a file written by [`save_segmenter`][condgan_blocks.evaluation.save_segmenter]: its
      zip records' CRC32 are verified and it is read with ``torch.load(weights_only=True)``,
      which never runs code from the file;
    - a ``torch.export`` program (suffix ``.pt2``, ``torch.export.save``): refused if it holds a
      pickle, compiled code, or a graph that calls anything but ``torch.ops`` operators (see
      [`load_program`][condgan_blocks.export.load_program]); running it runs those operators;
    - a TorchScript archive (``torch.jit.save``): its CRC32 are verified, but TorchScript is a
      program: its code runs when the network is called. Load only archives you trust.

    The last two may hold any network mapping (N, C, H, W) images in [-1, 1] to (N, K, H, W)
    logits.

    Shape:
        - Input of the returned network: (N, C, H, W) images in [-1, 1].
        - Output of the returned network: (N, K, H, W) logits.

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is empty, truncated, damaged, unsafe to load (the message names
            the file and the member), or none of the three kinds.

    Examples:
        >>> import os, tempfile
        >>> net = SegmentationNet(3, 5, base_channels=4)
        >>> path = save_segmenter(net, os.path.join(tempfile.mkdtemp(), "segmenter.pt"))
        >>> model = load_segmenter(path)
        >>> type(model).__name__, model.training
        ('SegmentationNet', False)
        >>> x = torch.randn(1, 3, 16, 16)
        >>> torch.equal(model(x), net.eval()(x))
        True
        >>> segment(model, x).shape
        torch.Size([1, 1, 16, 16])
    """
    path = check_input_file(path, _WHAT)
    if path.suffix == ".pt2":
        return read_program_archive(path, _WHAT).module()
    if _is_torchscript(path):
        check_zip(path, _WHAT)
        with warnings.catch_warnings():  # the user chose TorchScript; torch deprecates it
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location=map_location)
        return model.eval()
    payload = load_torch_file(path, _WHAT, map_location=map_location)
    if not isinstance(payload, dict) or payload.get("format") != SEGMENTER_FORMAT:
        raise ValueError(
            f"{path} is neither a save_segmenter file, a TorchScript archive nor a .pt2 program"
        )
    config = payload.get("config")
    if not isinstance(config, dict) or set(config) != set(_ARCH_KEYS):
        raise ValueError(f"{path}: the save_segmenter config must hold the keys {_ARCH_KEYS}")
    model = SegmentationNet(**config)
    model.load_state_dict(payload["state_dict"])
    return model.to(map_location).eval()


def load_or_train_segmenter(
    path: str | os.PathLike,
    dataset: Dataset,
    num_classes: int,
    *,
    retrain: bool = False,
    base_channels: int = 16,
    epochs: int = 10,
    seed: int = 0,
    ignore_index: int | None = None,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    channels_last: bool = False,
) -> Callable[[Tensor], Tensor]:
    """The evaluation's segmenter, cached at ``path``: read when the file exists, else a
    [`SegmentationNet`][condgan_blocks.evaluation.SegmentationNet] trained on the real images
    of ``dataset`` and saved there.

    Args:
        path: The cache file (a recipe run keeps it in ``RUN/evaluation/segmenter.pt``).
        dataset: Real training samples with ``image`` and ``label``, all one size.
        num_classes: Number of label classes K.
        retrain: Train (and overwrite the cache) even when the file exists.
        base_channels: Width of a new network.
        epochs: Passes of [`train_segmenter`][condgan_blocks.evaluation.train_segmenter].
        seed: Seed of the new network's weights and of its training.
        ignore_index: A label id left out of the loss.
        device: Where the network trains and runs.
        precision: Autocast of the training, "fp32" or "bf16".
        channels_last: Train in the channels-last memory format.

    Returns:
        The network in eval mode, on ``device``.

    Examples:
        >>> import tempfile
        >>> from condgan_blocks.data import SyntheticScenes
        >>> path = Path(tempfile.mkdtemp()) / "segmenter.pt"
        >>> scenes = SyntheticScenes(2, size=(16, 16))
        >>> net = load_or_train_segmenter(path, scenes, 7, base_channels=4, epochs=1)
        >>> again = load_or_train_segmenter(path, scenes, 7, epochs=99)  # read, not trained
        >>> x = torch.randn(1, 3, 16, 16)
        >>> path.is_file(), torch.equal(net(x), again(x))
        (True, True)
    """
    path = Path(path)
    if path.is_file() and not retrain:
        return load_segmenter(path, map_location=device)
    torch.manual_seed(seed)
    net = SegmentationNet(3, num_classes, base_channels=base_channels)
    logger.info("training the segmenter on %d real images", len(dataset))
    train_segmenter(
        net,
        dataset,
        epochs=epochs,
        seed=seed,
        ignore_index=ignore_index,
        device=device,
        precision=precision,
        channels_last=channels_last,
    )
    save_segmenter(net, path)
    return net.eval()
