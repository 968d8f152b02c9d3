"""A built-in street-scene dataset, generated on the fly, so the recipe runs with no download.

Label table (ids, names, thing or stuff, the colour
[`SyntheticScenes.colorize`][condgan_blocks.data.SyntheticScenes.colorize] uses, and what the
rendered image shows):

| id | name       | thing | colour (RGB)   | texture in the rendered image                      |
|----|------------|-------|----------------|----------------------------------------------------|
| 0  | sky        | no    | (70, 130, 180) | blue gradient, paler at the horizon, soft clouds   |
| 1  | building   | no    | (70, 70, 70)   | a wall colour per building, a grid of dark windows |
| 2  | vegetation | no    | (107, 142, 35) | leafy green blotches at two scales, brown trunks   |
| 3  | road       | no    | (128, 64, 128) | grey asphalt with fine grain                       |
| 4  | sidewalk   | no    | (244, 35, 232) | the road's grey, as square tiles with dark grout   |
| 5  | car        | yes   | (0, 0, 142)    | a body colour per car, dark glass, tyres, lights   |
| 6  | person     | yes   | (220, 20, 60)  | shirt, trousers, skin and hair colours per person  |

Instances follow Cityscapes: ``class * 1000 + k`` for cars and people (k counts from 0 in each
image), the class id for stuff. Road and sidewalk have the same mean colour
([`PAVEMENT_RGB`][condgan_blocks.data.PAVEMENT_RGB]), so only texture separates them; parked cars
stand bumper to bumper and pedestrians walk side by side, so touching instances are common; car
bodies take one of [`CAR_COLORS`][condgan_blocks.data.CAR_COLORS], giving the instance encoder and
the feature bank real styles to find.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_bool, check_positive_int
from ._scene_render import CAR_COLORS, NUM_CLASSES, render_scene
from .label_colours import colorize
from .validation import Problem, ValidationReport, sample_problems

SPLITS = {"train": 0, "val": 1, "test": 2}
_MIN_SIZE = 16
# While `shared_scene_cache` is active: (seed, split, size) -> {index: sample}
_shared_samples: dict[tuple[int, str, tuple[int, int]], dict[int, dict[str, Any]]] | None = None


@contextlib.contextmanager
def shared_scene_cache() -> Iterator[None]:
    """Within this block, every [`SyntheticScenes`][condgan_blocks.data.SyntheticScenes]
    built with ``cache=True`` shares its drawn samples with the others of the same seed, split
    and size, so each scene is drawn once per block however many datasets ask for it.

    The recipe's ``demo`` runs train, encode-features, generate and evaluate in one process;
    each builds its own datasets, and without this each would draw the 400 training scenes
    again (about 4.5 s each at 64x128). The samples are dropped when the outermost block ends.
    A data-loader worker process keeps its own copy, as with ``cache=True`` alone.

    Examples:
        >>> with shared_scene_cache():
        ...     first = SyntheticScenes(4, size=(16, 32), cache=True)
        ...     _ = first[1]
        ...     second = SyntheticScenes(8, size=(16, 32), cache=True)  # another length
        ...     second.cached_indices()
        [1]
        >>> SyntheticScenes(4, size=(16, 32), cache=True).cached_indices()  # block over
        []
    """
    global _shared_samples
    if _shared_samples is not None:  # nested: the outer block owns the samples
        yield
        return
    _shared_samples = {}
    try:
        yield
    finally:
        _shared_samples = None


class SyntheticClass(NamedTuple):
    """One row of the [`SyntheticScenes`][condgan_blocks.data.SyntheticScenes] label table.

    Examples:
        >>> SYNTHETIC_CLASSES[5]
        SyntheticClass(id=5, name='car', is_thing=True, color=(0, 0, 142))
        >>> [row.name for row in SYNTHETIC_CLASSES if row.is_thing]
        ['car', 'person']
    """

    id: int
    name: str
    is_thing: bool
    color: tuple[int, int, int]


SYNTHETIC_CLASSES = (
    SyntheticClass(0, "sky", False, (70, 130, 180)),
    SyntheticClass(1, "building", False, (70, 70, 70)),
    SyntheticClass(2, "vegetation", False, (107, 142, 35)),
    SyntheticClass(3, "road", False, (128, 64, 128)),
    SyntheticClass(4, "sidewalk", False, (244, 35, 232)),
    SyntheticClass(5, "car", True, (0, 0, 142)),
    SyntheticClass(6, "person", True, (220, 20, 60)),
)


class SyntheticScenes(Dataset):
    """Street scenes drawn on the fly: label, instance and image, deterministic per index.

    Each sample is a street seen from a car in true perspective: road, tiled sidewalks, facades
    of buildings or parks, sky, street trees, cars parked bumper to bumper or driving, and
    pedestrians alone or in groups (label table and textures in the module docstring). Sample
    ``i`` is drawn from a numpy generator seeded with ``SeedSequence([seed, split_id, i])``
    (split ids: train 0, val 1, test 2), so it is the same on every access, in any order and in
    any worker process, and the splits draw from separate random streams: their samples are
    disjoint. Generation is vectorised numpy; a 256x512 sample takes about 12 ms on one CPU
    core (``benchmarks/bench_synthetic_scenes.py``).

    Args:
        num_samples: Number of samples (the dataset's length).
        size: ``(height, width)`` of every sample, each at least 16.
        seed: Non-negative int; a different seed gives a different dataset.
        split: "train", "val" or "test".
        transform: Optional callable applied to each sample dict, e.g. a
            [`PairedTransform`][condgan_blocks.data.PairedTransform].
        cache: Keep every drawn sample in memory (before the transform) and hand out copies
            on later accesses: many epochs over a small set then draw each scene once. Costs
            ``H * W * 28`` bytes per sample (about 230 KB at 64x128, 3.7 MB at 256x512); each
            data-loader worker keeps its own cache. Inside
            [`shared_scene_cache`][condgan_blocks.data.shared_scene_cache] datasets of the same
            seed, split and size share one cache.

    Each sample is a dict:

    - ``label``: int64 (1, H, W) class ids in ``0 .. num_classes - 1`` (see the module table).
    - ``instance``: int64 (1, H, W), ``class * 1000 + k`` for cars and people, else the class id.
    - ``image``: float32 (3, H, W) in [-1, 1].
    - ``path``: ``"synthetic/<split>/<index, 6 digits>"``.

    Examples:
        >>> scenes = SyntheticScenes(4, size=(32, 64), seed=1)
        >>> sample = scenes[0]
        >>> sample["label"].shape, sample["image"].shape, sample["path"]
        (torch.Size([1, 32, 64]), torch.Size([3, 32, 64]), 'synthetic/train/000000')
        >>> bool((sample["label"] == scenes[0]["label"]).all())
        True
        >>> scenes.num_classes, scenes.class_names[:3]
        (7, ('sky', 'building', 'vegetation'))
    """

    classes = SYNTHETIC_CLASSES
    class_names = tuple(c.name for c in SYNTHETIC_CLASSES)
    thing_ids = tuple(c.id for c in SYNTHETIC_CLASSES if c.is_thing)
    num_classes = NUM_CLASSES
    car_colors = CAR_COLORS

    def __init__(
        self,
        num_samples: int,
        size: tuple[int, int] = (256, 512),
        *,
        seed: int = 0,
        split: str = "train",
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        cache: bool = False,
    ) -> None:
        self.num_samples = check_positive_int("num_samples", num_samples, minimum=0)
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in size)
        ):
            raise TypeError(f"size must be a pair of ints (height, width), got {size!r}")
        if min(size) < _MIN_SIZE:
            raise ValueError(f"size must be at least {_MIN_SIZE} in each dimension, got {size}")
        self.size = (int(size[0]), int(size[1]))
        self.seed = check_positive_int("seed", seed, minimum=0)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
        self.split = split
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {transform!r}")
        self.transform = transform
        self._cache: dict[int, dict[str, Any]] | None = None
        if check_bool("cache", cache):
            shared = _shared_samples
            key = (self.seed, split, self.size)
            self._cache = {} if shared is None else shared.setdefault(key, {})

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"SyntheticScenes({self.num_samples}, size={self.size}, seed={self.seed}, "
            f"split={self.split!r})"
        )

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self._cache is None:
            sample = self.generate(index)
        else:
            key = self._check_index(index)
            if key not in self._cache:
                self._cache[key] = self.generate(key)
            sample = {
                k: v.clone() if isinstance(v, Tensor) else v for k, v in self._cache[key].items()
            }
        return sample if self.transform is None else self.transform(sample)

    def cached_indices(self) -> list[int]:
        """The indices whose samples the cache holds, sorted ([] without ``cache``)."""
        return [] if self._cache is None else sorted(self._cache)

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        if not -self.num_samples <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} samples")
        return int(index) % self.num_samples

    def generate(self, index: int) -> dict[str, Any]:
        """Sample ``index`` without the transform (drawn anew, never from the cache)."""
        index = self._check_index(index)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, SPLITS[self.split], index]))
        label, instance, image = render_scene(rng, *self.size)
        image *= 2.0  # [0, 1] -> [-1, 1] in numpy: no torch thread pool for a data worker
        image -= 1.0
        return {
            "label": torch.from_numpy(label)[None],
            "instance": torch.from_numpy(instance)[None],
            "image": torch.from_numpy(image),
            "path": f"synthetic/{self.split}/{index:06d}",
        }

    @classmethod
    def palette(cls) -> Tensor:
        """uint8 colours of shape (num_classes, 3), row ``k`` for class ``k``."""
        return torch.tensor([c.color for c in cls.classes], dtype=torch.uint8)

    @classmethod
    def colorize(cls, label: Tensor) -> Tensor:
        """Colour a label map with the table's colours.

        See [`colorize`][condgan_blocks.data.label_colours.colorize].

        Examples:
            >>> SyntheticScenes.colorize(torch.tensor([[[0, 5]]]))[:, 0, 1]
            tensor([  0,   0, 142], dtype=torch.uint8)
        """
        return colorize(label, cls.palette())

    def validate(self, *, raise_on_error: bool = True) -> ValidationReport:
        """Generate every sample once and check it like a file dataset (ids, sizes, range).

        Returns:
            A [`ValidationReport`][condgan_blocks.data.ValidationReport]; raises its
            [`DatasetError`][condgan_blocks.data.DatasetError] when ``raise_on_error`` and a problem
            was found.
        """
        report = ValidationReport(repr(self), num_samples=len(self))
        for index in range(len(self)):
            sample = self.generate(index)
            arrays = {key: value.numpy() for key, value in sample.items() if key != "path"}
            paths = dict.fromkeys(arrays, sample["path"])
            report.problems.extend(sample_problems(arrays, paths, self.num_classes))
            image = arrays["image"]
            if image.min() < -1 or image.max() > 1:
                report.problems.append(Problem(sample["path"], "image values outside [-1, 1]"))
        return report.raise_if_problems() if raise_on_error else report
