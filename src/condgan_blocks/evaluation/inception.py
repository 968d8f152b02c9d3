"""Inception-v3 pool features in the layout of the standard FID weights.

FID and KID are only comparable between papers when they use the same network: the Inception-v3
that TensorFlow's FID code shipped (``inception-2015-12-05``), ported to PyTorch by pytorch-fid
as ``pt_inception-2015-12-05-6726825d.pth``. That network differs from torchvision's
Inception-v3 in four places, all reproduced here: the average pools of the A, C and first E
mixed blocks leave the zero padding out of the mean (TensorFlow's behaviour), and the pool
branch of the last E block is a max pool. Its classifier has 1008 classes.

[`InceptionFeatures`][condgan_blocks.evaluation.InceptionFeatures] is that network up to its
2048-d global average pool. Its ``state_dict`` keys and shapes are those of the weights file
(``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.weight``),
so [`load_inception_features`][condgan_blocks.evaluation.load_inception_features] reads the
file as it is, with ``torch.load(weights_only=True)`` and a strict key and shape check. The
weights are not bundled (about 92 MB); see
[`inception_weights_path`][condgan_blocks.evaluation.inception_weights_path] for where they
are looked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_bool, check_image_batch
from .._files.archive import fail, load_torch_file

FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILE
)
"""Where the standard FID weights (pytorch-fid's release of ``pt_inception-2015-12-05``) are."""
INCEPTION_WEIGHTS_ENV = "CONDGAN_INCEPTION_WEIGHTS"
"""Environment variable naming the weights file, one of the places
[`inception_weights_path`][condgan_blocks.evaluation.inception_weights_path] looks."""
INPUT_SIZE = 299
FEATURE_DIM = 2048
_WHAT = "Inception-v3 FID weights file"


class _Conv(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3) and ReLU: ``conv.*`` and ``bn.*`` keys."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: Tensor) -> Tensor:
    """3x3 average pool, stride 1, whose mean leaves the zero padding out (as TensorFlow's)."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _MixedA(nn.Module):
    """35x35 block: 1x1, 5x5, double 3x3 and pool branches; 224 + ``pool_features`` channels."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(in_channels, 64, 1)
        self.branch5x5_1 = _Conv(in_channels, 48, 1)
        self.branch5x5_2 = _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _Conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, padding=1)
        self.branch_pool = _Conv(in_channels, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class _MixedB(nn.Module):
    """35x35 -> 17x17 reduction: 3x3, double 3x3 and max-pool branches; 480 + C channels."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = _Conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), branch3x3dbl, branch_pool], 1)


class _MixedC(nn.Module):
    """17x17 block with factorised 7x7 convolutions; 768 channels."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _Conv(in_channels, 192, 1)
        self.branch7x7_1 = _Conv(in_channels, c7, 1)
        self.branch7x7_2 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _Conv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _Conv(in_channels, c7, 1)
        self.branch7x7dbl_2 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _Conv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _Conv(in_channels, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = layer(branch7x7dbl)
        branch_pool = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class _MixedD(nn.Module):
    """17x17 -> 8x8 reduction: 3x3, 7x7-then-3x3 and max-pool branches; 512 + C channels."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = _Conv(in_channels, 192, 1)
        self.branch3x3_2 = _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(in_channels, 192, 1)
        self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for layer in (
            self.branch7x7x3_1,
            self.branch7x7x3_2,
            self.branch7x7x3_3,
            self.branch7x7x3_4,
        ):
            branch7x7x3 = layer(branch7x7x3)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class _MixedE(nn.Module):
    """8x8 block with split 1x3 / 3x1 branches; 2048 channels. ``max_pool``: the pool branch of
    the FID network's last block is a max pool (average in the first and in the paper)."""

    def __init__(self, in_channels: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _Conv(in_channels, 320, 1)
        self.branch3x3_1 = _Conv(in_channels, 384, 1)
        self.branch3x3_2a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _Conv(in_channels, 448, 1)
        self.branch3x3dbl_2 = _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _Conv(in_channels, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat(
            [self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1
        )
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(pooled)], 1)


class InceptionFeatures(nn.Module):
    """Inception-v3 of the FID weights, up to its 2048-d global average pool.

    Built with random weights (He-initialised convolutions, so that even random features keep
    a unit scale), in eval mode and with gradients off (a fixed feature network: the batch
    norms use their running statistics, so every image's features are independent of the
    rest of its batch). Load the real weights with
    [`load_inception_features`][condgan_blocks.evaluation.load_inception_features].

    Images are in [-1, 1], the library's convention, which is the range the network was
    trained on; they are resized to 299x299 (bilinear, ``align_corners=False``) unless they
    already are. This gives the same features as pytorch-fid's ``InceptionV3`` on the same
    images in [0, 1]: it resizes first and then maps to [-1, 1], and both steps are linear.
    Inputs are cast to the dtype of the weights.

    The children carry the names of the weights file (``Conv2d_1a_3x3``, ...,
    ``Mixed_5b``...``Mixed_7c``), not role names: they are the key names of the file. ``fc``,
    the 1008-way classifier, is kept so that the ``state_dict`` matches the file; the features
    do not use it.

    Shape:
        - Input: (N, 3, H, W), floating point in [-1, 1].
        - Output: (N, 2048)

    Examples:
        >>> net = InceptionFeatures()
        >>> net(torch.rand(1, 3, 64, 64) * 2 - 1).shape
        torch.Size([1, 2048])
        >>> net.state_dict()["Mixed_7c.branch_pool.conv.weight"].shape
        torch.Size([192, 2048, 1, 1])
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b = _MixedA(192, pool_features=32)
        self.Mixed_5c = _MixedA(256, pool_features=64)
        self.Mixed_5d = _MixedA(288, pool_features=64)
        self.Mixed_6a = _MixedB(288)
        self.Mixed_6b = _MixedC(768, channels_7x7=128)
        self.Mixed_6c = _MixedC(768, channels_7x7=160)
        self.Mixed_6d = _MixedC(768, channels_7x7=160)
        self.Mixed_6e = _MixedC(768, channels_7x7=192)
        self.Mixed_7a = _MixedD(768)
        self.Mixed_7b = _MixedE(1280, max_pool=False)
        self.Mixed_7c = _MixedE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, 1008)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        self.eval()
        self.requires_grad_(False)

    def forward(self, images: Tensor) -> Tensor:
        check_image_batch(images, 3, name="images")
        if not images.is_floating_point():
            raise TypeError(f"images must be floating point in [-1, 1], got dtype {images.dtype}")
        x = images.to(self.fc.weight.dtype)
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(
                x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
            )
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        return x.mean(dim=(2, 3))


def inception_weights_path(weights: str | os.PathLike | None = None) -> Path:
    """Where the Inception-v3 FID weights are looked for; the file need not exist.

    In order: ``weights`` when given; else the environment variable
    ``CONDGAN_INCEPTION_WEIGHTS`` when set and not empty; else
    ``<torch hub dir>/checkpoints/pt_inception-2015-12-05-6726825d.pth`` (by default
    ``~/.cache/torch/hub/checkpoints/``), where pytorch-fid downloads the same file, so an
    existing pytorch-fid cache is found.

    Args:
        weights: An explicit path, or None.

    Returns:
        The path, with ``~`` expanded.

    Raises:
        TypeError: If ``weights`` is not None, a str or os.PathLike.

    Examples:
        >>> inception_weights_path("weights/inception.pth").name
        'inception.pth'
        >>> inception_weights_path().name if "CONDGAN_INCEPTION_WEIGHTS" not in os.environ else (
        ...     "pt_inception-2015-12-05-6726825d.pth")
        'pt_inception-2015-12-05-6726825d.pth'
    """
    if weights is not None:
        if not isinstance(weights, str | os.PathLike):
            raise TypeError(
                f"weights must be None, a str or os.PathLike, got {type(weights).__name__}"
            )
        return Path(weights).expanduser()
    from_env = os.environ.get(INCEPTION_WEIGHTS_ENV, "")
    if from_env:
        return Path(from_env).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE


def _missing_weights_message(path: Path) -> str:
    """Why FID/KID cannot run: the file that is missing and the ways to provide it."""
    return (
        f"no {_WHAT} at {path}: download {FID_WEIGHTS_URL} and put it there, or pass its path "
        f"(--inception-weights, or weights= in Python), or set {INCEPTION_WEIGHTS_ENV}; "
        "load_inception_features(download=True) fetches it when online"
    )


def _check_state_dict(state: Mapping, expected: Mapping[str, Tensor], path: Path) -> None:
    not_tensors = sorted(str(key) for key, value in state.items() if not isinstance(value, Tensor))
    if not_tensors:
        raise fail(path, _WHAT, f"entries that are not tensors: {_listing(not_tensors)}")
    # Files written before torch 0.4.1 have no num_batches_tracked; the features never use it.
    missing = [k for k in expected if k not in state and not k.endswith(".num_batches_tracked")]
    unexpected = [key for key in state if key not in expected]
    wrong = [
        f"{key} {tuple(state[key].shape)} (expected {tuple(value.shape)})"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    ]
    problems = [
        f"{label}: {_listing(keys)}"
        for label, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("wrong shapes", wrong),
        )
        if keys
    ]
    if problems:
        raise fail(
            path,
            _WHAT,
            "its state_dict does not match the Inception-v3 FID layout; " + "; ".join(problems),
        )
    not_finite = [
        key
        for key, value in state.items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if not_finite:
        raise fail(path, _WHAT, f"NaN or infinite values in {_listing(not_finite)}")


def _listing(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(key) for key in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def load_inception_features(
    weights: str | os.PathLike | None = None,
    *,
    download: bool = False,
    device: str | torch.device = "cpu",
) -> InceptionFeatures:
    """[`InceptionFeatures`][condgan_blocks.evaluation.InceptionFeatures] with the FID weights.

    The file is found by
    [`inception_weights_path`][condgan_blocks.evaluation.inception_weights_path], read with
    ``torch.load(weights_only=True)`` after the library's file checks, and its ``state_dict``
    must match the network exactly: every key (``num_batches_tracked`` may be absent), no
    other key, every shape.

    Args:
        weights: Path of ``pt_inception-2015-12-05-6726825d.pth``; None looks in
            ``CONDGAN_INCEPTION_WEIGHTS``, then in torch hub's checkpoint folder.
        download: If the file is missing, download it from pytorch-fid's release
            (``FID_WEIGHTS_URL``, about 92 MB) to that path first. Needs internet; off by
            default, so nothing is fetched unless asked for.
        device: Device of the returned network.

    Returns:
        The network, in eval mode with gradients off.

    Raises:
        TypeError: If ``weights`` or ``download`` has the wrong type.
        FileNotFoundError: If the file is missing (and not downloaded, or the download
            failed), naming the path and where to get the file.
        ValueError: If the file is damaged, not a weights-only torch file, or its state_dict
            has missing, unexpected or wrongly shaped entries (named), or NaN values.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "inception.pth"
        ...     torch.save(InceptionFeatures().state_dict(), path)  # random weights, same layout
        ...     load_inception_features(path).training
        False
        >>> load_inception_features("absent/inception.pth")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no Inception-v3 FID weights file at absent/inception.pth: download ...
    """
    check_bool("download", download)
    path = inception_weights_path(weights)
    if not path.exists() and download:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # torch writes a temporary file and renames it; checked below like any other file
            torch.hub.download_url_to_file(FID_WEIGHTS_URL, str(path), progress=True)
        except OSError as error:  # offline, refused, disk full (URLError is an OSError)
            raise FileNotFoundError(
                f"{_missing_weights_message(path)}; the download failed: {error}"
            ) from error
    if not path.exists():
        raise FileNotFoundError(_missing_weights_message(path))
    state = load_torch_file(path, _WHAT)
    if not isinstance(state, Mapping):
        raise fail(path, _WHAT, f"it holds a {type(state).__name__}, not a state_dict")
    network = InceptionFeatures()
    _check_state_dict(state, network.state_dict(), path)
    network.load_state_dict(state, strict=False)  # checked above; strict but for the counters
    return network.to(device)
