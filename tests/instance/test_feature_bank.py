from __future__ import annotations

import io
import os
import re
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from condgan_blocks import FeatureBank, instance_average_pool, instance_to_class


def pooled_batch(seed: int = 0, batch: int = 2, size: int = 16):
    """Instances of classes 24 and 26 (several per class) on stuff 7 and 11, pooled features."""
    g = torch.Generator().manual_seed(seed)
    instances = torch.full((batch, 1, size, size), 7)
    instances[:, :, size // 2 :] = 11
    for b in range(batch):
        for k in range(4):
            y, x = torch.randint(0, size - 4, (2,), generator=g).tolist()
            instances[b, 0, y : y + 4, x : x + 4] = (24 + 2 * (k % 2)) * 1000 + k
    features = instance_average_pool(torch.randn(batch, 3, size, size, generator=g), instances)
    return features, instances


def loop_records(features, instances):
    """The original's loop, per image: nonzero() per id, the middle pixel, the pixel count."""
    rows = []
    for b in range(instances.shape[0]):
        for instance_id in instances[b].unique().tolist():
            index = (instances[b, 0] == instance_id).nonzero()
            y, x = index[index.shape[0] // 2].tolist()
            rows.append((instance_to_class(instance_id), features[b, :, y, x], index.shape[0]))
    return rows


def fitted_bank(**fit_options) -> FeatureBank:
    features, instances = pooled_batch()
    bank = FeatureBank(3)
    bank.add(features, instances)
    return bank.fit(**{"min_area": 0.0, "n_init": 1, **fit_options})


# -- collection --------------------------------------------------------------------------------


def test_add_records_what_the_original_loop_reads():
    features, instances = pooled_batch()
    bank = FeatureBank(3)
    assert bank.add(features, instances) == len(loop_records(features, instances))
    records = bank.records()
    expected = loop_records(features, instances)
    assert records["classes"].tolist() == [label for label, _, _ in expected]
    assert torch.equal(records["features"], torch.stack([v for _, v, _ in expected]))
    assert records["pixels"].tolist() == [n for _, _, n in expected]
    assert torch.equal(records["areas"], records["pixels"].double() / 256)
    bank.add(features, instances)
    assert bank.num_instances == 2 * len(expected)


def test_add_takes_classes_from_labels_and_checks_them():
    features, instances = pooled_batch()
    labels = instance_to_class(instances) + 100
    bank = FeatureBank(3)
    bank.add(features, instances, labels)
    assert set(bank.records()["classes"].tolist()) == {107, 111, 124, 126}
    labels[0, 0, 0, 0] = 5
    with pytest.raises(ValueError, match=r"constant inside every instance; .*\(7, 0\)"):
        bank.add(features, instances, labels)


def test_add_bad_inputs():
    features, instances = pooled_batch()
    bank = FeatureBank(4)
    with pytest.raises(ValueError, match=r"4 channels .*got \(2, 3, 16, 16\)"):
        bank.add(features, instances)
    with pytest.raises(
        ValueError, match=r"features \(2, 3, 16, 16\) and instances \(2, 1, 16, 8\)"
    ):
        FeatureBank(3).add(features, instances[..., :8])
    with pytest.raises(ValueError, match="integer values"):
        FeatureBank(3).add(features, instances + 0.5)


# -- clustering --------------------------------------------------------------------------------


def test_fit_matches_kmeans_per_class_with_min_clusters():
    bank = fitted_bank(n_clusters=3)
    records = bank.records()
    centers = bank.centers
    assert sorted(centers) == sorted(set(records["classes"].tolist()))
    for label, found in centers.items():
        rows = records["features"][records["classes"] == label].double().numpy()
        k = min(3, len(rows))
        expected = KMeans(n_clusters=k, random_state=0, n_init=1).fit(rows).cluster_centers_
        assert found.shape == (k, 3)
        assert found.dtype == torch.float32
        assert torch.equal(found, torch.from_numpy(expected).float())


def test_fit_skips_small_instances_with_the_original_rule():
    features, instances = pooled_batch()
    bank = FeatureBank(3)
    bank.add(features, instances)
    bank.fit(n_init=1)  # min_area = 1/64
    records = bank.records()
    # The original keeps rows whose area column num / (H * W // 32) is > 0.5.
    kept = records["pixels"].double() / (256 // 32) > 0.5
    assert sorted(bank.centers) == sorted(set(records["classes"][kept].tolist()))
    for label, centers in bank.centers.items():
        assert len(centers) == min(10, int((kept & (records["classes"] == label)).sum()))


def test_fit_errors():
    with pytest.raises(ValueError, match="empty"):
        FeatureBank(3).fit()
    bank = FeatureBank(3)
    bank.add(*pooled_batch())
    with pytest.raises(ValueError, match=r"larger than min_area=0\.9"):
        bank.fit(min_area=0.9)
    with pytest.raises(ValueError, match=r"min_area must be in \[0, 1\)"):
        bank.fit(min_area=1.5)
    with pytest.raises(ValueError, match="n_clusters must be >= 1"):
        bank.fit(n_clusters=0)


def test_centers_are_copies():
    bank = fitted_bank()
    bank.centers[7].zero_()
    assert bank.centers[7].abs().sum() > 0


# -- sampling ----------------------------------------------------------------------------------


@st.composite
def instance_maps(draw):
    batch, height, width = draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.integers(1, 8))
    palette = draw(
        st.lists(st.sampled_from([7, 11, 24000, 24001, 26002, 26003, 99]), min_size=1, max_size=4)
    )
    size = batch * height * width
    values = draw(st.lists(st.sampled_from(palette), min_size=size, max_size=size))
    return torch.tensor(values).view(batch, 1, height, width)


BANK = fitted_bank(n_clusters=2)


@settings(deadline=None, max_examples=25)
@given(instances=instance_maps(), seed=st.integers(0, 1000))
def test_sample_is_constant_per_instance_and_one_of_its_class_centres(instances, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = BANK.sample(instances, generator=torch.Generator().manual_seed(seed))
    assert out.shape == (instances.shape[0], 3, *instances.shape[2:])
    centers = BANK.centers
    for b in range(instances.shape[0]):
        for instance_id in instances[b].unique().tolist():
            values = out[b][:, instances[b, 0] == instance_id]
            assert torch.equal(values, values[:, :1].expand_as(values))
            label = instance_to_class(instance_id)
            if label in centers:
                assert (centers[label] == values[:, 0]).all(1).any()
            else:
                assert values.abs().sum() == 0


def test_sample_is_reproducible_and_varies():
    instances = torch.tensor([[[[24000, 24001, 26002, 26003, 7, 11]]]]).repeat(8, 1, 1, 1)
    first = BANK.sample(instances, generator=torch.Generator().manual_seed(3))
    again = BANK.sample(instances, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert not torch.equal(first[:, :, :, 0].unique(dim=0), first[:1, :, :, 0])


def test_sample_warns_once_naming_absent_classes():
    instances = torch.tensor([[[[7, 99, 33000, 99]]]])
    with pytest.warns(UserWarning, match=r"classes \[33, 99\] have no cluster centres") as caught:
        out = BANK.sample(instances)
    assert len(caught) == 1
    assert out[0, :, 0, 1:].abs().sum() == 0


def test_sample_with_labels_uses_their_classes():
    instances = torch.tensor([[[[5, 5, 6]]]])
    labels = torch.tensor([[[[24, 24, 26]]]])
    out = BANK.sample(instances, labels)
    assert (BANK.centers[24] == out[0, :, 0, 0]).all(1).any()
    assert (BANK.centers[26] == out[0, :, 0, 2]).all(1).any()


def test_feature_map_uses_the_choices_and_samples_the_rest():
    instances = torch.tensor([[[[24000, 24000, 26002, 7]]], [[[26002, 11, 11, 7]]]])
    out = BANK.feature_map(instances, {24000: 1, 26002: 0})
    centers = BANK.centers
    assert torch.equal(out[0, :, 0, 0], centers[24][1])
    assert torch.equal(out[0, :, 0, 2], centers[26][0])
    assert torch.equal(out[1, :, 0, 0], centers[26][0])
    assert (centers[11] == out[1, :, 0, 1]).all(1).any()


def test_feature_map_bad_choices():
    instances = torch.tensor([[[[24000, 7, 99]]]])
    with pytest.raises(ValueError, match=r"asks for cluster 5, but class 24 has 2 cluster"):
        BANK.feature_map(instances, {24000: 5})
    with pytest.raises(ValueError, match="class 99 has 0 cluster"):
        BANK.feature_map(instances, {99: 0})
    with pytest.raises(
        ValueError, match=r"instance ids \[123\], which are not in the instance map"
    ):
        BANK.feature_map(instances, {123: 0})
    with pytest.raises(TypeError, match="cluster index must be an int"):
        BANK.feature_map(instances, {24000: 0.5})
    with pytest.raises(ValueError, match="cluster index must be >= 0"):
        BANK.feature_map(instances, {24000: -1})


def test_sample_without_centres_raises():
    with pytest.raises(ValueError, match="no cluster centres: call fit"):
        FeatureBank(3).sample(torch.zeros(1, 1, 2, 2, dtype=torch.long))


# -- files -------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=10)
@given(
    sizes=st.dictionaries(st.integers(0, 40), st.integers(1, 4), max_size=4),
    channels=st.integers(1, 4),
    seed=st.integers(0, 100),
)
def test_save_load_round_trip_is_exact(sizes, channels, seed):
    g = torch.Generator().manual_seed(seed)
    bank = FeatureBank(channels, class_divisor=100)
    bank._centers = {label: torch.randn(k, channels, generator=g) for label, k in sizes.items()}
    instances = torch.randint(0, 3, (1, 1, 4, 4), generator=g) * 100 + 5
    bank.add(torch.randn(1, channels, 4, 4, generator=g), instances)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bank.features")
        bank.save(path)
        assert os.listdir(folder) == ["bank.features"]  # exact name, no temporary left over
        loaded = FeatureBank.load(path, feature_channels=channels)
    assert (loaded.feature_channels, loaded.class_divisor) == (channels, 100)
    assert loaded.centers.keys() == bank.centers.keys()
    assert all(torch.equal(loaded.centers[k], v) for k, v in bank.centers.items())
    assert all(torch.equal(loaded.records()[k], v) for k, v in bank.records().items())


def test_load_rejects_corrupt_and_mismatched_files(tmp_path):
    bank = fitted_bank()
    good = tmp_path / "good.npz"
    bank.save(good)
    with pytest.raises(ValueError, match="holds a FeatureBank with 3 feature channels, expected 4"):
        FeatureBank.load(good, feature_channels=4)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match="not a valid FeatureBank file"):
        FeatureBank.load(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a bank at all")
    with pytest.raises(ValueError, match="not a valid FeatureBank file"):
        FeatureBank.load(garbage)
    with np.load(good) as archive:
        arrays = dict(archive)
    for name, value, message in [
        ("center_counts", arrays["center_counts"] + 1, "centers has shape"),
        ("format_version", np.array(3), "format_version 3, this library reads 1 and 2"),
        ("centers", arrays["centers"].astype(object), "without unpickling|kind"),
        ("format", np.array("something else"), "no format marker"),
    ]:
        broken = tmp_path / f"broken_{name}.npz"
        np.savez(broken, **{**arrays, name: value})
        with pytest.raises(ValueError, match=message):
            FeatureBank.load(broken)
    missing = tmp_path / "missing.npz"
    np.savez(missing, **{k: v for k, v in arrays.items() if k != "record_pixels"})
    with pytest.raises(ValueError, match=r"missing arrays \['record_pixels'\]"):
        FeatureBank.load(missing)
    with pytest.raises(FileNotFoundError):
        FeatureBank.load(tmp_path / "absent.npz")


def test_from_pix2pixhd_npy_needs_explicit_consent(tmp_path):
    rng = np.random.default_rng(0)
    original = {0: rng.random((2, 3)), 26: rng.random((10, 3))}
    path = tmp_path / "features_clustered_010.npy"
    np.save(path, original)  # the original's format: a pickled dict
    with pytest.raises(ValueError, match=r"pickled dict.*allow_pickle=True"):
        FeatureBank.from_pix2pixhd_npy(path)
    bank = FeatureBank.from_pix2pixhd_npy(path, allow_pickle=True)
    assert bank.feature_channels == 3
    assert sorted(bank.centers) == [0, 26]
    assert torch.equal(bank.centers[26], torch.from_numpy(original[26]).float())
    np.save(path, {0: np.zeros((2, 3)), 1: np.zeros((2, 4))})
    with pytest.raises(ValueError, match=r"one width C for all labels, got widths \[3, 4\]"):
        FeatureBank.from_pix2pixhd_npy(path, allow_pickle=True)
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="expected the original's dict"):
        FeatureBank.from_pix2pixhd_npy(path, allow_pickle=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sample_on_cuda_follows_the_instances():
    instances = torch.tensor([[[[24000, 24001, 26002, 7]]]])
    generator = torch.Generator("cuda").manual_seed(0)
    out = BANK.sample(instances.cuda(), generator=generator)
    assert out.device.type == "cuda"
    chosen = BANK.feature_map(instances, {24000: 0})
    assert torch.equal(BANK.feature_map(instances.cuda(), {24000: 0})[..., 0].cpu(), chosen[..., 0])


# -- untrusted files and bad arguments -----------------------------------------------------------


def _bank_members(tmp_path) -> dict[str, np.ndarray]:
    path = tmp_path / "good.npz"
    fitted_bank().save(path)
    with np.load(path) as archive:
        return dict(archive)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _write_npz(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)


def _peak_while(call) -> tuple[int, BaseException]:
    """Peak traced allocation (bytes) while ``call`` runs, and the error it raised."""
    tracemalloc.start()
    try:
        call()
    except Exception as error:  # the caller checks its type
        raised = error
    else:
        raise AssertionError("expected an error")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


def test_load_refuses_a_declared_huge_shape_before_allocating(tmp_path):
    members = {name: _npy_bytes(value) for name, value in _bank_members(tmp_path).items()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**40, 3)}
    )  # 12 TiB declared, 64 bytes present
    members["record_features"] = header.getvalue() + bytes(64)
    path = tmp_path / "huge.npz"
    _write_npz(path, members)
    peak, error = _peak_while(lambda: FeatureBank.load(path))
    assert isinstance(error, ValueError)
    assert re.search(r"'record_features' declares shape \(1099511627776, 3\)", str(error))
    assert str(path) in str(error)
    assert peak < 10 * 2**20


def test_load_refuses_a_zip_bomb_from_the_central_directory(tmp_path):
    members = {name: _npy_bytes(value) for name, value in _bank_members(tmp_path).items()}
    path = tmp_path / "bomb.npz"
    _write_npz(path, members)
    rows = 2**22  # 48 MiB of float32 zeros that deflate to about 50 KiB
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("record_features_bomb.npy", "w") as stream,
    ):
        np.lib.format.write_array_header_1_0(
            stream, {"descr": "<f4", "fortran_order": False, "shape": (rows, 3)}
        )
        chunk = bytes(2**20)
        for _ in range(rows * 12 // len(chunk)):
            stream.write(chunk)
    assert path.stat().st_size < 2**20
    peak, error = _peak_while(lambda: FeatureBank.load(path))
    assert isinstance(error, ValueError)
    assert "'record_features_bomb.npy' declares 50331776 bytes" in str(error)
    assert "zip bomb" in str(error)
    assert peak < 10 * 2**20


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("record_features", np.zeros((3, 4), np.float32), "have different numbers of columns"),
        ("centers", np.zeros((3,), np.float32), r"expected a 2-d array"),
        ("record_pixels", np.zeros(2, np.int64), "record arrays have different lengths"),
        ("centers", np.zeros((2, 2), np.complex64), "of kind 'f'"),
    ],
)
def test_load_checks_headers_against_each_other(tmp_path, name, value, message):
    arrays = _bank_members(tmp_path)
    path = tmp_path / "broken.npz"
    np.savez(path, **{**arrays, name: value})
    with pytest.raises(ValueError, match=message):
        FeatureBank.load(path)


