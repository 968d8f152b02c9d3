"""VGG19Features, weight loading (offline), VGGPerceptualLoss and the pix2pixHD vgg_loss case."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from condgan_blocks import VGG19Features, VGGPerceptualLoss, init_weights, vgg_perceptual_loss
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.losses.perceptual import imagenet_normalize
from condgan_blocks.losses.vgg19 import (
    VGG19_IMAGENET_FILE,
    VGG19_IMAGENET_URL,
    imagenet_weights_path,
)

from ..conftest import FIXTURE_DIR, load_case

ATOL, RTOL = 2e-5, 1e-4
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28)
TORCHVISION_KEYS = [f"features.{i}.{leaf}" for i in CONV_INDICES for leaf in ("weight", "bias")]


@pytest.fixture(scope="module")
def vgg() -> VGG19Features:
    torch.manual_seed(0)
    return VGG19Features(weights=None)


@pytest.fixture(scope="module")
def vgg_case() -> dict:
    path = FIXTURE_DIR / "vgg_loss.pt"
    if not path.is_file():
        pytest.skip(f"reference fixture not found: {path}")
    return load_case(path)


def _torchvision_state_dict(seed: int = 1) -> dict[str, torch.Tensor]:
    """A full torchvision vgg19 layout: our keys, the unused features.30/32/34 and classifier."""
    torch.manual_seed(seed)
    state = dict(VGG19Features().state_dict())
    for i in (30, 32, 34):
        state[f"features.{i}.weight"] = torch.randn(512, 512, 3, 3)
        state[f"features.{i}.bias"] = torch.randn(512)
    for i, (out, inp) in zip((0, 3, 6), ((8, 16), (8, 8), (10, 8)), strict=True):
        state[f"classifier.{i}.weight"] = torch.randn(out, inp)
        state[f"classifier.{i}.bias"] = torch.randn(out)
    return state


def _images(*shape, seed=0, requires_grad=False):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=gen) * 2 - 1).requires_grad_(requires_grad)


# --- VGG19Features ---------------------------------------------------------------------------


def test_features_shapes(vgg):
    features = vgg(_images(2, 3, 48, 32))
    assert [tuple(f.shape) for f in features] == [
        (2, 64, 48, 32),
        (2, 128, 24, 16),
        (2, 256, 12, 8),
        (2, 512, 6, 4),
        (2, 512, 3, 2),
    ]
    assert all((f >= 0).all() for f in features)  # every tap is after a ReLU


def test_state_dict_keys_are_torchvisions(vgg):
    assert list(vgg.state_dict()) == TORCHVISION_KEYS


def test_frozen_and_always_eval():
    net = VGG19Features()
    assert not any(p.requires_grad for p in net.parameters())
    assert not net.training
    net.train()
    assert not net.training
    assert not any(m.training for m in net.modules())
    x = _images(1, 3, 16, 16, requires_grad=True)
    net(x)[-1].sum().backward()
    assert x.grad is not None
    assert all(p.grad is None for p in net.parameters())


def test_loads_a_torchvision_state_dict_ignoring_unused_keys():
    state = _torchvision_state_dict()
    net = VGG19Features(weights=state)
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key])


def test_loads_a_path(tmp_path):
    state = _torchvision_state_dict()
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    for weights in (path, str(path)):
        net = VGG19Features(weights=weights)
        assert torch.equal(net.features[28].bias, state["features.28.bias"])


def test_bad_weights():
    state = _torchvision_state_dict()
    missing = {k: v for k, v in state.items() if k != "features.5.bias"}
    with pytest.raises(ValueError, match=r"missing keys \['features.5.bias'\]"):
        VGG19Features(weights=missing)
    with pytest.raises(ValueError, match=r"unexpected keys \['head.weight'\]"):
        VGG19Features(weights={**state, "head.weight": torch.zeros(1)})
    wrong = {**state, "features.0.weight": torch.zeros(64, 1, 3, 3)}
    with pytest.raises(ValueError, match=r"'features.0.weight' has shape \(64, 1, 3, 3\)"):
        VGG19Features(weights=wrong)
    with pytest.raises(ValueError, match=r"compat\.pix2pixhd\.load_state_dict"):
        VGG19Features(weights={"slice1.0.weight": torch.zeros(64, 3, 3, 3)})
    with pytest.raises(TypeError, match="weights must be None, 'imagenet'"):
        VGG19Features(weights=3)
    with pytest.raises(FileNotFoundError, match="not found"):
        VGG19Features(weights="/nonexistent/vgg19.pth")


def test_bad_inputs(vgg):
    with pytest.raises(ValueError, match="3 channels"):
        vgg(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        vgg(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="H and W >= 16"):
        vgg(torch.zeros(1, 3, 15, 32))


# --- "imagenet": the torch hub cache, never the network in tests -----------------------------


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)  # undo any set_dir()
    return tmp_path / "torch"


def test_imagenet_offline_error_names_the_file_and_place(empty_torch_home, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    expected = empty_torch_home / "hub" / "checkpoints" / VGG19_IMAGENET_FILE
    assert imagenet_weights_path() == expected
    with pytest.raises(FileNotFoundError) as error:
        VGGPerceptualLoss(weights="imagenet")
    message = str(error.value)
    assert VGG19_IMAGENET_FILE in message
    assert str(expected) in message
    assert VGG19_IMAGENET_URL in message
    assert "network is unreachable" in message


def test_imagenet_reads_the_cached_file_without_downloading(empty_torch_home, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("must not download when the file is cached")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    state = _torchvision_state_dict()
    imagenet_weights_path().parent.mkdir(parents=True)
    torch.save(state, imagenet_weights_path())
    net = VGG19Features(weights="imagenet")
    assert torch.equal(net.features[0].weight, state["features.0.weight"])


def test_imagenet_downloads_into_the_cache(empty_torch_home, monkeypatch):
    state = _torchvision_state_dict()
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix, progress))
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    net = VGG19Features(weights="imagenet")
    assert calls == [(VGG19_IMAGENET_URL, str(imagenet_weights_path()), "dcbb9e9d", False)]
    assert torch.equal(net.features[28].weight, state["features.28.weight"])


def test_loading_uses_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled code ran",))

    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": Evil()}, path)
    with pytest.raises(Exception, match=r"[Ww]eights only load failed"):
        VGG19Features(weights=path)


# --- VGGPerceptualLoss -----------------------------------------------------------------------


def _reference(vgg, fake, real, weight, layer_weights, normalize):
    if normalize == "imagenet":
        fake, real = imagenet_normalize(fake), imagenet_normalize(real)
    with torch.no_grad():
        pairs = zip(layer_weights, vgg(fake), vgg(real), strict=True)
        return weight * sum(w * (f - r).abs().mean() for w, f, r in pairs)


@pytest.mark.parametrize("normalize", ["imagenet", None])
@pytest.mark.parametrize("batched", [True, False])
def test_matches_formula(vgg, normalize, batched):
    fake, real = _images(2, 3, 32, 32, seed=1), _images(2, 3, 32, 32, seed=2)
    layer_weights = (0.5, 0.25, 1.0, 2.0, 0.0)
    criterion = VGGPerceptualLoss(
        3.0, layer_weights=layer_weights, weights=vgg, normalize=normalize, batched=batched
    )
    expected = _reference(vgg, fake, real, 3.0, layer_weights, normalize)
    torch.testing.assert_close(criterion(fake, real), expected, atol=1e-6, rtol=1e-5)


def test_normalize_changes_the_input(vgg):
    fake, real = _images(1, 3, 16, 16, seed=1), _images(1, 3, 16, 16, seed=2)
    imagenet = vgg_perceptual_loss(vgg, fake, real, normalize="imagenet")
    none = vgg_perceptual_loss(vgg, fake, real, normalize=None)
    assert not torch.allclose(imagenet, none)
    torch.testing.assert_close(
        imagenet,
        vgg_perceptual_loss(
            vgg, imagenet_normalize(fake), imagenet_normalize(real), normalize=None
        ),
    )
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    torch.testing.assert_close(imagenet_normalize(mean * 2 - 1), torch.zeros(1, 3, 1, 1))


@given(
    batch=st.integers(1, 2),
    height=st.integers(16, 24),
    width=st.integers(16, 24),
    seed=st.integers(0, 2**16),
)
@settings(deadline=None, max_examples=8)
def test_zero_when_equal_and_non_negative(vgg, batch, height, width, seed):
    real = _images(batch, 3, height, width, seed=seed)
    criterion = VGGPerceptualLoss(weights=vgg)
    assert criterion(real.clone(), real) == 0
    assert criterion(_images(batch, 3, height, width, seed=seed + 1), real) >= 0


@given(weight=st.floats(0.0, 50.0))
@settings(deadline=None, max_examples=8)
def test_scales_linearly_with_weight(vgg, weight):
    fake, real = _images(1, 3, 16, 16, seed=1), _images(1, 3, 16, 16, seed=2)
    unit = VGGPerceptualLoss(1.0, weights=vgg)(fake, real)
    torch.testing.assert_close(VGGPerceptualLoss(weight, weights=vgg)(fake, real), weight * unit)


@pytest.mark.parametrize("batched", [True, False])
def test_gradients_reach_fake_only(vgg, batched):
    fake = _images(2, 3, 16, 16, seed=1, requires_grad=True)
    real = _images(2, 3, 16, 16, seed=2, requires_grad=True)
    VGGPerceptualLoss(weights=vgg, batched=batched)(fake, real).backward()
    assert fake.grad is not None
    assert fake.grad.abs().sum() > 0
    assert real.grad is None
    assert all(p.grad is None for p in vgg.parameters())


def test_batched_and_unbatched_agree_with_gradients(vgg):
    real = _images(2, 3, 32, 16, seed=2)
    grads, losses = [], []
    for batched in (True, False):
        fake = _images(2, 3, 32, 16, seed=1, requires_grad=True)
        loss = VGGPerceptualLoss(weights=vgg, batched=batched)(fake, real)
        loss.backward()
        losses.append(loss.detach())
        grads.append(fake.grad)
    torch.testing.assert_close(losses[0], losses[1], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-7, rtol=1e-4)


def test_vgg_is_hidden_from_state_dict_parameters_and_apply():
    criterion = VGGPerceptualLoss(weights=None)
    model = nn.ModuleDict({"net": nn.Conv2d(3, 3, 1), "vgg_loss": criterion})
    assert list(model.state_dict()) == ["net.weight", "net.bias"]
    assert len(list(model.parameters())) == 2
    assert criterion.state_dict() == {}
    criterion.load_state_dict({})  # strict: a checkpoint needs no VGG keys
    before = criterion.vgg.features[0].weight.clone()
    init_weights(model)
    assert torch.equal(criterion.vgg.features[0].weight, before)
    model.train()
    assert criterion.training
    assert not criterion.vgg.training
    assert "VGG19Features (frozen)" in repr(criterion)


def test_shared_features_are_not_copied(vgg):
    assert VGGPerceptualLoss(weights=vgg).vgg is vgg


def test_float64_through_to():
    criterion = VGGPerceptualLoss(weights=None)
    model = nn.Sequential(criterion)
    assert model.to(torch.float64) is model
    assert criterion.vgg.features[0].weight.dtype == torch.float64
    assert not criterion.vgg.features[0].weight.requires_grad
    fake = _images(1, 3, 16, 16, seed=1).double().requires_grad_()
    real = _images(1, 3, 16, 16, seed=2).double()
    loss = criterion(fake, real)
    assert loss.dtype == torch.float64
    loss.backward()
    assert fake.grad.dtype == torch.float64
    criterion.float()
    assert criterion.vgg.features[0].weight.dtype == torch.float32


@pytest.mark.parametrize("batched", [True, False])
def test_under_bfloat16_autocast(vgg, batched):
    fake = _images(1, 3, 32, 32, seed=1, requires_grad=True)
    real = _images(1, 3, 32, 32, seed=2)
    criterion = VGGPerceptualLoss(weights=vgg, batched=batched)
    reference = criterion(fake, real)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = criterion(fake, real)
        loss_bf16_inputs = criterion(fake.bfloat16(), real.bfloat16())
    for value in (loss, loss_bf16_inputs):
        assert torch.isfinite(value)
        torch.testing.assert_close(value.float(), reference.detach(), atol=0, rtol=5e-2)
    loss.float().backward()
    assert fake.grad is not None


def test_bad_arguments(vgg):
    with pytest.raises(ValueError, match="layer_weights must have 5 entries"):
        VGGPerceptualLoss(layer_weights=(1.0, 1.0), weights=vgg)
    with pytest.raises(ValueError, match=r"layer_weights\[1\] must be >= 0"):
        VGGPerceptualLoss(layer_weights=(1, -1, 1, 1, 1), weights=vgg)
    with pytest.raises(TypeError, match="layer_weights must be a sequence"):
        VGGPerceptualLoss(layer_weights=1.0, weights=vgg)
    with pytest.raises(ValueError, match="normalize must be 'imagenet' or None"):
        VGGPerceptualLoss(normalize="caffe", weights=vgg)
    with pytest.raises(ValueError, match="weight must be >= 0"):
        VGGPerceptualLoss(-1.0, weights=vgg)
    with pytest.raises(TypeError, match="batched must be a bool"):
        VGGPerceptualLoss(batched="yes", weights=vgg)
    criterion = VGGPerceptualLoss(weights=vgg)
    x = torch.zeros(1, 3, 16, 16)
    with pytest.raises(ValueError, match="shapes differ"):
        criterion(x, torch.zeros(1, 3, 16, 20))
    with pytest.raises(ValueError, match="fake with 3 channels"):
        criterion(torch.zeros(1, 1, 16, 16), x)
    with pytest.raises(ValueError, match=r"real of shape \(N, C, H, W\)"):
        criterion(x, torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="H and W >= 16"):
        criterion(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(TypeError, match=r"\.to\(torch.float64\)"):
        criterion(x.double(), x.double())
    with pytest.raises(TypeError, match="share dtype and device"):
        criterion(x, x.double())
    with pytest.raises(TypeError, match="vgg must be a VGG19Features"):
        vgg_perceptual_loss(nn.Identity(), x, x)


# --- the pix2pixHD vgg_loss reference case ---------------------------------------------------


@pytest.mark.parametrize("batched", [True, False])
def test_fixture_through_torchvision_weights(vgg_case, batched):
    options, inputs = vgg_case["options"], vgg_case["inputs"]
    net = VGG19Features(weights=vgg_case["torchvision_state_dict"])
    criterion = VGGPerceptualLoss(
        1.0, layer_weights=options["weights"], weights=net, normalize=None, batched=batched
    )
    with torch.no_grad():
        torch.testing.assert_close(
            criterion(inputs["x"], inputs["y"]), vgg_case["outputs"], atol=ATOL, rtol=RTOL
        )
        features_x, features_y = net(inputs["x"]), net(inputs["y"])
    expected_shapes = [tuple(s.tolist()) for s in vgg_case["extras"]["feature_shapes_x"]]
    assert [tuple(f.shape) for f in features_x] == expected_shapes
    per_slice = [(fx - fy).abs().mean() for fx, fy in zip(features_x, features_y, strict=True)]
    torch.testing.assert_close(
        torch.stack(per_slice),
        torch.stack(list(vgg_case["extras"]["per_slice_l1"])),
        atol=ATOL,
        rtol=RTOL,
    )
    with_lambda = VGGPerceptualLoss(
        options["lambda_feat"], layer_weights=options["weights"], weights=net, normalize=None
    )
    with torch.no_grad():
        torch.testing.assert_close(
            with_lambda(inputs["x"], inputs["y"]),
            vgg_case["extras"]["loss_times_lambda_feat"],
            atol=ATOL,
            rtol=RTOL,
        )


def test_fixture_through_compat_keys(vgg_case):
    criterion = pix2pixhd.build("vgg_loss", vgg_case["options"])
    pix2pixhd.load_state_dict(criterion, vgg_case["state_dict"])
    reference = VGG19Features(weights=vgg_case["torchvision_state_dict"])
    for ours, theirs in zip(criterion.vgg.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    original = pix2pixhd.to_original_state_dict(criterion)
    assert sorted(original) == sorted(vgg_case["state_dict"])
    # The original VGGLoss's own state dict (prefix ``vgg.``) loads too, as does a bare
    # VGG19Features.
    prefixed = {f"vgg.{k}": v for k, v in vgg_case["state_dict"].items()}
    pix2pixhd.load_state_dict(pix2pixhd.build("vgg_loss", vgg_case["options"]), prefixed)
    bare = pix2pixhd.load_state_dict(VGG19Features(), vgg_case["state_dict"])
    assert torch.equal(bare.features[28].weight, reference.features[28].weight)
    with pytest.raises(ValueError, match="missing keys"):
        pix2pixhd.load_state_dict(criterion, dict(list(vgg_case["state_dict"].items())[2:]))
