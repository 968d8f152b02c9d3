"""Draw one synthetic street scene (label map, instance map, image) with vectorised numpy.

The scene is a street seen from a car, in true perspective. A pinhole camera ``CAMERA_HEIGHT``
metres above a flat ground looks along the street: a pixel at ``(x, y)`` below the horizon
``h0`` sees the ground point ``X = (x - vx) * CAMERA_HEIGHT / (y - h0)`` (lateral metres) and
``Z = f * CAMERA_HEIGHT / (y - h0)`` (forward metres). The ground is road where ``|X|`` is under
the road's half width and sidewalk up to the facades; the facades are vertical planes at
``|X| = facade``, cut into buildings (or tree-lined parks) of random length and height. Things
are 3D boxes (cars) or stacked shapes (people) standing on the ground; they and the street
trees are drawn far to near, so a nearer object hides a farther one and neighbours touch.
Every class is textured in its own coordinates: tiles on the sidewalk's ground plane, windows
on the facade planes, so textures shrink with distance like the objects do.

Pixels are processed in whole-image or per-class arrays; Python loops run over objects only.
"""

from __future__ import annotations

import math

import numpy as np

SKY, BUILDING, VEGETATION, ROAD, SIDEWALK, CAR, PERSON = range(7)
NUM_CLASSES = 7
THING_CLASSES = (CAR, PERSON)
CAMERA_HEIGHT = 2.0  # metres above the ground

# Road and sidewalk share this mean colour; only their textures tell them apart.
PAVEMENT_RGB = (0.42, 0.42, 0.44)

CAR_COLORS = (
    ("red", (0.72, 0.08, 0.07)),
    ("blue", (0.10, 0.22, 0.62)),
    ("white", (0.90, 0.90, 0.88)),
    ("black", (0.07, 0.07, 0.08)),
    ("silver", (0.60, 0.62, 0.64)),
    ("yellow", (0.92, 0.75, 0.10)),
)

_F32 = np.float32
_PAVEMENT = np.array(PAVEMENT_RGB, dtype=_F32)[:, None]
_CAR_RGB = np.array([rgb for _, rgb in CAR_COLORS], dtype=_F32)
_WALL_RGB = np.array(
    [
        [0.76, 0.68, 0.55],  # beige
        [0.55, 0.27, 0.20],  # brick
        [0.55, 0.55, 0.55],  # grey
        [0.85, 0.82, 0.72],  # cream
        [0.70, 0.55, 0.30],  # ochre
        [0.45, 0.50, 0.58],  # blue-grey
    ],
    dtype=_F32,
)
_GLASS_RGB = np.array([0.14, 0.17, 0.22], dtype=_F32)
_SHIRT_RGB = np.array(
    [
        [0.80, 0.15, 0.15],
        [0.15, 0.35, 0.75],
        [0.95, 0.95, 0.92],
        [0.20, 0.55, 0.25],
        [0.95, 0.70, 0.15],
        [0.45, 0.20, 0.55],
        [0.15, 0.15, 0.15],
    ],
    dtype=_F32,
)
_TROUSERS_RGB = np.array(
    [[0.12, 0.14, 0.30], [0.10, 0.10, 0.10], [0.35, 0.30, 0.25], [0.40, 0.42, 0.45]], dtype=_F32
)
_SKIN_RGB = np.array(
    [[0.96, 0.80, 0.69], [0.87, 0.67, 0.52], [0.65, 0.45, 0.32], [0.42, 0.28, 0.20]], dtype=_F32
)
_HAIR_RGB = np.array([0.10, 0.07, 0.05], dtype=_F32)
_TRUNK_RGB = np.array([0.30, 0.21, 0.12], dtype=_F32)
_TYRE_RGB = np.array([0.05, 0.05, 0.05], dtype=_F32)
_LIGHT_RGB = np.array([0.85, 0.05, 0.05], dtype=_F32)


def noise_at(rng: np.random.Generator, rows, cols, cell: float, shape) -> np.ndarray:
    """Smooth value noise (zero mean, about unit scale, features ``cell`` px wide) at pixels.

    The random grid always covers the whole ``shape``, so how much randomness is drawn does not
    depend on which pixels are asked for.
    """
    grid_h, grid_w = int(shape[0] / cell) + 2, int(shape[1] / cell) + 2
    grid = rng.standard_normal(grid_h * grid_w, dtype=_F32)
    y0, fy = _knots(shape[0], cell)
    x0, fx = _knots(shape[1], cell)
    base = y0[rows] * grid_w + x0[cols]
    fx, fy = fx[cols], fy[rows]
    top = grid[base] + (grid[base + 1] - grid[base]) * fx
    base += grid_w
    bottom = grid[base] + (grid[base + 1] - grid[base]) * fx
    return top + (bottom - top) * fy


