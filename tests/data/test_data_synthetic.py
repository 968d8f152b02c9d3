"""SyntheticScenes: deterministic, disjoint splits, and built so the method's parts matter."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from condgan_blocks.data import (
    CAR_COLORS,
    PAVEMENT_RGB,
    SYNTHETIC_CLASSES,
    SyntheticScenes,
    shared_scene_cache,
    synthetic_scenes,
)

SIZE = (64, 128)
ROAD, SIDEWALK, CAR = 3, 4, 5


@pytest.fixture(scope="module")
def samples():
    scenes = SyntheticScenes(8, size=SIZE, seed=0)
    return [scenes[i] for i in range(len(scenes))]


def test_sample_format(samples):
    sample = samples[0]
    assert set(sample) == {"label", "instance", "image", "path"}
    assert sample["label"].shape == (1, *SIZE)
    assert sample["label"].dtype == torch.int64
    assert sample["instance"].shape == (1, *SIZE)
    assert sample["instance"].dtype == torch.int64
    assert sample["image"].shape == (3, *SIZE)
    assert sample["image"].dtype == torch.float32
    assert sample["image"].min() >= -1
    assert sample["image"].max() <= 1
    assert sample["path"] == "synthetic/train/000000"
    assert int(sample["label"].max()) < SyntheticScenes.num_classes


def test_deterministic_per_seed_and_index():
    a = SyntheticScenes(5, size=SIZE, seed=3)
    b = SyntheticScenes(5, size=SIZE, seed=3)
    later = b[4]  # a different access order must not matter
    for key in ("label", "instance", "image"):
        assert torch.equal(a[4][key], later[key])
        assert torch.equal(a[1][key], a[1][key])
    assert torch.equal(a[-1]["image"], a[4]["image"])
    assert not torch.equal(a[0]["label"], a[1]["label"])
    other_seed = SyntheticScenes(5, size=SIZE, seed=4)
    assert not torch.equal(a[0]["label"], other_seed[0]["label"])


def test_train_and_val_are_disjoint():
    train = SyntheticScenes(8, size=SIZE, seed=0, split="train")
    val = SyntheticScenes(8, size=SIZE, seed=0, split="val")
    train_labels = [train[i]["label"] for i in range(8)]
    for j in range(8):
        sample = val[j]
        assert sample["path"] == f"synthetic/val/{j:06d}"
        assert not any(torch.equal(sample["label"], label) for label in train_labels)


def test_every_class_appears(samples):
    seen = set().union(*(s["label"].unique().tolist() for s in samples))
    assert seen == set(range(SyntheticScenes.num_classes))


def test_instances_follow_cityscapes_encoding(samples):
    things = torch.tensor(SyntheticScenes.thing_ids)
    for sample in samples:
        label, instance = sample["label"], sample["instance"]
        is_thing = torch.isin(label, things)
        assert torch.equal(instance[is_thing] // 1000, label[is_thing])
        assert torch.equal(instance[~is_thing], label[~is_thing])


def test_thing_instances_often_touch(samples):
    """Two different instances side by side: only the boundary map can separate them."""
    touching = 0
    for sample in samples:
        inst = sample["instance"][0]
        thing = inst >= 1000
        across = (inst[:, 1:] != inst[:, :-1]) & thing[:, 1:] & thing[:, :-1]
        down = (inst[1:] != inst[:-1]) & thing[1:] & thing[:-1]
        touching += bool(across.any() or down.any())
    assert touching >= len(samples) // 2


def test_car_colours_vary_across_instances(samples):
    colours = []
    for sample in samples:
        inst, image = sample["instance"][0], (sample["image"] + 1) / 2
        for k in inst.unique():
            if CAR * 1000 <= k < CAR * 1000 + 1000 and (inst == k).sum() >= 20:
                colours.append(image[:, inst == k].median(dim=1).values)
    clusters: list[torch.Tensor] = []
    for colour in colours:
        if all((colour - centre).norm() > 0.3 for centre in clusters):
            clusters.append(colour)
    assert len(clusters) >= 4  # e.g. red, yellow, white, dark: styles to discover


def test_road_and_sidewalk_share_a_mean_but_not_a_texture(samples):
    """A flat-colour painting cannot tell them apart; only the texture can."""
    means, correlations = {ROAD: [], SIDEWALK: []}, {ROAD: [], SIDEWALK: []}
    for sample in samples:
        label, image = sample["label"][0], (sample["image"] + 1) / 2
        grey = image.mean(0)
        for cls in (ROAD, SIDEWALK):
            mask = label == cls
            means[cls].append(image[:, mask].mean(1))
            pair = mask[:, 1:] & mask[:, :-1]
            if pair.sum() > 50:
                left, right = grey[:, :-1][pair], grey[:, 1:][pair]
                correlations[cls].append(torch.corrcoef(torch.stack([left, right]))[0, 1])
    road, sidewalk = torch.stack(means[ROAD]).mean(0), torch.stack(means[SIDEWALK]).mean(0)
    assert torch.allclose(road, sidewalk, atol=0.01)
    assert torch.allclose(road, torch.tensor(PAVEMENT_RGB), atol=0.01)
    # Asphalt grain is independent per pixel; tiles are several pixels wide.
    assert torch.stack(correlations[ROAD]).mean() < 0.1
    assert torch.stack(correlations[SIDEWALK]).mean() > 0.25


def test_label_table_and_colorize():
    assert [c.id for c in SYNTHETIC_CLASSES] == list(range(SyntheticScenes.num_classes))
    assert SyntheticScenes.class_names[SyntheticScenes.thing_ids[0]] == "car"
    assert len(CAR_COLORS) >= 4
    label = torch.arange(SyntheticScenes.num_classes).reshape(1, 1, -1)
    colours = SyntheticScenes.colorize(label)
    assert colours.shape == (3, 1, SyntheticScenes.num_classes)
    assert colours[:, 0, 5].tolist() == list(SYNTHETIC_CLASSES[5].color)
    assert len({tuple(c.color) for c in SYNTHETIC_CLASSES}) == len(SYNTHETIC_CLASSES)
    with pytest.raises(ValueError, match=r"label ids must lie in 0\.\.6"):
        SyntheticScenes.colorize(torch.tensor([[7]]))


def test_validate_passes():
    report = SyntheticScenes(3, size=(32, 64)).validate()
    assert report.ok
    assert report.num_samples == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_samples must be >= 0"):
        SyntheticScenes(-1)
    with pytest.raises(ValueError, match="at least 16"):
        SyntheticScenes(2, size=(8, 64))
    with pytest.raises(TypeError, match="pair of ints"):
        SyntheticScenes(2, size=64)
    with pytest.raises(ValueError, match="split must be one of"):
        SyntheticScenes(2, split="dev")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        SyntheticScenes(2, seed=-1)
    with pytest.raises(IndexError, match="out of range"):
        SyntheticScenes(2, size=(16, 16))[2]


def test_needs_no_pillow():
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from condgan_blocks.data import SyntheticScenes\n"
        "print(SyntheticScenes(1, size=(16, 32))[0]['image'].shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "torch.Size([3, 16, 32])" in result.stdout


def test_cache_hands_out_equal_independent_copies(monkeypatch):
    cached = SyntheticScenes(3, size=(16, 32), seed=4, cache=True)
    plain = SyntheticScenes(3, size=(16, 32), seed=4)
    calls = []
    draw = cached.generate
    monkeypatch.setattr(cached, "generate", lambda i: calls.append(i) or draw(i))
    first = cached[1]
    first["image"].zero_()  # a consumer writing into its sample must not touch the cache
    again, last = cached[1], cached[-2]
    assert calls == [1]  # drawn once, negative indices hit the same entry
    for key in ("label", "instance", "image"):
        assert torch.equal(again[key], plain[1][key])
        assert torch.equal(last[key], plain[1][key])
    assert again["path"] == plain[1]["path"]


def test_shared_cache_draws_each_scene_once_across_datasets(monkeypatch):
    drawn = []
    render = synthetic_scenes.render_scene
    monkeypatch.setattr(
        synthetic_scenes,
        "render_scene",
        lambda rng, h, w: drawn.append((h, w)) or render(rng, h, w),
    )
    plain = SyntheticScenes(3, size=(16, 32), seed=4)[2]
    drawn.clear()
    with shared_scene_cache():
        first = SyntheticScenes(3, size=(16, 32), seed=4, cache=True)[2]
        first["image"].zero_()  # a consumer's write stays in its copy
        with shared_scene_cache():  # nested: the same samples
            again = SyntheticScenes(5, size=(16, 32), seed=4, cache=True)[2]
        assert len(drawn) == 1
        for other in (
            SyntheticScenes(3, size=(16, 32), seed=5, cache=True),  # another seed
            SyntheticScenes(3, size=(16, 32), seed=4, split="val", cache=True),  # split
            SyntheticScenes(3, size=(32, 16), seed=4, cache=True),  # size
            SyntheticScenes(3, size=(16, 32), seed=4),  # no cache: never shares
        ):
            other[2]
        assert len(drawn) == 5
    for key in ("label", "instance", "image"):
        assert torch.equal(again[key], plain[key])
    after = SyntheticScenes(3, size=(16, 32), seed=4, cache=True)  # the block is over
    assert after.cached_indices() == []
    after[2]
    assert len(drawn) == 6


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"cache": 1}, TypeError), ({"cache": "yes"}, TypeError)]
)
def test_cache_flag_is_checked(kwargs, error):
    with pytest.raises(error, match="cache must be a bool"):
        SyntheticScenes(2, size=(16, 16), **kwargs)


def test_cache_keeps_index_errors():
    cached = SyntheticScenes(2, size=(16, 16), cache=True)
    with pytest.raises(IndexError, match="out of range"):
        cached[2]
    with pytest.raises(TypeError, match="index must be an int"):
        cached[1.0]
