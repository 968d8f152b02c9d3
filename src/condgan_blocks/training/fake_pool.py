"""pix2pixHD's pool of past fakes for the discriminator, with its own seeded random stream."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class FakePool:
    """A history of generated (condition, fake) pairs the discriminator also learns from.

    The original ``ImagePool`` semantics, image by image along the batch: while the pool holds
    fewer than ``size`` images, each new image is stored and returned as it is; once full, with
    probability 1/2 a random stored image is returned and replaced by the new one, otherwise the
    new image is returned. ``size=0`` returns the batch unchanged. The draws come from a private
    ``torch.Generator`` seeded with ``seed`` (not the global random state, unlike the original),
    and [`state_dict`][condgan_blocks.training.FakePool.state_dict] holds the pool and that
    generator, so a resumed run draws the same.

    Args:
        size: Number of stored images (``pool_size``); 0 disables the pool.
        seed: Seed of the pool's draws; give each distributed rank its own.

    Shape:
        - Input: (N, C, H, W), detached.
        - Output: (N, C, H, W).

    Examples:
        >>> pool = FakePool(2, seed=0)
        >>> first = pool.query(torch.zeros(2, 1, 1, 1))  # fills the pool, returns the input
        >>> bool((first == 0).all()), len(pool)
        (True, 2)
    """

    def __init__(self, size: int, *, seed: int = 0) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0, got {size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.size = size
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """Store ``images`` and return a batch mixing them with stored ones (see the class)."""
        if images.ndim < 1:
            raise ValueError(f"expected a batch of images, got shape {tuple(images.shape)}")
        if self.size == 0:
            return images
        returned = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
                continue
            if torch.rand((), generator=self.generator).item() > 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                returned.append(self.images[index])
                self.images[index] = image.clone()
            else:
                returned.append(image)
        return torch.cat(returned, 0)

    def state_dict(self) -> dict[str, Any]:
        """The stored images and the random state, as tensors and ints."""
        return {
            "size": self.size,
            "images": list(self.images),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a [`state_dict`][condgan_blocks.training.FakePool.state_dict] (the images keep
        the device they were saved on)."""
        if state.get("size") != self.size:
            raise ValueError(
                f"the saved fake pool has size {state.get('size')!r}, this pool {self.size}"
            )
        self.images = [image.clone() for image in state["images"]]
        self.generator.set_state(state["generator"])