def test_load_refuses_columns_other_than_feature_channels(tmp_path):
    arrays = _bank_members(tmp_path)
    path = tmp_path / "broken.npz"
    np.savez(path, **{**arrays, "feature_channels": np.array(5)})
    with pytest.raises(ValueError, match="have 3 columns, feature_channels says 5"):
        FeatureBank.load(path)


def test_load_refuses_damaged_members_and_extra_names(tmp_path):
    good = tmp_path / "good.npz"
    fitted_bank().save(good)
    centers = fitted_bank().centers
    data = bytearray(good.read_bytes())
    needle = next(iter(centers.values())).numpy().tobytes()[:8]
    data[data.index(needle)] ^= 0x01
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"member 'centers\.npy' is damaged"):
        FeatureBank.load(damaged)
    members = {name: _npy_bytes(value) for name, value in _bank_members(tmp_path).items()}
    extra = tmp_path / "extra.npz"
    _write_npz(extra, {**members, "../evil": b""})
    with pytest.raises(ValueError, match=r"member '\.\./evil\.npy' has an empty, '\.' or '\.\.'"):
        FeatureBank.load(extra)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        FeatureBank.load(empty)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_add_refuses_non_finite_features_and_records_nothing(bad):
    features, instances = pooled_batch()
    features[1, 2][instances[1, 0] == 7] = bad
    bank = FeatureBank(3)
    with pytest.raises(ValueError, match=r"1 of \d+ instances have NaN or infinite.*\[\(7, 1\)\]"):
        bank.add(features, instances)
    assert bank.num_instances == 0
    features[1, 2][instances[1, 0] == 7] = 0.0
    bank.add(features, instances)  # the round trip the library promises
    bank.fit(n_clusters=2, min_area=0.0, n_init=1)


