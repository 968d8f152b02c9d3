"""InceptionFeatures in the layout of the FID weights, and loading it from a file.

The real weights (pt_inception-2015-12-05-6726825d.pth) are never downloaded here: random
weights in the same layout are saved and loaded back through the same loader.
"""

import urllib.error

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from condgan_blocks.evaluation import (
    FID_WEIGHTS_URL,
    INCEPTION_WEIGHTS_ENV,
    FidKidMeter,
    InceptionFeatures,
    inception_weights_path,
    load_inception_features,
)


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(1)
    return InceptionFeatures()


@pytest.fixture(scope="module")
def weights_file(network, tmp_path_factory):
    """The network's state_dict as the FID file has it, without the num_batches_tracked
    counters (old torch files have none)."""
    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    state = {k: v for k, v in network.state_dict().items() if "num_batches_tracked" not in k}
    torch.save(state, path)
    return path


# Tests marked slow build the 24M-parameter network, run 299x299 forwards on the CPU or write
# ~95 MB files.
@pytest.mark.slow
def test_state_dict_has_the_layout_of_the_fid_weights(network):
    state = network.state_dict()
    # 94 conv + batch-norm units (5 stem, 3x7 A, 4 B, 4x10 C, 6 D, 2x9 E), and the classifier
    assert len(state) == 94 * 6 + 2
    assert sum(p.numel() for p in network.parameters()) == 23_850_960
    expected = {
        "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
        "Conv2d_4a_3x3.bn.running_var": (192,),
        "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
        "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
        "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
        "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
        "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
        "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
        "Mixed_7b.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
        "Mixed_7c.branch_pool.bn.bias": (192,),
        "fc.weight": (1008, 2048),
        "fc.bias": (1008,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert network.Mixed_5b.branch1x1.bn.eps == 0.001
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())


@pytest.mark.slow
def test_features_are_2048_d_deterministic_and_independent_of_the_batch(network):
    images = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features = network(images)
    assert features.shape == (2, 2048)
    assert features.dtype == torch.float32
    assert torch.isfinite(features).all()
    assert torch.equal(network(images), features)
    torch.testing.assert_close(network(images[1:]), features[1:], rtol=1e-4, atol=1e-5)
    assert (features[0] - features[1]).abs().max() > 1e-3  # the images differ, so do features
    # Inputs are resized to 299x299 with bilinear interpolation (align_corners=False) first.
    resized = F.interpolate(images[:1], size=(299, 299), mode="bilinear", align_corners=False)
    torch.testing.assert_close(network(resized), features[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_bad_images_are_refused(network):
    with pytest.raises(ValueError, match=r"expected images with 3 channels"):
        network(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"expected images of shape \(N, C, H, W\)"):
        network(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match="images must be floating point"):
        network(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))


@pytest.mark.slow
def test_loading_restores_every_weight(network, weights_file):
    loaded = load_inception_features(weights_file)
    assert not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    for key, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    meter = FidKidMeter.if_available(weights_file)  # the recipe's route
    assert meter.skipped is None
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    meter.update(real=images[:2], fake=images[2:])
    scores = meter.compute(kid_subsets=2)
    assert np.isfinite([scores["fid"], scores["kid_mean"], scores["kid_std"]]).all()
    assert scores["fid"] > 0
    assert (scores["num_real"], scores["num_fake"], scores["kid_subset_size"]) == (2, 2, 2)


def _broken(state: dict, case: str) -> dict:
    state = dict(state)
    if case == "missing":
        del state["Mixed_6c.branch7x7_1.conv.weight"]
    elif case == "renamed":
        state["Mixed_6c.branch7x7_one.conv.weight"] = state.pop("Mixed_6c.branch7x7_1.conv.weight")
    elif case == "shape":
        state["fc.weight"] = torch.zeros(1000, 2048)
    elif case == "nan":
        state["fc.bias"] = torch.full((1008,), float("nan"))
    return state


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing", r"missing keys: 'Mixed_6c\.branch7x7_1\.conv\.weight'"),
        (
            "renamed",
            r"missing keys: 'Mixed_6c\.branch7x7_1\.conv\.weight'; "
            r"unexpected keys: 'Mixed_6c\.branch7x7_one\.conv\.weight'",
        ),
        ("shape", r"wrong shapes: 'fc\.weight \(1000, 2048\) \(expected \(1008, 2048\)\)'"),
        ("nan", r"NaN or infinite values in 'fc\.bias'"),
    ],
)
def test_a_state_dict_that_does_not_match_is_refused(network, tmp_path, case, match):
    path = tmp_path / "bad.pth"
    torch.save(_broken(network.state_dict(), case), path)
    with pytest.raises(ValueError, match=match) as error:
        load_inception_features(path)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match="it holds a list, not a state_dict"):
        load_inception_features(path)


def test_a_missing_file_names_the_path_and_where_to_get_it(tmp_path, monkeypatch):
    path = tmp_path / "weights" / "inception.pth"
    with pytest.raises(FileNotFoundError) as error:
        load_inception_features(path)
    message = str(error.value)
    assert f"no Inception-v3 FID weights file at {path}" in message
    assert FID_WEIGHTS_URL in message
    assert INCEPTION_WEIGHTS_ENV in message
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(tmp_path / "from_env.pth"))
    with pytest.raises(FileNotFoundError, match=r"from_env\.pth"):
        load_inception_features()
    assert not path.parent.exists()  # nothing was created or downloaded


def test_the_weights_path_is_argument_then_environment_then_torch_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    hub = tmp_path / "torch_home" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    assert inception_weights_path() == hub
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, "")  # empty: not set
    assert inception_weights_path() == hub
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(tmp_path / "env.pth"))
    assert inception_weights_path() == tmp_path / "env.pth"
    assert inception_weights_path(tmp_path / "arg.pth") == tmp_path / "arg.pth"
    with pytest.raises(TypeError, match=r"weights must be None, a str or os\.PathLike"):
        inception_weights_path(3)
    with pytest.raises(TypeError, match="download must be a bool"):
        load_inception_features(tmp_path / "arg.pth", download="yes")


def test_a_failed_download_is_a_file_not_found_error(tmp_path, monkeypatch):
    """download=True asks torch.hub for pytorch-fid's file; offline, the error says where the
    file goes. (No test downloads anything: the downloader is replaced.)"""
    calls = []

    def offline(url, destination, progress=True):
        calls.append((url, destination))
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    path = tmp_path / "cache" / "pt_inception.pth"
    with pytest.raises(FileNotFoundError, match=r"the download failed: .*no network") as error:
        load_inception_features(path, download=True)
    assert calls == [(FID_WEIGHTS_URL, str(path))]
    assert str(path) in str(error.value)
    assert not path.exists()
