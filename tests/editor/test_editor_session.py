from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from condgan_blocks.editor import EditorClass, EditorSession, stroke_mask
from tests._editor_helpers import CAR, CLASSES, NUM_STYLES, PERSON, ROAD, SKY, car_of, make_session


def test_select_describes_the_instance_under_the_point():
    session = make_session()
    car, (x, y) = car_of(session)
    info = session.select(x, y)
    assert info["instance_id"] == car
    assert info["class_id"] == CAR
    assert info["class_name"] == "car"
    assert info["is_thing"]
    assert info["pixels"] == int((session.instances == car).sum())
    x0, y0, x1, y1 = info["bbox"]
    assert x0 <= x < x1
    assert y0 <= y < y1
    assert len(info["styles"]) == NUM_STYLES
    assert [s["current"] for s in info["styles"]].count(True) == 1
    assert session.selected == car


@pytest.mark.parametrize(("x", "y"), [(-1, 0), (0, -1), (64, 0), (0, 32), (1e9, 0)])
def test_select_outside_the_image_raises(x, y):
    with pytest.raises(ValueError, match="outside the image"):
        make_session().select(x, y)


def test_select_needs_numbers():
    with pytest.raises(TypeError, match="x must be a number"):
        make_session().select("1", 2)


def test_set_style_changes_only_that_instance_and_its_surroundings():
    session = make_session()
    car, _ = car_of(session)
    before = session.generated().clone()
    other = (session.choices[car] + 1) % NUM_STYLES
    info = session.set_style(car, other)
    assert info["style"] == other
    assert session.choices[car] == other
    changed = (session.generated() != before).any(0)
    near = torch.nn.functional.max_pool2d(
        (session.instances[0] == car).float(), 3, stride=1, padding=1
    )[0].bool()
    assert changed.any()
    assert not (changed & ~near).any()  # a 3x3 generator: nothing changes farther away


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((5999, 0), ValueError, "not in the instance map"),
        ((None, 0), TypeError, "instance_id must be an int"),
        ((True, 0), TypeError, "instance_id must be an int"),
    ],
)
def test_bad_instance_ids_raise(args, error, match):
    session = make_session()
    for edit in (session.set_style, session.relabel, session.delete):
        with pytest.raises(error, match=match):
            edit(*args)


def test_set_style_checks_the_cluster():
    session = make_session()
    car, _ = car_of(session)
    with pytest.raises(ValueError, match=r"cluster must be in 0\.\.2"):
        session.set_style(car, NUM_STYLES)
    with pytest.raises(TypeError, match="cluster must be an int"):
        session.set_style(car, 1.0)
    assert not session.can_undo


def test_classes_without_styles_have_none():
    session = make_session(num_styles={CAR: 2})
    info = session.select(0, 0)  # sky
    assert info["styles"] == []
    assert info["style"] is None
    with pytest.raises(ValueError, match="has no styles"):
        session.set_style(info["instance_id"], 0)


def test_relabel_to_a_thing_gives_a_new_id_of_that_class():
    session = make_session()
    car, (x, y) = car_of(session)
    session.select(x, y)
    info = session.relabel(car, PERSON)
    assert info["class_id"] == PERSON
    assert info["instance_id"] // 1000 == PERSON
    assert (session.labels[session.instances == info["instance_id"]] == PERSON).all()
    assert car not in session.choices
    assert session.selected == info["instance_id"]


def test_relabel_to_stuff_joins_the_region():
    session = make_session()
    car, _ = car_of(session)
    pixels = int((session.instances == ROAD).sum()) + int((session.instances == car).sum())
    info = session.relabel(car, ROAD)
    assert info["instance_id"] == ROAD
    assert info["pixels"] == pixels


def test_unknown_classes_raise():
    session = make_session()
    car, _ = car_of(session)
    with pytest.raises(ValueError, match="class_id 7 is not a known class"):
        session.relabel(car, 7)
    with pytest.raises(ValueError, match="class_id -1 is not a known class"):
        session.paint(-1, points=[(0, 0)])
    with pytest.raises(ValueError, match="background_class 99 is not a known class"):
        session.delete(car, 99)
    with pytest.raises(TypeError, match="class_id must be an int"):
        session.paint("car", points=[(0, 0)])


def test_delete_fills_with_stuff():
    session = make_session()
    car, _ = car_of(session)
    mask = session.instances == car
    info = session.delete(car, ROAD)
    assert info["instance_id"] == ROAD
    assert (session.labels[mask] == ROAD).all()
    assert car not in session.instances
    assert car not in session.choices
    with pytest.raises(ValueError, match="must be a stuff class"):
        session.delete(ROAD, CAR)