def test_saved_banks_always_load_again(tmp_path):
    features, instances = pooled_batch()
    bank = FeatureBank(3)
    bank.add(features, instances)
    bank.fit(n_clusters=2, min_area=0.0, n_init=1).save(tmp_path / "bank.npz")
    loaded = FeatureBank.load(tmp_path / "bank.npz")
    assert loaded.num_instances == bank.num_instances


def test_feature_map_and_fit_argument_errors_name_the_argument():
    instances = torch.tensor([[[[24000, 7]]]])
    with pytest.raises(ValueError, match=r"choices: instance id must be < 2\*\*63"):
        BANK.feature_map(instances, {2**70: 0})
    with pytest.raises(ValueError, match=r"choices: cluster index must be < 2\*\*63"):
        BANK.feature_map(instances, {24000: 2**64})
    with pytest.raises(TypeError, match=r"n_clusters must be an int, got list: fit\(\) takes no"):
        FeatureBank(3).fit([1, 2])
    with pytest.raises(TypeError, match="n_clusters must be an int, got Tensor"):
        FeatureBank(3).fit(torch.zeros(4, 3))


# -- drawing by cluster population ------------------------------------------------------------


def skewed_bank() -> FeatureBank:
    """Class 7: three instances near 0 and one at 10, so K = 2 gives populations 3 and 1."""
    instances = torch.tensor([[[[7000, 7001, 7002, 7003]]]])
    features = torch.tensor([[[[0.0, 0.1, -0.1, 10.0]]]])
    bank = FeatureBank(1)
    bank.add(features, instances)
    return bank.fit(n_clusters=2, min_area=0.0, n_init=1)


