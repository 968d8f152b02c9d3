"""The state of one interactive editing session: maps, styles, undo/redo, rendering.

`EditorSession` is plain Python and torch: no HTTP, no threads. The server in
`condgan_blocks.editor.server` wraps one session behind a lock; tests drive it directly.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..data.label_colours import colorize
from ..editing import new_instance_id, relabel_instance, remove_instance
from ..instance.ids import check_instance_map, check_same_size
from ..visualization import to_uint8_image
from ._png import encode_png
from .brush import stroke_mask
from .style_weights import check_style_weights

GenerateFn = Callable[[Tensor, Tensor, dict[int, int]], Tensor]
"""``generate(labels, instances, choices)``: maps of shape (1, 1, H, W) and ``{instance id:
cluster}`` in, an image of shape (3, H, W) or (1, 3, H, W) in [-1, 1] out. A
[`Synthesizer`][condgan_blocks.synthesis.Synthesizer] with a feature bank is one: the editor then
shows exactly the images of every other generation path for the same maps and styles."""


class EditorClass(NamedTuple):
    """One class the editor offers: its id, name, colour and whether it has instances.

    Examples:
        >>> car = EditorClass(5, "car", True, (0, 0, 142))
        >>> car.name, car.is_thing, car.color
        ('car', True, (0, 0, 142))
        >>> car._replace(id=6).id
        6
    """

    id: int
    name: str
    is_thing: bool
    color: tuple[int, int, int]


@dataclasses.dataclass(eq=False)
class _State:
    labels: Tensor  # (1, 1, H, W) int64
    instances: Tensor  # (1, 1, H, W) int64
    choices: dict[int, int]  # instance id -> cluster
    generated: Tensor | None = None  # cached (3, H, W) uint8
    serial: int = dataclasses.field(default_factory=lambda: next(_SERIALS))


class _Maps(NamedTuple):
    """Checked maps, with their sorted instance ids and the class of each id."""

    labels: Tensor  # (1, 1, H, W) int64
    instances: Tensor  # (1, 1, H, W) int64
    ids: list[int]
    classes: list[int]


_SERIALS = itertools.count()
_MAX_STROKE = 50_000  # pixels along a paint stroke
_MAX_ID = 2**63 - 1  # ids are int64
_CHOICE_BYTES = 100  # about what one {instance id: cluster} entry of a dict costs


class EditorSession:
    """Label and instance maps under edit, per-instance styles, and an undo/redo history.

    Every edit makes a new state; `undo` and `redo` move between states, and a state's
    generated image is cached, so undo shows the earlier image at once. The history keeps at
    most `max_history` states and about `max_history_bytes` bytes of maps, images and styles
    (the oldest states go first; the current state always stays). Every instance of a class
    with styles holds one cluster index in `choices`; new instances get a random one.

    Args:
        labels: Label map (H, W), (1, H, W) or (1, 1, H, W).
        instances: Instance map of the same size (Cityscapes ids: ``class * class_divisor + k``
            for things, the class id for stuff).
        classes: The classes that may appear, e.g. built from ``SYNTHETIC_CLASSES``.
        generate: The injected generator (`GenerateFn`), usually a
            [`Synthesizer`][condgan_blocks.synthesis.Synthesizer].
        num_styles: ``{class: number of clusters}``, e.g. from ``FeatureBank.centers``; by
            default the ``num_styles`` of ``generate`` when it has them (a Synthesizer's bank),
            else none.
        style_weights: ``{class: relative frequency of each cluster}`` for the random styles
            (classes left out draw uniformly); by default, when ``num_styles`` is also left to
            ``generate``, its ``style_populations`` (a Synthesizer's bank: each style drawn as
            often as it occurs in the data, as the Synthesizer draws them), else none.
        class_divisor: Divisor of the instance id encoding.
        max_history: Most states kept for undo.
        max_history_bytes: About the most memory the undo history may hold: maps shared
            between states count once, every state's generated image (3 bytes a pixel) and
            styles count too.
        seed: Seed of the first random styles.

    Raises:
        ValueError: If the maps are invalid or hold a class not in ``classes``, or for
            ``style_weights`` of a class without styles, of the wrong count, negative,
            non-finite or all zero.
        TypeError: If ``generate`` is not callable or ``style_weights`` is not a mapping
            of number sequences.

    Examples:
        >>> labels = torch.tensor([[0, 0, 5, 5]])
        >>> classes = [EditorClass(0, "road", False, (128, 64, 128)),
        ...            EditorClass(5, "car", True, (0, 0, 142))]
        >>> session = EditorSession(labels, torch.tensor([[0, 0, 5000, 5000]]), classes=classes,
        ...                         generate=lambda l, i, c: torch.zeros(3, *l.shape[-2:]),
        ...                         num_styles={5: 3})
        >>> session.select(3, 0)["instance_id"]
        5000
        >>> session.relabel(5000, 0)["instance_id"], session.undo(), session.can_redo
        (0, True, True)
    """

    def __init__(
        self,
        labels: Tensor,
        instances: Tensor,
        *,
        classes: Sequence[EditorClass],
        generate: GenerateFn,
        num_styles: Mapping[int, int] | None = None,
        style_weights: Mapping[int, Sequence[float]] | None = None,
        class_divisor: int = 1000,
        max_history: int = 100,
        max_history_bytes: int = 256 * 2**20,
        seed: int = 0,
    ) -> None:
        if not classes:
            raise ValueError("classes must name at least one class")
        self.classes = {int(c.id): EditorClass(*c) for c in classes}
        if not callable(generate):
            raise TypeError(f"generate must be callable, got {type(generate).__name__}")
        self.generate_fn = generate
        if num_styles is None:
            num_styles = getattr(generate, "num_styles", None)
            if style_weights is None:  # the same bank's populations (its styled classes)
                populations = getattr(generate, "style_populations", None) or {}
                styled = num_styles or {}
                style_weights = {k: v for k, v in populations.items() if styled.get(k)}
        self.num_styles = {int(k): int(v) for k, v in (num_styles or {}).items() if int(v) > 0}
        self.style_weights = check_style_weights(style_weights or {}, self.num_styles)
        if class_divisor < 1 or max_history < 1:
            raise ValueError(
                f"class_divisor and max_history must be >= 1, got {class_divisor}, {max_history}"
            )
        if isinstance(max_history_bytes, bool) or not isinstance(max_history_bytes, int):
            raise TypeError(f"max_history_bytes must be an int, got {max_history_bytes!r:.40}")
        if max_history_bytes < 1:
            raise ValueError(f"max_history_bytes must be >= 1, got {max_history_bytes}")
        self.class_divisor = class_divisor
        self.max_history = max_history
        self.max_history_bytes = max_history_bytes
        self._rng = torch.Generator().manual_seed(seed)
        maps = self._check_maps(labels, instances)
        choices = self._random_choices(maps.ids, maps.classes, {})
        self._history = [_State(maps.labels, maps.instances, choices)]
        self._position = 0
        self.selected: int | None = None

    # -- state --------------------------------------------------------------------------------

    @property
    def _state(self) -> _State:
        return self._history[self._position]

    @property
    def labels(self) -> Tensor:
        """The label map (1, 1, H, W), a copy."""
        return self._state.labels.clone()

    @property
    def instances(self) -> Tensor:
        """The instance map (1, 1, H, W), a copy."""
        return self._state.instances.clone()

    @property
    def choices(self) -> dict[int, int]:
        """``{instance id: cluster}`` of every styled instance, a copy."""
        return dict(self._state.choices)

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the maps."""
        return tuple(self._state.labels.shape[-2:])

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._history) - 1

    @property
    def version(self) -> int:
        """Changes whenever the shown state changes (a key for caches and image URLs)."""
        return self._state.serial

    def _check_maps(self, labels: Tensor, instances: Tensor) -> _Maps:
        """Checked copies of new maps; reads only the class table, so it needs no lock."""
        labels = check_instance_map(_as_4d(labels, "labels"), name="labels")
        labels = labels.to(torch.int64, copy=True)
        instances = check_instance_map(_as_4d(instances, "instances")).to(torch.int64, copy=True)
        check_same_size(labels, instances, name="labels")
        if labels.shape[0] != 1:
            raise ValueError(f"the editor holds one image, got a batch of {labels.shape[0]}")
        known = torch.tensor(sorted(self.classes))
        outside = ~torch.isin(labels, known)
        if bool(outside.any()):
            unknown = labels[outside].unique().tolist()
            raise ValueError(f"labels hold unknown class ids {unknown}; known: {known.tolist()}")
        ids, classes, consistent = _instance_classes(labels, instances)
        if not consistent:
            raise ValueError("every instance must have one class: some id spans several labels")
        return _Maps(labels, instances, ids, classes)

    def _load(self, maps: _Maps) -> None:
        """Make checked maps the current state (an undoable edit), every instance restyled."""
        self._push(maps.labels, maps.instances, {}, ids=maps.ids, classes=maps.classes)
        self.selected = None

    def _push(
        self,
        labels: Tensor,
        instances: Tensor,
        choices: Mapping[int, int],
        *,
        ids: list[int] | None = None,
        classes: list[int] | None = None,
    ) -> None:
        if ids is None or classes is None:
            ids, classes, _ = _instance_classes(labels, instances)
        present = set(ids)
        kept = {k: v for k, v in choices.items() if k in present}
        state = _State(labels, instances, self._random_choices(ids, classes, kept))
        del self._history[self._position + 1 :]
        self._history.append(state)
        self._trim_history()
        self._position = len(self._history) - 1
        if self.selected not in present:
            self.selected = None

    def _trim_history(self) -> None:
        """Drop the oldest states beyond `max_history` states or `max_history_bytes` bytes."""
        while len(self._history) > 1 and (
            len(self._history) > self.max_history or self.history_bytes > self.max_history_bytes
        ):
            del self._history[0]

    @property
    def history_bytes(self) -> int:
        """About the bytes the undo history holds (shared maps counted once)."""
        storages: dict[int, int] = {}
        total = 0
        for state in self._history:
            for tensor in (state.labels, state.instances):
                storage = tensor.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
            total += 3 * state.labels[0, 0].numel() + _CHOICE_BYTES * len(state.choices)
        return total + sum(storages.values())

    def _random_choices(
        self, ids: list[int], classes: list[int], kept: Mapping[int, int]
    ) -> dict[int, int]:
        """``kept`` plus a random cluster for every other instance of a styled class: by
        ``style_weights`` where the class has them, else uniformly.

        Instances draw in id order; a run of instances that draw alike (the same number of
        clusters, uniformly; or the same weighted class) draws in one call.
        """
        choices, draws = {}, []
        for instance_id, class_id in zip(ids, classes, strict=True):
            count = self.num_styles.get(class_id, 0)
            if instance_id in kept and 0 <= kept[instance_id] < count:
                choices[instance_id] = kept[instance_id]
            elif count:
                weighted = class_id if class_id in self.style_weights else None
                draws.append((instance_id, (count, weighted)))
        for (count, weighted), run in itertools.groupby(draws, key=lambda draw: draw[1]):
            run_ids = [instance_id for instance_id, _ in run]
            if weighted is None:
                drawn = torch.randint(count, (len(run_ids),), generator=self._rng)
            else:
                weights = self.style_weights[weighted]
                drawn = torch.multinomial(weights, len(run_ids), True, generator=self._rng)
            choices.update(zip(run_ids, drawn.tolist(), strict=True))
        return {instance_id: choices[instance_id] for instance_id in ids if instance_id in choices}

    # -- checks -------------------------------------------------------------------------------

    def _check_class(self, class_id: Any, name: str = "class_id") -> int:
        if isinstance(class_id, bool) or not isinstance(class_id, int):
            raise TypeError(f"{name} must be an int, got {class_id!r:.40}")
        if class_id not in self.classes:
            raise ValueError(
                f"{name} {class_id} is not a known class; known: {sorted(self.classes)}"
            )
        return class_id

    def _check_instance(self, instance_id: Any) -> Tensor:
        if isinstance(instance_id, bool) or not isinstance(instance_id, int):
            raise TypeError(f"instance_id must be an int, got {instance_id!r:.40}")
        if not 0 <= instance_id <= _MAX_ID:
            raise ValueError(
                f"instance_id must be an int64 id in 0..{_MAX_ID}, got {instance_id!r:.40}"
            )
        mask = self._state.instances == instance_id
        if not bool(mask.any()):
            raise ValueError(f"instance id {instance_id} is not in the instance map")
        return mask

    def _check_point(self, x: Any, y: Any) -> tuple[int, int]:
        height, width = self.size
        for name, value, limit in (("x", x, width), ("y", y, height)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {value!r:.40}")
            if not 0 <= value < limit:
                raise ValueError(f"{name}={value} is outside the image (0 <= {name} < {limit})")
        return int(x), int(y)

    # -- queries ------------------------------------------------------------------------------

    def instance_info(self, instance_id: int) -> dict[str, Any]:
        """Class, size, bounding box and styles of one instance.

        Returns:
            ``{"instance_id", "class_id", "class_name", "is_thing", "pixels", "bbox" (x0, y0, x1,
            y1, exclusive ends), "style" (cluster or None), "styles" ([{"cluster", "current"}])}``.
        """
        mask = self._check_instance(instance_id)[0, 0]
        class_id = int(self._state.labels[0, 0][mask][0])
        rows, cols = mask.nonzero(as_tuple=True)
        style = self._state.choices.get(instance_id)
        return {
            "instance_id": instance_id,
            "class_id": class_id,
            "class_name": self.classes[class_id].name,
            "is_thing": self.classes[class_id].is_thing,
            "pixels": int(mask.sum()),
            "bbox": [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1],
            "style": style,
            "styles": [
                {"cluster": k, "current": k == style}
                for k in range(self.num_styles.get(class_id, 0))
            ],
        }

    def select(self, x: float, y: float) -> dict[str, Any]:
        """Select the instance under pixel ``(x, y)`` (column, row) and describe it.

        Raises:
            ValueError: If the point is outside the image.
        """
        x, y = self._check_point(x, y)
        self.selected = int(self._state.instances[0, 0, y, x])
        return self.instance_info(self.selected)

    # -- edits --------------------------------------------------------------------------------

    def set_style(self, instance_id: int, cluster: int) -> dict[str, Any]:
        """Give one instance cluster ``cluster`` of its class.

        Raises:
            ValueError: If the instance is unknown or its class has no such cluster.
        """
        info = self.instance_info(instance_id)
        count = len(info["styles"])
        if isinstance(cluster, bool) or not isinstance(cluster, int):
            raise TypeError(f"cluster must be an int, got {cluster!r:.40}")
        if not 0 <= cluster < count:
            raise ValueError(
                f"cluster must be in 0..{count - 1} for class {info['class_name']!r}, got {cluster}"
                if count
                else f"class {info['class_name']!r} has no styles"
            )
        state = self._state
        self._push(state.labels, state.instances, {**state.choices, instance_id: cluster})
        return self.instance_info(instance_id)

    def relabel(self, instance_id: int, class_id: int) -> dict[str, Any]:
        """Change the class of an instance; things get a new id of the new class.

        Returns:
            `instance_info` of the (possibly renumbered) instance.
        """
        self._check_instance(instance_id)
        self._check_class(class_id)
        state = self._state
        divisor = self.class_divisor if self.classes[class_id].is_thing else None
        if divisor is None:  # stuff merges into the region of its class
            mask = state.instances == instance_id
            labels = torch.where(mask, class_id, state.labels)
            instances = torch.where(mask, class_id, state.instances)
            new_id = class_id
        else:
            labels, instances = relabel_instance(
                state.labels, state.instances, instance_id, class_id, class_divisor=divisor
            )
            new_id = int(instances[state.instances == instance_id][0])
        choices = dict(state.choices)
        if new_id != instance_id and instance_id in choices:
            choices.setdefault(new_id, choices.pop(instance_id))
        was_selected = self.selected == instance_id
        self._push(labels, instances, choices)
        if was_selected:
            self.selected = new_id
        return self.instance_info(new_id)

    def delete(self, instance_id: int, background_class: int) -> dict[str, Any]:
        """Fill an instance with a stuff class (its pixels join that class's region).

        Raises:
            ValueError: If the instance is unknown or ``background_class`` is not a stuff class.
        """
        self._check_instance(instance_id)
        self._check_class(background_class, "background_class")
        if self.classes[background_class].is_thing:
            raise ValueError(f"background_class must be a stuff class, got {background_class}")
        state = self._state
        labels, instances = remove_instance(
            state.labels, state.instances, instance_id, background_class
        )
        self._push(labels, instances, state.choices)
        return self.instance_info(background_class)

    def paint(
        self,
        class_id: int,
        *,
        points: Sequence[Sequence[float]] | None = None,
        mask: Tensor | None = None,
        brush: int = 3,
    ) -> dict[str, Any]:
        """Paint a brush stroke (or a mask) with a class.

        A thing class makes one new instance of the painted pixels; a stuff class joins its
        class's region. Instances painted over entirely disappear.

        Args:
            class_id: The class to paint.
            points: The stroke, ``[(x, y), ...]`` in pixels; consecutive points are joined.
            mask: Instead of points, a bool mask of shape (H, W).
            brush: Brush radius in pixels (1 to 64).

        Returns:
            `instance_info` of the painted instance or region.

        Raises:
            ValueError: If a point is outside the image, the brush is out of range, or nothing
                is painted.
        """
        self._check_class(class_id)
        region = self._region(points, mask, brush)
        state = self._state
        if self.classes[class_id].is_thing:
            new_id = new_instance_id(state.instances, class_id, class_divisor=self.class_divisor)
        else:
            new_id = class_id
        labels = torch.where(region, class_id, state.labels)
        instances = torch.where(region, new_id, state.instances)
        self._push(labels, instances, state.choices)
        self.selected = new_id
        return self.instance_info(new_id)

    def _region(self, points: Any, mask: Tensor | None, brush: Any) -> Tensor:
        height, width = self.size
        if (points is None) == (mask is None):
            raise ValueError("paint needs exactly one of points and mask")
        if mask is not None:
            if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
                raise TypeError("mask must be a bool tensor")
            if tuple(mask.shape) != (height, width):
                raise ValueError(f"mask must have shape {(height, width)}, got {tuple(mask.shape)}")
            region = mask
        else:
            if isinstance(brush, bool) or not isinstance(brush, int) or not 1 <= brush <= 64:
                raise ValueError(f"brush must be an int radius in 1..64, got {brush!r:.40}")
            if not isinstance(points, (list, tuple)) or not 1 <= len(points) <= 10_000:
                raise ValueError("points must be a list of 1 to 10000 [x, y] pairs")
            stroke = []
            for point in points:
                if not isinstance(point, (list, tuple)) or len(point) != 2:
                    raise ValueError(f"every point must be [x, y], got {point!r:.40}")
                stroke.append(self._check_point(*point))
            length = sum(
                max(abs(a - c), abs(b - d)) for (a, b), (c, d) in itertools.pairwise(stroke)
            )
            if length > _MAX_STROKE:
                raise ValueError(f"the stroke is {length} pixels long, more than {_MAX_STROKE}")
            region = stroke_mask(stroke, brush, height, width)
        if not bool(region.any()):
            raise ValueError("the paint region is empty")
        return region.view(1, 1, height, width)

    def randomize_styles(self, seed: int | None = None) -> dict[int, int]:
        """Draw a new random cluster for every instance (``seed`` makes it repeatable).

        Returns:
            The new `choices`.
        """
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
                raise ValueError(f"seed must be a non-negative int, got {seed!r:.40}")
            self._rng.manual_seed(seed)
        state = self._state
        self._push(state.labels, state.instances, {})
        return self.choices

    def load_maps(self, labels: Tensor, instances: Tensor) -> None:
        """Replace the maps with new ones (an undoable edit); every instance gets a new style.

        Raises:
            ValueError: If the maps are invalid or hold unknown classes.
        """
        self._load(self._check_maps(labels, instances))

    def undo(self) -> bool:
        """Go back one edit; False when there is nothing to undo."""
        if not self.can_undo:
            return False
        self._position -= 1
        self._forget_missing_selection()
        return True

    def redo(self) -> bool:
        """Repeat the next undone edit; False when there is none."""
        if not self.can_redo:
            return False
        self._position += 1
        self._forget_missing_selection()
        return True

    def _forget_missing_selection(self) -> None:
        if self.selected is not None and not bool((self._state.instances == self.selected).any()):
            self.selected = None

    # -- rendering ----------------------------------------------------------------------------

    def generated(self) -> Tensor:
        """The generated image of the current state, uint8 (3, H, W), computed once per state."""
        state = self._state
        if state.generated is None:
            image = self.generate_fn(state.labels.clone(), state.instances.clone(), state.choices)
            if not isinstance(image, Tensor) or image.shape[-2:] != state.labels.shape[-2:]:
                raise RuntimeError(f"generate returned {getattr(image, 'shape', image)!r:.60}")
            state.generated = to_uint8_image(image.reshape(-1, *image.shape[-2:])[-3:])
        return state.generated

    def label_picture(self) -> Tensor:
        """The label map in class colours, uint8 (3, H, W)."""
        palette = torch.zeros(max(self.classes) + 1, 3, dtype=torch.uint8)
        for class_id, info in self.classes.items():
            palette[class_id] = torch.tensor(info.color, dtype=torch.uint8)
        return colorize(self._state.labels[0], palette)

    def selection_picture(self) -> Tensor:
        """RGBA uint8 (4, H, W) overlay of the selected instance: a yellow outline, faint inside."""
        height, width = self.size
        overlay = torch.zeros(4, height, width, dtype=torch.uint8)
        if self.selected is not None:
            mask = (self._state.instances[0] == self.selected).float()
            outside = torch.nn.functional.max_pool2d(1 - mask, 3, stride=1, padding=1)[0] > 0
            inside = mask[0] > 0
            overlay[:3, inside] = torch.tensor([255, 230, 0], dtype=torch.uint8)[:, None]
            overlay[3, inside] = torch.where(outside[inside], 255, 50).to(torch.uint8)
        return overlay

    def thumbnail(self, instance_id: int, cluster: int, *, margin: int = 4) -> Tensor:
        """The instance rendered with one cluster, cropped to its box: uint8 (3, h, w)."""
        info = self.instance_info(instance_id)
        if not 0 <= cluster < len(info["styles"]):
            raise ValueError(f"cluster must be in 0..{len(info['styles']) - 1}, got {cluster}")
        state = self._state
        choices = {**state.choices, instance_id: cluster}
        image = self.generate_fn(state.labels.clone(), state.instances.clone(), choices)
        x0, y0, x1, y1 = info["bbox"]
        height, width = self.size
        crop = image.reshape(-1, height, width)[-3:]
        crop = crop[:, max(y0 - margin, 0) : y1 + margin, max(x0 - margin, 0) : x1 + margin]
        return to_uint8_image(crop)

    def render(self) -> dict[str, bytes]:
        """PNG bytes of the colourised labels and the generated image."""
        return {
            "labels": encode_png(self.label_picture()),
            "generated": encode_png(self.generated()),
        }


def _as_4d(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(x).__name__}")
    if x.ndim == 2:
        return x[None, None]
    if x.ndim == 3:
        return x[None]
    return x


def _instance_classes(labels: Tensor, instances: Tensor) -> tuple[list[int], list[int], bool]:
    """Sorted unique instance ids, the (smallest) class of each, and whether each has one class.

    One sort of the ids and two scatters: linear in the pixels after the sort, where comparing
    (id, class) pairs with ``unique(dim=1)`` took seconds on a 2-megapixel map.
    """
    flat_labels = labels.flatten()
    ids, inverse = instances.flatten().unique(return_inverse=True)
    low = flat_labels.new_full(ids.shape, torch.iinfo(torch.int64).max)
    low.scatter_reduce_(0, inverse, flat_labels, reduce="amin")
    high = flat_labels.new_full(ids.shape, torch.iinfo(torch.int64).min)
    high.scatter_reduce_(0, inverse, flat_labels, reduce="amax")
    return ids.tolist(), low.tolist(), bool(torch.equal(low, high))