def test_paint_a_thing_makes_a_new_instance():
    session = make_session()
    before = set(session.instances.unique().tolist())
    info = session.paint(CAR, points=[(5, 5), (15, 5)], brush=3)
    assert info["instance_id"] not in before
    assert info["instance_id"] // 1000 == CAR
    assert info["class_id"] == CAR
    assert info["instance_id"] in session.choices
    assert session.selected == info["instance_id"]
    region = session.instances[0, 0] == info["instance_id"]
    assert torch.equal(region, stroke_mask([(5, 5), (15, 5)], 3, 32, 64))


def test_paint_stuff_joins_the_region_and_a_mask_works():
    session = make_session()
    mask = torch.zeros(32, 64, dtype=torch.bool)
    mask[:4, :4] = True
    info = session.paint(SKY, mask=mask)
    assert info["instance_id"] == SKY
    assert (session.labels[0, 0][mask] == SKY).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"points": [(0, 0), (64, 3)]}, "x=64 is outside the image"),
        ({"points": [(0, -2)]}, "y=-2 is outside the image"),
        ({"points": []}, "points must be a list"),
        ({"points": [(1, 2, 3)]}, r"every point must be \[x, y\]"),
        ({"points": [(1, 1)], "brush": 0}, "brush must be an int radius"),
        ({"points": [(1, 1)], "brush": 65}, "brush must be an int radius"),
        ({"mask": torch.zeros(32, 64, dtype=torch.bool)}, "paint region is empty"),
        ({"mask": torch.ones(3, 3, dtype=torch.bool)}, "mask must have shape"),
        ({}, "exactly one of points and mask"),
        ({"points": [(0, 0), (63, 31)] * 1000}, "more than 50000"),
    ],
)
def test_bad_paint_raises(kwargs, match):
    session = make_session()
    with pytest.raises(ValueError, match=match):
        session.paint(CAR, **kwargs)
    assert not session.can_undo


def test_undo_redo_walk_the_history_and_reuse_images():
    session = make_session()
    start = session.labels, session.generated()
    car, _ = car_of(session)
    session.delete(car, ROAD)
    deleted = session.labels
    assert session.undo()
    assert torch.equal(session.labels, start[0])
    assert session.generated() is start[1]  # cached, no regeneration
    assert not session.undo()
    assert session.redo()
    assert torch.equal(session.labels, deleted)
    assert not session.redo()
    session.undo()
    session.paint(SKY, points=[(1, 1)])  # a new edit drops the redo branch
    assert not session.can_redo


def test_history_is_bounded():
    session = make_session(max_history=3)
    for seed in range(5):
        session.randomize_styles(seed)
    assert session.undo()
    assert session.undo()
    assert not session.undo()


def test_history_is_bounded_by_bytes():
    session = make_session(max_history_bytes=100_000)  # a 32x64 state holds about 40 kB
    for step in range(8):
        mask = torch.zeros(32, 64, dtype=torch.bool)
        mask[step : step + 2, :4] = True
        session.paint(ROAD, mask=mask)  # new maps every time
        assert session.history_bytes <= 100_000
    undos = 0
    while session.undo():
        undos += 1
    assert undos == 1


def test_history_keeps_the_current_state_beyond_the_byte_bound():
    session = make_session(max_history_bytes=1)
    session.randomize_styles(1)
    assert session.history_bytes > 1
    assert not session.can_undo
    assert session.size == (32, 64)


def test_history_bytes_counts_shared_maps_once():
    session = make_session(max_history_bytes=10**9)
    one = session.history_bytes
    session.set_style(*next(iter(session.choices.items())))  # the same maps, another state
    assert session.history_bytes < 1.5 * one
    mask = torch.zeros(32, 64, dtype=torch.bool)
    mask[:4, :4] = True
    session.paint(ROAD, mask=mask)  # new maps
    assert session.history_bytes > 2 * one


@pytest.mark.parametrize("instance_id", [2**63, 2**70, -1, -(2**70)])
def test_instance_ids_outside_int64_raise_value_errors(instance_id):
    session = make_session()
    with pytest.raises(ValueError, match=r"instance_id must be an int64 id in 0\.\."):
        session.relabel(instance_id, CAR)
    with pytest.raises(ValueError, match="int64 id"):
        session.set_style(instance_id, 0)
    with pytest.raises(ValueError, match="int64 id"):
        session.delete(instance_id, ROAD)


