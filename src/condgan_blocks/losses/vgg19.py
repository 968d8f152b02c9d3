"""The frozen VGG19 convolution stack used by the perceptual loss, without torchvision."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from .._checks import check_image_batch
from .._files.archive import load_torch_file

VGG19_IMAGENET_FILE = "vgg19-dcbb9e9d.pth"
VGG19_IMAGENET_URL = f"https://download.pytorch.org/models/{VGG19_IMAGENET_FILE}"
_HASH_PREFIX = "dcbb9e9d"  # torchvision names its files after the SHA-256 prefix

# torchvision's VGG19 ("E") configuration up to relu5_1; "M" is a 2x2 max pool.
_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
# Indices in ``features`` of relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1.
FEATURE_INDICES = (1, 6, 11, 20, 29)
FEATURE_NAMES = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
MIN_SIZE = 16  # four 2x2 max pools before relu5_1

Weights = str | os.PathLike | Mapping[str, Tensor] | None


def imagenet_weights_path() -> Path:
    """Where torchvision's ImageNet VGG19 file is looked up: the torch hub cache.

    That is ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth`` (``~/.cache/torch`` by default),
    the same file ``torchvision.models.vgg19(weights="IMAGENET1K_V1")`` uses.

    Examples:
        >>> imagenet_weights_path().name
        'vgg19-dcbb9e9d.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_IMAGENET_FILE


def _read(path: str | os.PathLike) -> Mapping[str, Tensor]:
    if not Path(path).exists():
        raise FileNotFoundError(f"VGG19 weights file not found: {path}")
    state = load_torch_file(path, "VGG19 weights file")
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a VGG19 state dict")
    return state


def _imagenet_state_dict() -> Mapping[str, Tensor]:
    path = imagenet_weights_path()
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(
                VGG19_IMAGENET_URL, str(path), hash_prefix=_HASH_PREFIX, progress=False
            )
        except Exception as error:  # offline, proxy, read-only cache, bad hash
            raise FileNotFoundError(
                f"the ImageNet VGG19 weights are not in the torch hub cache and could not be "
                f"downloaded ({type(error).__name__}: {error}). Offline, fetch torchvision's "
                f"file {VGG19_IMAGENET_FILE} from {VGG19_IMAGENET_URL} on a connected machine "
                f"and place it at {path} (that is $TORCH_HOME/hub/checkpoints/), or pass "
                "weights=<path to the file>"
            ) from error
    return _read(path)


def _check_weights_kind(weights: object) -> None:
    if weights is not None and not isinstance(weights, (str, os.PathLike, Mapping)):
        raise TypeError(
            "weights must be None, 'imagenet', a path or a torchvision-layout state dict, "
            f"got {type(weights).__name__}"
        )


def _is_unused_torchvision_key(key: str) -> bool:
    """Keys of a full torchvision vgg19 that lie beyond relu5_1: classifier, features.30+."""
    if key.startswith("classifier."):
        return True
    parts = key.split(".")
    return len(parts) == 3 and parts[0] == "features" and parts[1].isdigit() and int(parts[1]) > 29


class VGG19Features(nn.Module):
    """VGG19's convolutions up to relu5_1, frozen, returning the five relu{k}_1 feature maps.

    The layers are torchvision's ``vgg19().features[:30]`` (3x3 convolutions with padding 1,
    in-place ReLU, 2x2 max pools), so the state-dict keys are torchvision's
    (``features.0.weight`` ... ``features.28.bias``), defined here without torchvision.

    The module is always frozen: its parameters have ``requires_grad=False`` and it stays in
    eval mode whatever ``train()`` is asked (gradients still flow to the input).

    Args:
        weights: ``None`` for random weights (tests); a path to, or a state dict in, torchvision's
            layout (keys past relu5_1 and ``classifier.*`` are ignored); or ``"imagenet"`` for
            torchvision's published file, read from the torch hub cache
            (``imagenet_weights_path()``) or downloaded there with ``torch.hub``. Files are read
            with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: If a path does not exist, or "imagenet" is neither cached nor
            downloadable; the message names the file and where to place it.
        ValueError: If a file is empty, truncated, damaged (a CRC32 of its zip records does not
            match) or holds objects that ``torch.load(weights_only=True)`` refuses (code,
            classes); if a state dict misses keys, has unknown keys or wrong shapes.
        TypeError: If ``weights`` is of another kind.

    Shape:
        - Input: (N, 3, H, W) with H, W >= 16, normalised as the weights expect.
        - Output: a list of 5 tensors: (N, 64, H, W), (N, 128, H/2, W/2), (N, 256, H/4, W/4),
          (N, 512, H/8, W/8), (N, 512, H/16, W/16) (sizes floored).

    Examples:
        >>> import torch
        >>> vgg = VGG19Features(weights=None)
        >>> [tuple(f.shape) for f in vgg(torch.randn(1, 3, 32, 32))][::2]
        [(1, 64, 32, 32), (1, 256, 8, 8), (1, 512, 2, 2)]
        >>> vgg.train().training, any(p.requires_grad for p in vgg.parameters())
        (False, False)
    """

    def __init__(self, *, weights: Weights = None) -> None:
        super().__init__()
        _check_weights_kind(weights)
        layers: list[nn.Module] = []
        channels = 3
        for entry in _CONFIG:
            if entry == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers.append(nn.Conv2d(channels, entry, kernel_size=3, padding=1))
                layers.append(nn.ReLU(inplace=True))
                channels = entry
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.train(False)
        if weights is not None:
            self.load_weights(weights)

    def load_weights(self, weights: str | os.PathLike | Mapping[str, Tensor]) -> VGG19Features:
        """Load ``weights`` (see the class arguments) in place and return ``self``."""
        _check_weights_kind(weights)
        if weights is None:
            raise TypeError("weights must be 'imagenet', a path or a state dict to load, got None")
        if isinstance(weights, str) and weights == "imagenet":
            state = _imagenet_state_dict()
        elif isinstance(weights, (str, os.PathLike)):
            state = _read(weights)
        else:
            state = weights
        ours = self.state_dict()
        missing = [key for key in ours if key not in state]
        unexpected = [
            key for key in state if key not in ours and not _is_unused_torchvision_key(key)
        ]
        if missing or unexpected:
            hint = ""
            if any(str(key).startswith(("slice", "vgg.slice")) for key in state):
                hint = (
                    "; these look like pix2pixHD's Vgg19 keys: load them with "
                    "condgan_blocks.compat.pix2pixhd.load_state_dict"
                )
            raise ValueError(
                "weights do not match torchvision's vgg19 layout: "
                f"missing keys {missing}, unexpected keys {unexpected}{hint}"
            )
        for key, value in ours.items():
            given = state[key]
            if not isinstance(given, Tensor) or given.shape != value.shape:
                shape = tuple(given.shape) if isinstance(given, Tensor) else type(given).__name__
                raise ValueError(f"{key!r} has shape {shape}, expected {tuple(value.shape)}")
        self.load_state_dict({key: state[key] for key in ours})
        return self

    def train(self, mode: bool = True) -> VGG19Features:
        """Stay in eval mode, whatever ``mode`` says: the network is a fixed feature extractor."""
        return super().train(False)

    def forward(self, x: Tensor) -> list[Tensor]:
        """The relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1 feature maps of ``x``."""
        check_image_batch(x, 3)
        if min(x.shape[-2:]) < MIN_SIZE:
            raise ValueError(
                f"VGG19 features need H and W >= {MIN_SIZE} (four 2x2 max pools), "
                f"got {tuple(x.shape)}"
            )
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in FEATURE_INDICES:
                outputs.append(x)
        return outputs