def cluster_shares(bank: FeatureBank, **options) -> torch.Tensor:
    """Share of 4000 class-7 instances drawn from each of the class's centres."""
    instances = torch.arange(4000).view(1, 1, 40, 100)
    labels = torch.full_like(instances, 7)
    out = bank.sample(instances, labels, generator=torch.Generator().manual_seed(0), **options)
    centers = bank.centers[7][:, 0]
    chosen = (out[0, 0].reshape(-1, 1) == centers).float().argmax(1)
    return torch.bincount(chosen, minlength=centers.numel()).float() / chosen.numel()


def test_fit_keeps_each_centre_population():
    bank = fitted_bank(n_clusters=2)
    records = bank.records()
    for label, centers in bank.centers.items():
        rows = records["features"][records["classes"] == label].double().numpy()
        kmeans = KMeans(n_clusters=centers.shape[0], random_state=0, n_init=1).fit(rows)
        expected = np.bincount(kmeans.labels_, minlength=centers.shape[0])
        assert bank.populations[label].tolist() == expected.tolist()
        assert int(bank.populations[label].sum()) == rows.shape[0]
    assert sorted(skewed_bank().populations[7].tolist()) == [1, 3]


def test_sample_draws_centres_in_proportion_to_their_populations():
    bank = skewed_bank()
    populations = bank.populations[7].double()
    weighted = cluster_shares(bank)
    assert torch.allclose(weighted.double(), populations / populations.sum(), atol=0.03)
    uniform = cluster_shares(bank, by_population=False)
    assert torch.allclose(uniform, torch.full_like(uniform, 0.5), atol=0.03)
    choices = {7000: int(populations.argmin())}  # a chosen centre is kept whatever its share
    chosen = bank.feature_map(torch.tensor([[[[7000, 7001]]]]), choices)
    assert chosen[0, 0, 0, 0] == bank.centers[7][choices[7000], 0]