def test_randomize_styles_is_seeded():
    session = make_session()
    first = session.randomize_styles(7)
    assert session.randomize_styles(7) == first
    assert set(first) == set(session.instances.unique().tolist())
    assert all(0 <= cluster < NUM_STYLES for cluster in first.values())
    with pytest.raises(ValueError, match="seed must be"):
        session.randomize_styles(-1)


def test_random_styles_follow_the_style_weights():
    # every class of the scene weighted: a zero-weight cluster is never drawn, and over many
    # draws each cluster comes up in proportion to its weight
    weights = {class_id: [3.0, 0.0, 1.0] for class_id in range(len(CLASSES))}
    session = make_session(style_weights=weights)
    counts = torch.zeros(NUM_STYLES)
    for seed in range(200):
        for cluster in session.randomize_styles(seed).values():
            counts[cluster] += 1
    assert counts[1] == 0
    assert abs(float(counts[0] / counts.sum()) - 0.75) < 0.05
    uniform = make_session()  # no weights: every cluster drawn
    drawn = {c for seed in range(20) for c in uniform.randomize_styles(seed).values()}
    assert drawn == set(range(NUM_STYLES))


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        ({CAR: [1.0, 2.0]}, ValueError, r"style_weights\[5\] must hold 3 weights"),
        ({CAR: [1.0, -1.0, 1.0]}, ValueError, "finite weights >= 0"),
        ({CAR: [1.0, float("nan"), 1.0]}, ValueError, "finite weights >= 0"),
        ({CAR: [0, 0, 0]}, ValueError, "sums to 0"),
        ({CAR: [1, True, 1]}, TypeError, "must hold numbers"),
        ({CAR: "abc"}, TypeError, "sequence of numbers"),
        ({9: [1, 1, 1]}, ValueError, "class 9 has no styles"),
        ([1, 2, 3], TypeError, "mapping of class to weights"),
    ],
)
def test_bad_style_weights_are_refused(weights, error, match):
    with pytest.raises(error, match=match):
        make_session(num_styles={CAR: NUM_STYLES}, style_weights=weights)


def test_render_gives_pngs_of_the_right_size():
    session = make_session()
    pictures = session.render()
    for data in pictures.values():
        image = Image.open(io.BytesIO(data))
        assert image.size == (64, 32)
        assert image.mode == "RGB"
    assert torch.equal(session.label_picture()[:, 0, 0], torch.tensor(CLASSES[SKY].color).byte())


def test_selection_picture_and_thumbnail():
    session = make_session()
    assert session.selection_picture()[3].sum() == 0
    car, (x, y) = car_of(session)
    session.select(x, y)
    alpha = session.selection_picture()[3] > 0
    assert torch.equal(alpha, session.instances[0, 0] == car)
    x0, y0, x1, y1 = session.instance_info(car)["bbox"]
    thumbnail = session.thumbnail(car, 1, margin=0)
    assert thumbnail.shape == (3, y1 - y0, x1 - x0)
    assert thumbnail.dtype == torch.uint8
    with pytest.raises(ValueError, match="cluster must be in"):
        session.thumbnail(car, NUM_STYLES)


def test_load_maps_validates_and_is_undoable():
    session = make_session()
    labels = torch.full((8, 8), ROAD)
    session.load_maps(labels, labels)
    assert session.size == (8, 8)
    session.undo()
    assert session.size == (32, 64)
    with pytest.raises(ValueError, match=r"unknown class ids \[9\]"):
        session.load_maps(torch.full((8, 8), 9), torch.full((8, 8), 9))
    mixed = torch.zeros(4, 4, dtype=torch.long)
    mixed[0, 0] = CAR
    with pytest.raises(ValueError, match="one class"):
        session.load_maps(mixed, torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="one image"):
        session.load_maps(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))


def test_constructor_checks():
    labels = torch.zeros(4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="max_history_bytes must be >= 1, got 0"):
        EditorSession(labels, labels, classes=CLASSES, generate=print, max_history_bytes=0)
    with pytest.raises(TypeError, match="max_history_bytes must be an int"):
        EditorSession(labels, labels, classes=CLASSES, generate=print, max_history_bytes=1.5)
    with pytest.raises(ValueError, match="at least one class"):
        EditorSession(labels, labels, classes=[], generate=lambda *a: None)
    with pytest.raises(TypeError, match="generate must be callable"):
        EditorSession(labels, labels, classes=CLASSES, generate=None)
    bad = [EditorClass(0, "sky", False, (0, 0, 0))]
    with pytest.raises(RuntimeError, match="generate returned"):
        EditorSession(
            labels, labels, classes=bad, generate=lambda *a: torch.zeros(3, 2, 2)
        ).generated()
