from __future__ import annotations

import pytest
import torch

from condgan_blocks import editing, instance_boundary, instance_to_class, one_hot_labels
from condgan_blocks.synthesis import generator_input_from_labels


def scene():
    """Road (7) with two cars (26000, 26001) and a person (24000), in two images."""
    instances = torch.full((2, 1, 6, 8), 7)
    instances[0, 0, :2, :3] = 26000
    instances[0, 0, 3:, 4:] = 26001
    instances[1, 0, 2:4, 2:4] = 24000
    return instance_to_class(instances), instances


def unchanged(*tensors):
    """Run an edit and check it did not modify its inputs."""
    copies = [t.clone() for t in tensors]
    return lambda: all(torch.equal(t, c) for t, c in zip(tensors, copies, strict=True))


def test_relabel_changes_the_class_and_keeps_inputs():
    labels, instances = scene()
    check = unchanged(labels, instances)
    new_labels, new_instances = editing.relabel_instance(labels, instances, 26001, 27)
    assert check()
    mask = instances == 26001
    assert (new_labels[mask] == 27).all()
    assert torch.equal(new_labels[~mask], labels[~mask])
    assert torch.equal(new_instances, instances)
    assert new_instances is not instances
    _, encoded = editing.relabel_instance(labels, instances, 26001, 24, class_divisor=1000)
    assert (encoded[mask] == 24001).all()  # 24000 exists in image 1: the next free id
    assert torch.equal(
        instance_to_class(encoded), editing.relabel_instance(labels, instances, 26001, 24)[0]
    )


def test_paint_adds_a_new_instance():
    labels, instances = scene()
    check = unchanged(labels, instances)
    mask = torch.zeros(6, 8, dtype=torch.bool)
    mask[4:, :2] = True
    new_labels, new_instances, new_id = editing.paint_instance(
        labels, instances, mask, 26, class_divisor=1000
    )
    assert check()
    assert new_id == 26002
    assert (new_instances[:, 0][:, mask] == 26002).all()
    assert (new_labels[:, 0][:, mask] == 26).all()
    assert torch.equal(new_instances[:, 0][:, ~mask], instances[:, 0][:, ~mask])
    _, plain, plain_id = editing.paint_instance(labels, instances, mask, 26)
    assert plain_id == 26002  # the largest id plus one
    assert (plain[:, 0][:, mask] == plain_id).all()


def test_remove_fills_the_instance_with_background():
    labels, instances = scene()
    check = unchanged(labels, instances)
    new_labels, new_instances = editing.remove_instance(labels, instances, 26000, 7)
    assert check()
    assert not (new_instances == 26000).any()
    assert torch.equal(new_instances, torch.where(instances == 26000, 7, instances))
    assert torch.equal(new_labels, torch.where(instances == 26000, 7, labels))
    assert instance_boundary(new_instances)[0, 0, :2, :3].sum() == 0


def test_three_dimensional_maps_keep_their_shape():
    labels, instances = scene()
    new_labels, new_instances = editing.remove_instance(labels[:, 0], instances[:, 0], 24000, 7)
    assert new_labels.shape == new_instances.shape == (2, 6, 8)


def test_generator_input_channels_in_the_original_order():
    labels, instances = scene()
    features = torch.randn(2, 3, 6, 8, dtype=torch.float64)
    out = generator_input_from_labels(labels, 30, instances=instances, features=features)
    assert out.shape == (2, 34, 6, 8)
    assert out.dtype == torch.float64
    assert torch.equal(out[:, :30], one_hot_labels(labels, 30, dtype=torch.float64))
    assert torch.equal(out[:, 30:31], instance_boundary(instances, dtype=torch.float64))
    assert torch.equal(out[:, 31:], features)
    assert generator_input_from_labels(labels[:, 0], 30).shape == (2, 30, 6, 8)


def test_generator_input_is_deprecated_and_unchanged():
    labels, instances = scene()
    features = torch.randn(2, 3, 6, 8)
    with pytest.warns(DeprecationWarning, match="generator_input_from_labels"):
        old = editing.generator_input(labels, instances, 30, features, ignore_index=7)
    new = generator_input_from_labels(
        labels, 30, instances=instances, features=features, ignore_index=7
    )
    assert torch.equal(old, new)


def test_new_instance_id():
    _, instances = scene()
    assert editing.new_instance_id(instances) == 26002
    assert editing.new_instance_id(instances, 24) == 24001
    assert editing.new_instance_id(instances, 33) == 33000
    with pytest.raises(ValueError, match="class_id must be >= 1"):
        editing.new_instance_id(instances, 0)


def test_bad_inputs():
    labels, instances = scene()
    with pytest.raises(ValueError, match="instance id 5 is not in the instance map"):
        editing.relabel_instance(labels, instances, 5, 3)
    with pytest.raises(ValueError, match=r"labels \(2, 1, 6, 7\) and instances \(2, 1, 6, 8\)"):
        editing.remove_instance(labels[..., :7], instances, 26000, 7)
    with pytest.raises(ValueError, match=r"mask must have shape .* got \(6, 7\)"):
        editing.paint_instance(labels, instances, torch.ones(6, 7, dtype=torch.bool), 3)
    with pytest.raises(ValueError, match="selects no pixel"):
        editing.paint_instance(labels, instances, torch.zeros(6, 8, dtype=torch.bool), 3)
    with pytest.raises(ValueError, match="already used outside the mask"):
        editing.paint_instance(
            labels,
            instances,
            torch.ones(1, 6, 8, dtype=torch.bool).expand(2, 6, 8).clone() & (instances[:, 0] == 7),
            3,
            instance_id=26000,
        )
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        editing.paint_instance(labels, instances, torch.ones(6, 8), 3)
    with pytest.raises(ValueError, match="new_class must be >= 0"):
        editing.relabel_instance(labels, instances, 26000, -2)
