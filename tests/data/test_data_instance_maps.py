"""instances_from_labels: connected components of the thing classes, Cityscapes-style ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from condgan_blocks import instance_to_class
from condgan_blocks.data import cityscapes_thing_ids, instances_from_labels

ROAD, PERSON, CAR = 7, 24, 26


def test_components_are_separated_per_class_and_numbered_from_zero():
    labels = np.array(
        [
            [CAR, CAR, ROAD, CAR],
            [ROAD, ROAD, ROAD, CAR],
            [PERSON, ROAD, CAR, ROAD],
            [PERSON, CAR, ROAD, PERSON],
        ],
        dtype=np.uint8,
    )
    out = instances_from_labels(labels, [PERSON, CAR], connectivity=4)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.int64
    # k counts from 0 in the raster order of each component's first pixel, per class.
    expected = np.array(
        [
            [26000, 26000, 7, 26001],
            [7, 7, 7, 26001],
            [24000, 7, 26002, 7],
            [24000, 26003, 7, 24001],
        ]
    )
    np.testing.assert_array_equal(out, expected)


def test_stuff_and_classes_not_listed_are_untouched():
    labels = np.array([[ROAD, CAR, 0], [CAR, 33, 33]])
    out = instances_from_labels(labels, [CAR])
    np.testing.assert_array_equal(out, [[ROAD, 26000, 0], [26000, 33, 33]])
    np.testing.assert_array_equal(instances_from_labels(labels, []), labels)


def test_four_and_eight_connectivity_differ_on_a_diagonal():
    labels = np.array([[CAR, ROAD, ROAD], [ROAD, CAR, ROAD], [ROAD, ROAD, CAR]])
    four = instances_from_labels(labels, [CAR], connectivity=4)
    eight = instances_from_labels(labels, [CAR], connectivity=8)
    assert sorted(np.unique(four[labels == CAR]).tolist()) == [26000, 26001, 26002]
    assert np.unique(eight[labels == CAR]).tolist() == [26000]


@pytest.mark.parametrize("shape", [(6, 8), (1, 6, 8), (3, 1, 6, 8)])
def test_tensor_keeps_shape_and_device_and_numbers_each_image_from_zero(shape):
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, shape, generator=generator, dtype=torch.uint8) * CAR
    out = instances_from_labels(labels, [CAR])
    assert isinstance(out, torch.Tensor)
    assert out.shape == labels.shape
    assert out.dtype == torch.int64
    assert out.device == labels.device
    batch = out.reshape(-1, 6, 8)
    for image, label in zip(batch, labels.reshape(-1, 6, 8), strict=True):
        ids = image[label == CAR]
        if ids.numel():
            assert int(ids.min()) == 26000  # every image starts again at k = 0


def test_batched_tensor_equals_one_image_at_a_time():
    labels = torch.randint(0, 2, (4, 1, 8, 8), generator=torch.Generator().manual_seed(1)) * PERSON
    batched = instances_from_labels(labels, [PERSON])
    for index in range(4):
        single = instances_from_labels(labels[index, 0].numpy(), [PERSON])
        np.testing.assert_array_equal(batched[index, 0].numpy(), single)


def test_one_thousand_objects_fit_and_one_more_is_refused():
    labels = np.zeros((1, 2002), dtype=np.int64)
    labels[0, 0:2000:2] = 5  # 1000 isolated pixels of class 5
    out = instances_from_labels(labels, [5])
    assert out.max() == 5999
    np.testing.assert_array_equal(instance_to_class(torch.from_numpy(out)).numpy(), labels)
    labels[0, 2000] = 5
    with pytest.raises(ValueError, match=r"class 5 has 1001 separate objects.*5000\.\.5999"):
        instances_from_labels(labels, [5])


def test_overflow_depends_on_connectivity():
    checkerboard = (np.indices((46, 46)).sum(0) % 2) * 3  # 1058 pixels that touch by corners
    with pytest.raises(ValueError, match="class 3 has 1058 separate objects"):
        instances_from_labels(checkerboard, [3], connectivity=4)
    assert np.unique(instances_from_labels(checkerboard, [3], connectivity=8)).tolist() == [0, 3000]


def test_overflow_names_the_image_of_a_batch():
    labels = torch.zeros(2, 1, 2, 2004, dtype=torch.int64)
    labels[1, 0, 0, 0:2004:2] = 5
    with pytest.raises(ValueError, match="1002 separate objects in the label map of image 1"):
        instances_from_labels(labels, [5])


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.zeros((2, 2), dtype=np.float32), TypeError, "integer class ids, got numpy dtype float"),
        (torch.zeros(2, 2), TypeError, "integer class ids, got dtype torch.float32"),
        (torch.zeros(2, 2, dtype=torch.bool), TypeError, "got dtype torch.bool"),
        ([[0, 1]], TypeError, "numpy array or a torch tensor, got list"),
        (np.zeros((1, 2, 2), dtype=np.int64), ValueError, r"numpy label map of shape \(H, W\)"),
        (torch.zeros(2, 3, 3, dtype=torch.int64), ValueError, r"\(N, 1, H, W\), got \(2, 3, 3\)"),
        (np.array([[0, -1]]), ValueError, "non-negative class ids, found -1"),
        (np.array([[0, 1000]]), ValueError, "class ids below 1000.*found 1000"),
    ],
)
def test_bad_labels_are_refused(labels, error, match):
    with pytest.raises(error, match=match):
        instances_from_labels(labels, [CAR])


@pytest.mark.parametrize(
    ("things", "kwargs", "error", "match"),
    [
        ([0], {}, ValueError, r"thing classes must lie in 1\.\.999.*got 0"),
        ([1000], {}, ValueError, r"1\.\.999.*got 1000"),
        ([True], {}, TypeError, "int class ids, got bool"),
        (["26"], {}, TypeError, "int class ids, got str"),
        ("26", {}, TypeError, "iterable of int class ids"),
        (26, {}, TypeError, "iterable of int class ids"),
        ([26], {"connectivity": 6}, ValueError, "connectivity must be 4 .* or 8 .*got 6"),
        ([26], {"connectivity": "8"}, TypeError, "connectivity must be an int"),
    ],
)
def test_bad_arguments_are_refused(things, kwargs, error, match):
    with pytest.raises(error, match=match):
        instances_from_labels(np.zeros((2, 2), dtype=np.int64), things, **kwargs)


def test_cityscapes_things_read_back_through_instance_to_class():
    labels = torch.tensor([[[[7, 24, 24, 26], [33, 33, 7, 26]]]])
    out = instances_from_labels(labels, cityscapes_thing_ids())
    assert out.flatten().tolist() == [7, 24000, 24000, 26000, 33000, 33000, 7, 26000]
    assert torch.equal(instance_to_class(out), labels)


@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    things=st.sets(st.integers(1, 5), max_size=5),
    connectivity=st.sampled_from([4, 8]),
)
@settings(deadline=None, max_examples=30)
def test_class_of_every_instance_is_its_label(height, width, seed, things, connectivity):
    labels = np.random.default_rng(seed).integers(0, 6, size=(height, width))
    out = instances_from_labels(labels, things, connectivity=connectivity)
    np.testing.assert_array_equal(instance_to_class(torch.from_numpy(out)).numpy(), labels)
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    for cls in things:
        mask = labels == cls
        _, num_components = ndimage.label(mask, structure=structure)
        ids = np.unique(out[mask])
        assert len(ids) == num_components  # one id per connected component
        assert ids.tolist() == [cls * 1000 + k for k in range(num_components)]
        for instance_id in ids:  # and every id is one connected piece
            assert ndimage.label(out == instance_id, structure=structure)[1] == 1
    stuff = ~np.isin(labels, list(things))
    np.testing.assert_array_equal(out[stuff], labels[stuff])