def _knots(size: int, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel along one axis: the knot to its left and its smoothstep weight."""
    position = (np.arange(size, dtype=_F32) + 0.5) / cell
    knot = position.astype(np.int64)
    frac = position - knot
    return knot, frac * frac * (3 - 2 * frac)


def _frac(x: np.ndarray) -> np.ndarray:
    """Fractional part; many times faster than ``np.mod(x, 1.0)``."""
    return x - np.floor(x)


class _Canvas:
    """The camera, the label and instance maps, and the colours of the things drawn so far."""

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self.rng = rng
        self.height, self.width = height, width
        self.horizon = height * rng.uniform(0.34, 0.44)
        self.vanish_x = width * rng.uniform(0.38, 0.62)
        self.bottom_depth = rng.uniform(5.0, 7.0)  # metres seen by the bottom row
        self.focal = (height - self.horizon) * self.bottom_depth / CAMERA_HEIGHT
        self.label = np.empty((height, width), dtype=np.uint8)
        self.instance = np.empty((height, width), dtype=np.int32)
        self.things_rgb = np.zeros((3, height, width), dtype=_F32)
        self.trunk = np.zeros((height, width), dtype=bool)
        self.instance_count = dict.fromkeys(THING_CLASSES, 0)

    def project(self, lateral, height, depth):
        """Pixel coordinates ``(x, y)`` of points given in metres."""
        depth = np.asarray(depth, dtype=np.float64)
        x = self.vanish_x + self.focal * np.asarray(lateral) / depth
        y = self.horizon + self.focal * (CAMERA_HEIGHT - np.asarray(height)) / depth
        return x, y

    def window(self, x0: float, x1: float, y0: float, y1: float):
        """The pixels whose centres lie in ``[x0, x1] x [y0, y1]``, clipped to the image.

        Returns:
            ``((rows, cols), ys, xs)``: slices and the pixel centres as a column and a row, or
            None when no pixel centre is inside.
        """
        c0, c1 = max(math.ceil(x0 - 0.5), 0), min(math.floor(x1 - 0.5) + 1, self.width)
        r0, r1 = max(math.ceil(y0 - 0.5), 0), min(math.floor(y1 - 0.5) + 1, self.height)
        if c0 >= c1 or r0 >= r1:
            return None
        ys = np.arange(r0, r1, dtype=_F32)[:, None] + 0.5
        xs = np.arange(c0, c1, dtype=_F32)[None, :] + 0.5
        return (slice(r0, r1), slice(c0, c1)), ys, xs

    def paint_thing(self, cls: int, parts) -> None:
        """Make the union of ``parts`` = ``[(box, mask, rgb), ...]`` one new instance of ``cls``."""
        instance_id = cls * 1000 + self.instance_count[cls]
        self.instance_count[cls] += 1
        for (rows, cols), mask, rgb in parts:
            self.label[rows, cols][mask] = cls
            self.instance[rows, cols][mask] = instance_id
            self.trunk[rows, cols][mask] = False
            rgb = np.asarray(rgb, dtype=_F32)
            for channel in range(3):
                value = rgb[channel] if rgb.ndim == 1 else rgb[channel][mask]
                self.things_rgb[channel, rows, cols][mask] = value

    def paint_stuff(self, cls: int, box, mask, *, trunk: bool = False) -> None:
        rows, cols = box
        self.label[rows, cols][mask] = cls
        self.instance[rows, cols][mask] = cls
        self.trunk[rows, cols][mask] = trunk


def _convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain on a few 2D points, in counter-clockwise (algebraic) order."""
    pts = sorted(points)

    def chain(sequence):
        hull: list[tuple[float, float]] = []
        for p in sequence:
            while len(hull) >= 2:
                (ax, ay), (bx, by) = hull[-2], hull[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                hull.pop()
            hull.append(p)
        return hull

    return chain(pts)[:-1] + chain(reversed(pts))[:-1]


def _box(canvas: _Canvas, lateral, height, depth):
    """Silhouette of a 3D box given as (lo, hi) ranges in metres: ``(box, ys, xs, mask)``.

    The silhouette is the convex hull of the eight projected corners. A convex polygon's
    horizontal and vertical edges lie on its bounding box, which `_Canvas.window`
    already clips to, so only the slanted edges are tested per pixel.
    """
    f, vx, h0 = canvas.focal, canvas.vanish_x, canvas.horizon
    corners = [
        (vx + f * float(x) / z, h0 + f * (CAMERA_HEIGHT - float(y)) / z)
        for x in lateral
        for y in height
        for z in map(float, depth)
    ]
    px, py = [c[0] for c in corners], [c[1] for c in corners]
    found = canvas.window(min(px), max(px), min(py), max(py))
    if found is None:
        return None
    box, ys, xs = found
    hull = _convex_hull(corners)
    mask = np.ones((ys.shape[0], xs.shape[1]), dtype=bool)
    for (ax, ay), (bx, by) in zip(hull, hull[1:] + hull[:1], strict=True):
        if ax != bx and ay != by:
            # (b - a) x (p - a) >= 0, split into a row term and a column term
            mask &= (bx - ax) * (ys - ay) >= (by - ay) * (xs - ax)
    return box, ys, xs, mask


def _draw_car(canvas: _Canvas, lateral: float, depth: float, color: np.ndarray) -> None:
    """A car seen from behind and above: body, glass cabin under a roof, tyres, rear lights."""
    half, length = 0.9, 4.4
    body = _box(canvas, (lateral - half, lateral + half), (0.3, 1.05), (depth, depth + length))
    if body is None:
        return
    box, ys, _, mask = body
    top, bottom = float(ys[0, 0]), float(ys[-1, 0])
    shade = 1.12 - 0.3 * (ys - top) / max(bottom - top, 1.0)  # lit from above
    body_rgb = np.clip(color[:, None, None] * shade[None], 0, 1)
    parts = [(box, mask, np.broadcast_to(body_rgb, (3, *mask.shape)))]
    # Tyres: both rear ones, and the front one on the side that faces the camera.
    inner = -1.0 if lateral > 0 else 1.0
    tyres = [(-1.0, depth + 0.5), (1.0, depth + 0.5), (inner, depth + 3.3)]
    for side, at in tyres:
        tyre = (lateral + side * (half - 0.28), lateral + side * half)
        rect = _rect(canvas, tyre, (0.0, 0.5), at)
        if rect is not None:
            parts.append((rect, ..., _TYRE_RGB))
    cabin = _box(canvas, (lateral - 0.78, lateral + 0.78), (1.05, 1.42), (depth + 1.2, depth + 3.5))
    if cabin is not None:
        box, ys, xs, mask = cabin
        glint = 0.07 * np.sin(0.4 * (xs + 0.7 * ys))  # reflections on the glass
        parts.append((box, mask, np.clip(_GLASS_RGB[:, None, None] + glint[None], 0, 1)))
        roof = _box(
            canvas, (lateral - 0.72, lateral + 0.72), (1.42, 1.5), (depth + 1.35, depth + 3.4)
        )
        if roof is not None:
            parts.append((roof[0], roof[3], np.clip(color * 1.1, 0, 1)))
    for side in (-1.0, 1.0):  # rear lights
        lights = sorted((lateral + side * (half - 0.3), lateral + side * (half - 0.05)))
        rect = _rect(canvas, lights, (0.75, 0.9), depth)
        if rect is not None:
            parts.append((rect, ..., _LIGHT_RGB))
    canvas.paint_thing(CAR, parts)


def _rect(canvas: _Canvas, lateral, height, depth: float):
    """Pixel box of an upright rectangle facing the camera at ``depth``, or None if unseen."""
    (x0, x1), (y1, y0) = canvas.project(np.array(lateral), np.array(height), depth)
    found = canvas.window(x0, x1, y0, y1)
    return None if found is None else found[0]


def _draw_person(canvas: _Canvas, lateral: float, depth: float, tall: float) -> None:
    """A pedestrian: legs in trousers, shirt and arms, a head with hair; colours per person."""
    rng = canvas.rng
    shirt = _SHIRT_RGB[rng.integers(len(_SHIRT_RGB))]
    trousers = _TROUSERS_RGB[rng.integers(len(_TROUSERS_RGB))]
    skin = _SKIN_RGB[rng.integers(len(_SKIN_RGB))]
    stride = rng.uniform(0.0, 0.1)
    scale = canvas.focal / depth  # pixels per metre at this depth
    foot_x, foot_y = (float(v) for v in canvas.project(lateral, 0.0, depth))
    found = canvas.window(
        foot_x - 0.35 * scale, foot_x + 0.35 * scale, foot_y - tall * scale, foot_y
    )
    if found is None:
        return
    box, ys, xs = found
    dx, up = (xs - foot_x) / scale, (foot_y - ys) / scale  # metres from the feet
    head_y = tall - 0.12
    head = (dx / 0.1) ** 2 + ((up - head_y) / 0.12) ** 2 <= 1.0
    hair = head & (up > head_y + 0.03)
    torso = (np.abs(dx) <= 0.2) & (up >= 0.47 * tall) & (up < tall - 0.22)
    arms = (np.abs(dx) <= 0.27) & (up >= 0.5 * tall) & (up < tall - 0.32)
    legs = (up < 0.47 * tall) & (np.abs(np.abs(dx) - 0.09 - stride * (1 - up)) <= 0.075)
    parts = [
        (box, legs, trousers),
        (box, torso | arms, shirt),
        (box, head & ~hair, skin),
        (box, hair, _HAIR_RGB),
    ]
    canvas.paint_thing(PERSON, parts)


def _draw_tree(canvas: _Canvas, lateral: float, depth: float) -> None:
    """A street tree: a thin trunk and a lumpy crown made of overlapping discs (vegetation)."""
    rng = canvas.rng
    radius, crown_y = rng.uniform(1.3, 2.3), rng.uniform(3.8, 6.0)
    angles = rng.uniform(0, 2 * np.pi, size=5)
    spread = radius * rng.uniform(0.5, 0.85, size=5)
    sizes = radius * rng.uniform(0.4, 0.6, size=5)
    lumps = [(0.0, 0.0, 0.85 * radius)] + [
        (d * np.cos(a), d * np.sin(a), r) for a, d, r in zip(angles, spread, sizes, strict=True)
    ]
    scale = canvas.focal / depth
    base_x, base_y = (float(v) for v in canvas.project(lateral, 0.0, depth))
    reach = 1.35 * radius * scale
    found = canvas.window(base_x - reach, base_x + reach, base_y - crown_y * scale - reach, base_y)
    if found is None:
        return
    box, ys, xs = found
    dx, up = (xs - base_x) / scale, (base_y - ys) / scale
    crown = np.zeros((ys.shape[0], xs.shape[1]), dtype=bool)
    for cx, cy, r in lumps:
        crown |= (dx - cx) ** 2 <= r * r - (up - crown_y - cy) ** 2
    trunk = (np.abs(dx) <= 0.15) & (up < crown_y) & ~crown
    canvas.paint_stuff(VEGETATION, box, trunk, trunk=True)
    canvas.paint_stuff(VEGETATION, box, crown)


def _street_side(rng: np.random.Generator, near: float):
    """Facade segments along one side: far bounds (m), heights (m), wall colour ids, park flags.

    Segments grow with depth so the whole street, out to the vanishing point, takes a few
    dozen of them.
    """
    bounds, heights, walls, parks = [], [], [], []
    depth = near
    while depth < 5000.0:
        park = rng.random() < 0.18
        heights.append(rng.uniform(5.0, 9.0) if park else rng.uniform(7.0, 28.0))
        walls.append(rng.integers(len(_WALL_RGB)))
        parks.append(park)
        depth += rng.uniform(8.0, 28.0) + 0.25 * depth
        bounds.append(depth)
    return (
        np.array(bounds[:-1], dtype=_F32),
        np.array(heights, dtype=_F32),
        np.array(walls),
        np.array(parks),
    )


def render_scene(rng: np.random.Generator, height: int, width: int):
    """Draw one scene from ``rng``.

    Returns:
        ``(label, instance, image)``: int64 (H, W) class ids, int64 (H, W) instance ids
        (``class * 1000 + k`` for cars and people, the class id for stuff) and float32
        (3, H, W) colours in [0, 1].
    """
    canvas = _Canvas(rng, height, width)
    ys = np.arange(height, dtype=_F32)[:, None] + 0.5
    xs = np.arange(width, dtype=_F32)[None, :] + 0.5
    below = ys - _F32(canvas.horizon)  # (H, 1), > 0 under the horizon
    offset = xs - _F32(canvas.vanish_x)  # (1, W)
    left = offset[0] < 0
    spread = np.abs(offset) + _F32(1e-3)

    road_half = rng.uniform(2.5, 5.0, size=2).astype(_F32)  # left, right
    facade = road_half + rng.uniform(2.5, 5.0, size=2).astype(_F32)
    road_col = np.where(left, road_half[0], road_half[1])[None, :]
    facade_col = np.where(left, facade[0], facade[1])[None, :]

    # Facade planes: depth per column, height above the ground per pixel.
    facade_depth = _F32(canvas.focal) * facade_col / spread
    facade_up = CAMERA_HEIGHT - below * (facade_col / spread)
    top = np.empty_like(facade_depth)
    wall = np.empty(facade_depth.shape, dtype=np.int64)
    park = np.empty(facade_depth.shape, dtype=bool)
    phase = np.empty_like(facade_depth)
    for columns in (left, ~left):
        bounds, heights, walls, parks = _street_side(rng, canvas.bottom_depth * 0.5)
        segment = np.searchsorted(bounds, facade_depth[0, columns])
        top[0, columns] = heights[segment]
        wall[0, columns] = walls[segment]
        park[0, columns] = parks[segment]
        phase[0, columns] = rng.uniform(0, 1, size=len(heights)).astype(_F32)[segment]
    crowns = noise_at(
        rng, np.zeros(width, np.int64), np.arange(width), max(2.0, width / 96), (1, width)
    )
    top = np.where(park, top * (1 + 0.12 * crowns[None, :]), top)

    spread_h = spread * CAMERA_HEIGHT
    ids = np.arange(NUM_CLASSES, dtype=np.uint8)
    ground = np.where(below * road_col > spread_h, ids[ROAD], ids[SIDEWALK])
    built = np.where(park, ids[VEGETATION], ids[BUILDING])
    np.copyto(canvas.label, ground)
    np.copyto(canvas.label, np.where(facade_up < top, built, ids[SKY]), where=facade_up >= 0)
    canvas.instance[:] = canvas.label

    _place_objects(canvas, road_half, facade)
    image = _paint_stuff(canvas, below, offset, facade_depth, facade_up, wall, phase)
    things = np.flatnonzero(canvas.label.ravel() >= CAR)
    for channel in range(3):
        image[channel][things] = canvas.things_rgb[channel].ravel()[things]
    np.clip(image, 0.0, 1.0, out=image)
    label, instance = canvas.label.astype(np.int64), canvas.instance.astype(np.int64)
    return label, instance, image.reshape(3, height, width)


def _place_objects(canvas: _Canvas, road_half: np.ndarray, facade: np.ndarray) -> None:
    """Choose parked and driving cars, pedestrians and street trees; draw them far to near."""
    rng = canvas.rng
    start = canvas.bottom_depth
    objects: list[tuple[float, int, tuple]] = []
    for sign, road, walk in ((-1.0, road_half[0], facade[0]), (1.0, road_half[1], facade[1])):
        walk = walk - road
        if rng.random() < 0.9:  # parked cars along the kerb, mostly bumper to bumper
            depth = start * rng.uniform(1.0, 2.5)
            for _ in range(rng.integers(2, 7)):
                lateral = sign * (road - 1.05 + rng.uniform(-0.1, 0.1))
                objects.append((depth, 0, (lateral, depth, _car_color(rng))))
                close = rng.random() < 0.7
                depth += 4.4 + (rng.uniform(-0.3, 0.3) if close else rng.uniform(1.0, 6.0))
        for _ in range(rng.integers(1, 4)):  # pedestrians, alone or side by side
            depth = rng.uniform(start * 1.2, 30.0)
            lateral = sign * (road + rng.uniform(0.4, max(0.5, walk - 1.3)))
            for member in range(rng.integers(1, 4)):
                spot = lateral + sign * member * rng.uniform(0.42, 0.56)
                step = depth + rng.uniform(-0.25, 0.25)
                objects.append((step, 1, (spot, step, rng.uniform(1.55, 1.92))))
        depth = start * rng.uniform(1.0, 3.0)
        for _ in range(rng.integers(0, 4)):  # street trees near the facades
            lateral = sign * (road + walk * rng.uniform(0.7, 0.85))
            objects.append((depth, 2, (lateral, depth)))
            depth += rng.uniform(7.0, 16.0)
    for _ in range(rng.integers(0, 3)):  # traffic in the lanes, seen from behind
        lane = rng.uniform(-road_half[0] + 1.2, road_half[1] - 1.2)
        depth = rng.uniform(start * 1.5, 45.0)
        objects.append((depth, 0, (lane, depth, _car_color(rng))))
    draw = (_draw_car, _draw_person, _draw_tree)
    for _, kind, args in sorted(objects, key=lambda item: -item[0]):
        draw[kind](canvas, *args)


def _car_color(rng: np.random.Generator) -> np.ndarray:
    """One of the ``CAR_COLORS``, slightly jittered."""
    jitter = rng.uniform(-0.03, 0.03, size=3)
    return np.clip(_CAR_RGB[rng.integers(len(_CAR_RGB))] + jitter, 0, 1).astype(_F32)


def _paint_stuff(canvas, below, offset, facade_depth, facade_up, wall, phase) -> np.ndarray:
    """Texture every stuff pixel in its own coordinates; returns (3, H * W) float32."""
    rng = canvas.rng
    height, width = canvas.height, canvas.width
    shape = (height, width)
    scale = height / 256.0
    flat = canvas.label.ravel()
    image = np.empty((3, height * width), dtype=_F32)

    def pixels(cls):
        index = np.flatnonzero(flat == cls)
        rows, cols = np.divmod(index, width)
        return index, rows, cols

    # Sky: a vertical gradient with soft clouds.
    index, rows, cols = pixels(SKY)
    t = np.clip((rows + 0.5) / max(canvas.horizon, 1.0), 0, 1).astype(_F32)
    cloud = np.clip(1.4 * noise_at(rng, rows, cols, 28 * scale + 2, shape) - 0.3, 0, 1) * 0.8
    for channel, (high, low) in enumerate(((0.22, 0.70), (0.42, 0.80), (0.75, 0.90))):
        sky = high + (low - high) * t
        image[channel][index] = sky + (0.95 - sky) * cloud

    # Buildings: one wall colour per building, a grid of windows on the facade plane. What
    # depends on the depth along the facade alone is computed once per image column.
    index, _, cols = pixels(BUILDING)
    depth = facade_depth[0]
    window_column = _frac(depth / 3.0 + phase[0])
    near = np.clip(canvas.focal * 1.2 / depth - 1.0, 0, 1)  # windows under ~2 px blend in
    glass = np.where((window_column > 0.25) & (window_column < 0.7), near, 0)[cols]
    haze = ((1 - near) * 0.2)[cols]
    up = facade_up.ravel()[index]
    floor = _frac((up - 0.6) / 3.2)
    mix = np.where((floor > 0.3) & (floor < 0.78) & (up > 2.6), glass, 0) + haze
    grain = 0.085 * (rng.random(index.size, dtype=_F32) - 0.5)
    walls = _WALL_RGB[wall[0]]  # (W, 3)
    for channel in range(3):
        value = walls[:, channel][cols]
        image[channel][index] = value + (_GLASS_RGB[channel] - value) * mix + grain

    # Vegetation: leafy blotches at two scales; brighter leaves are yellower; brown trunks.
    index, rows, cols = pixels(VEGETATION)
    leaves = 0.6 * noise_at(rng, rows, cols, 3 * scale + 1, shape)
    leaves += 0.4 * noise_at(rng, rows, cols, 10 * scale + 2, shape)
    light = np.clip(0.85 + 0.45 * leaves, 0.35, 1.6)
    trunk = canvas.trunk.ravel()[index]
    for channel, (green, tint) in enumerate(((0.20, 0.06), (0.38, 0.04), (0.10, -0.02))):
        value = green * light + tint * (light - 1)
        image[channel][index] = np.where(trunk, _TRUNK_RGB[channel], value)

    # Road: fine, zero-mean asphalt grain.
    index, _, _ = pixels(ROAD)
    grain = 0.24 * (rng.random(index.size, dtype=_F32) - 0.5)
    for channel in range(3):
        image[channel][index] = _PAVEMENT[channel] + grain

    # Sidewalk: square tiles on the ground plane; tiles and grout average to zero.
    index, rows, cols = pixels(SIDEWALK)
    t = np.maximum(below[rows, 0], _F32(1e-3))
    lateral = offset[0, cols] * CAMERA_HEIGHT / t
    forward = _F32(canvas.focal * CAMERA_HEIGHT) / t
    tile, grout, bright = 0.6, 0.12, 0.035
    dark = bright * (1 - grout) ** 2 / (1 - (1 - grout) ** 2)
    inside = (_frac(lateral / tile) > grout) & (_frac(forward / tile) > grout)
    pattern = np.where(inside, _F32(bright), _F32(-dark))
    pattern += 0.05 * (rng.random(index.size, dtype=_F32) - 0.5)
    for channel in range(3):
        image[channel][index] = _PAVEMENT[channel] + pattern
    return image