def test_sample_never_draws_an_empty_cluster_and_checks_the_flag(tmp_path):
    bank = skewed_bank()
    bank.save(tmp_path / "bank.npz")
    with np.load(tmp_path / "bank.npz") as archive:
        arrays = dict(archive)
    arrays["center_populations"] = np.where(arrays["center_populations"] == 1, 0, 5)
    np.savez(tmp_path / "empty_cluster.npz", **arrays)
    loaded = FeatureBank.load(tmp_path / "empty_cluster.npz")
    assert cluster_shares(loaded)[loaded.populations[7] == 0].item() == 0.0
    with pytest.raises(TypeError, match="by_population must be a bool, got int 1"):
        bank.sample(torch.tensor([[[[7000]]]]), by_population=1)


def test_populations_survive_save_and_load_and_old_files_draw_uniformly(tmp_path):
    bank = skewed_bank()
    bank.save(tmp_path / "bank.npz")
    loaded = FeatureBank.load(tmp_path / "bank.npz")
    assert {k: v.tolist() for k, v in loaded.populations.items()} == {
        k: v.tolist() for k, v in bank.populations.items()
    }
    assert torch.equal(cluster_shares(loaded), cluster_shares(bank))
    with np.load(tmp_path / "bank.npz") as archive:
        arrays = dict(archive)
    del arrays["center_populations"]
    np.savez(tmp_path / "version1.npz", **{**arrays, "format_version": np.array(1)})
    old = FeatureBank.load(tmp_path / "version1.npz")
    assert old.populations == {}
    assert torch.equal(cluster_shares(old), cluster_shares(bank, by_population=False))
    np.save(tmp_path / "original.npy", {7: bank.centers[7].numpy()})  # keeps no populations
    unknown = FeatureBank.from_pix2pixhd_npy(tmp_path / "original.npy", allow_pickle=True)
    assert unknown.populations == {}
    unknown.save(tmp_path / "unknown.npz")
    assert FeatureBank.load(tmp_path / "unknown.npz").populations == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: -p, "one count >= 0 per centre"),
        (lambda p: p * 0, "must sum to at least 1"),
        (lambda p: p[:1], r"must be empty or as long as centers"),
    ],
)
def test_load_refuses_bad_populations(tmp_path, change, message):
    skewed_bank().save(tmp_path / "bank.npz")
    with np.load(tmp_path / "bank.npz") as archive:
        arrays = dict(archive)
    arrays["center_populations"] = change(arrays["center_populations"])
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        FeatureBank.load(tmp_path / "broken.npz")
    del arrays["center_populations"]
    np.savez(tmp_path / "missing.npz", **arrays)  # a version-2 file must hold them
    with pytest.raises(ValueError, match=r"missing arrays \['center_populations'\]"):
        FeatureBank.load(tmp_path / "missing.npz")
