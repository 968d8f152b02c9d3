"""The pix2pixHD compat layer: build from original options, strict key translation, checkpoints,
experiment folders."""

from __future__ import annotations

import re

import pytest
import torch

from condgan_blocks import (
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
)
from condgan_blocks.compat import pix2pixhd

from ..conftest import FIXTURE_DIR, fixture_paths, load_case

ATOL, RTOL = 2e-5, 1e-4
NETWORK_KINDS = (
    "global_generator",
    "local_enhancer",
    "multiscale_discriminator",
    "nlayer_discriminator",
)
NETWORK_FIXTURES = [p for p in fixture_paths() if p.stem.startswith(NETWORK_KINDS)]
needs_fixtures = pytest.mark.skipif(
    not NETWORK_FIXTURES, reason=f"reference fixtures not found at {FIXTURE_DIR}"
)


def _fixture(name: str) -> dict:
    path = FIXTURE_DIR / f"{name}.pt"
    if not path.is_file():
        pytest.skip(f"reference fixture {name} not found at {FIXTURE_DIR}")
    return load_case(path)


def _run(module: torch.nn.Module, case: dict):
    module.train(case["mode"] == "train")
    with torch.no_grad():
        return module(case["inputs"]["input"])


def test_kinds_lists_the_networks():
    kinds = pix2pixhd.kinds()
    assert set(NETWORK_KINDS) <= set(kinds)
    assert list(kinds) == sorted(kinds)


# ------------------------------------------------------------------------------------------------
# build


def test_build_ignores_unused_keys():
    options = {"input_nc": 4, "ngf": 2, "n_downsample_global": 1, "n_blocks_global": 1}
    noisy = {
        **options,
        "gpu_ids": [0],
        "name": "label2city",
        "ndf": 99,
        "lr": 0.0002,
        "foo": object(),
    }
    a = pix2pixhd.build("global_generator", options)
    b = pix2pixhd.build("global_generator", noisy)
    assert type(a) is type(b) is GlobalGenerator
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }


def test_build_uses_the_original_defaults_for_missing_options():
    with torch.device("meta"):
        g = pix2pixhd.build("global_generator", {})
        local = pix2pixhd.build("local_enhancer", {"ngf": 4})
        d = pix2pixhd.build("multiscale_discriminator", None)
        n = pix2pixhd.build("nlayer_discriminator", {"input_nc": 6})
    assert (g.in_channels, g.out_channels, g.base_channels) == (3, 3, 64)
    assert (g.num_downsamples, g.num_blocks, g.norm, g.padding) == (4, 9, "instance", "reflect")
    assert isinstance(local, LocalEnhancer)
    assert (local.base_channels, local.num_enhancers, local.num_blocks_local) == (4, 1, 3)
    assert local.global_generator.base_channels == 8
    assert (local.global_generator.num_downsamples, local.global_generator.num_blocks) == (4, 9)
    assert isinstance(d, MultiscaleDiscriminator)
    assert d.num_scales == 2
    assert d.return_features  # getIntermFeat = not no_ganFeat_loss = True
    assert len(d.scales[0].layers) == 3 + 2
    assert d.scales[0].layers[0].conv.out_channels == 64
    assert not d.scales[0].use_sigmoid
    assert isinstance(n, NLayerDiscriminator)
    assert n.in_channels == 6


@pytest.mark.parametrize(
    ("options", "use_sigmoid", "return_features"),
    [
        ({}, False, True),
        ({"no_ganFeat_loss": True}, False, False),
        ({"no_ganFeat_loss": True, "no_lsgan": True}, True, False),
        ({"no_lsgan": True}, False, True),  # quirk: with getIntermFeat the sigmoid never runs
        ({"use_sigmoid": True, "getIntermFeat": False, "no_lsgan": False}, True, False),
        ({"getIntermFeat": True, "no_ganFeat_loss": True}, False, True),  # constructor names win
    ],
)
def test_discriminator_options(options, use_sigmoid, return_features):
    net = pix2pixhd.build(
        "multiscale_discriminator", {"input_nc": 3, "ndf": 2, "n_layers_D": 1, **options}
    )
    assert net.return_features is return_features
    assert all(scale.use_sigmoid is use_sigmoid for scale in net.scales)
    out = net(torch.randn(1, 3, 16, 16))
    assert all(len(scale) == (3 if return_features else 1) for scale in out)
    if use_sigmoid:
        assert all(((s[-1] > 0) & (s[-1] < 1)).all() for s in out)
    else:
        assert any((s[-1] < 0).any() for s in out)


@pytest.mark.parametrize("kind", ["encoder_typo", "GlobalGenerator", ""])
def test_build_unknown_kind_raises(kind):
    with pytest.raises(
        ValueError, match=re.escape(f"kind must be one of {pix2pixhd.kinds()}, got {kind!r}")
    ):
        pix2pixhd.build(kind, {})


# ------------------------------------------------------------------------------------------------
# load_state_dict


@needs_fixtures
@pytest.mark.parametrize("path", NETWORK_FIXTURES, ids=[p.stem for p in NETWORK_FIXTURES])
def test_to_original_state_dict_round_trip_on_fixtures(path):
    case = load_case(path)
    module = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(module, case["state_dict"])
    exported = pix2pixhd.to_original_state_dict(module)
    assert set(exported) == set(case["state_dict"])
    for key, value in case["state_dict"].items():
        assert torch.equal(exported[key], value), key
    fresh = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(fresh, exported)
    torch.testing.assert_close(_run(fresh, case), case["outputs"], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize(
    ("kind", "options", "size"),
    [
        (
            "global_generator",
            {
                "ngf": 2,
                "n_downsample_global": 1,
                "n_blocks_global": 1,
                "norm": "batch",
                "padding_type": "zero",
            },
            8,
        ),
        (
            "global_generator",
            {"ngf": 2, "n_downsample_global": 2, "n_blocks_global": 2, "padding_type": "replicate"},
            16,
        ),
        (
            "local_enhancer",
            {
                "ngf": 1,
                "n_downsample_global": 1,
                "n_blocks_global": 1,
                "n_local_enhancers": 2,
                "n_blocks_local": 1,
                "norm": "batch",
                "padding_type": "zero",
            },
            16,
        ),
        (
            "local_enhancer",
            {
                "ngf": 2,
                "n_downsample_global": 1,
                "n_blocks_global": 0,
                "n_local_enhancers": 3,
                "n_blocks_local": 2,
            },
            32,
        ),
        (
            "nlayer_discriminator",
            {
                "ndf": 2,
                "n_layers_D": 2,
                "norm": "batch",
                "getIntermFeat": False,
                "use_sigmoid": True,
            },
            16,
        ),
        ("nlayer_discriminator", {"ndf": 2, "n_layers_D": 4, "getIntermFeat": True}, 32),
        (
            "multiscale_discriminator",
            {"ndf": 2, "n_layers_D": 2, "num_D": 3, "norm": "batch", "getIntermFeat": False},
            16,
        ),
        (
            "multiscale_discriminator",
            {"ndf": 2, "n_layers_D": 1, "num_D": 2, "norm": "batch", "getIntermFeat": True},
            16,
        ),
    ],
)
def test_to_original_state_dict_round_trip_on_fresh_modules(kind, options, size):
    options = {"input_nc": 3, **options}
    source = pix2pixhd.build(kind, options)
    x = torch.randn(2, 3, size, size)
    source(x)  # batch norm: move the running statistics
    source.eval()
    exported = pix2pixhd.to_original_state_dict(source)
    assert len(exported) == len(source.state_dict())
    torch.manual_seed(1234)
    target = pix2pixhd.build(kind, options).eval()
    pix2pixhd.load_state_dict(target, exported)
    torch.testing.assert_close(target(x), source(x))
    assert pix2pixhd.to_original_state_dict(target).keys() == exported.keys()


def test_load_state_dict_returns_the_module():
    case = _fixture("global_generator_instance")
    module = pix2pixhd.build(case["kind"], case["options"])
    assert pix2pixhd.load_state_dict(module, case["state_dict"]) is module


def test_missing_key_raises_naming_it():
    case = _fixture("global_generator_batch_eval")
    state = dict(case["state_dict"])
    del state["model.5.running_var"]
    del state["model.10.conv_block.1.weight"]
    module = pix2pixhd.build(case["kind"], case["options"])
    with pytest.raises(ValueError, match="missing keys") as info:
        pix2pixhd.load_state_dict(module, state)
    assert "'model.10.conv_block.1.weight'" in str(info.value)
    assert "'model.5.running_var'" in str(info.value)
    assert "unexpected keys []" in str(info.value)


def test_unexpected_key_raises_naming_it():
    case = _fixture("global_generator_instance")
    state = {**case["state_dict"], "model.99.weight": torch.zeros(1), "extra": torch.zeros(1)}
    module = pix2pixhd.build(case["kind"], case["options"])
    with pytest.raises(ValueError, match=re.escape("unexpected keys ['extra', 'model.99.weight']")):
        pix2pixhd.load_state_dict(module, state)


def test_final_conv_of_a_global_checkpoint_is_unexpected_in_a_local_enhancer():
    case = _fixture("local_enhancer_n1")
    state = {**case["state_dict"], "model.20.weight": torch.zeros(3, 8, 7, 7)}
    module = pix2pixhd.build(case["kind"], case["options"])
    with pytest.raises(ValueError, match=re.escape("'model.20.weight'")):
        pix2pixhd.load_state_dict(module, state)


def test_shape_mismatch_raises():
    case = _fixture("global_generator_instance")
    options = {**case["options"], "ngf": 4}  # built with the wrong width
    module = pix2pixhd.build(case["kind"], options)
    with pytest.raises(ValueError, match=re.escape("'model.1.weight' has shape (8, 4, 7, 7)")):
        pix2pixhd.load_state_dict(module, case["state_dict"])
    state = dict(case["state_dict"])
    state["model.1.bias"] = torch.zeros(9)
    module = pix2pixhd.build(case["kind"], case["options"])
    with pytest.raises(ValueError, match=re.escape("'model.1.bias' has shape (9,)")):
        pix2pixhd.load_state_dict(module, state)


def test_failed_load_is_all_or_nothing():
    case = _fixture("global_generator_instance")
    state = dict(case["state_dict"])
    state["model.19.bias"] = torch.zeros(7)
    module = pix2pixhd.build(case["kind"], case["options"])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match="shape"):
        pix2pixhd.load_state_dict(module, state)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_checkpoints_without_num_batches_tracked_load():
    case = _fixture("global_generator_batch_eval")
    state = {k: v for k, v in case["state_dict"].items() if not k.endswith("num_batches_tracked")}
    assert len(state) < len(case["state_dict"])
    module = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(module, state)
    torch.testing.assert_close(_run(module, case), case["outputs"], atol=ATOL, rtol=RTOL)


def test_data_parallel_prefix_is_stripped():
    case = _fixture("global_generator_batch_eval")
    state = {f"module.{k}": v for k, v in case["state_dict"].items()}
    module = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(module, state)
    torch.testing.assert_close(_run(module, case), case["outputs"], atol=ATOL, rtol=RTOL)


def test_interm_layout_is_recognised_from_the_keys():
    case = _fixture("nlayer_discriminator_batch_interm_train")
    options = {**case["options"], "getIntermFeat": False}  # built flat, loaded from interm keys
    module = pix2pixhd.build(case["kind"], options)
    pix2pixhd.load_state_dict(module, case["state_dict"])
    module.eval()
    reference = pix2pixhd.build(case["kind"], case["options"])
    pix2pixhd.load_state_dict(reference, case["state_dict"])
    reference.eval()
    x = case["inputs"]["input"]
    torch.testing.assert_close(module(x), reference(x)[-1])


def test_load_state_dict_rejects_bad_arguments():
    module = pix2pixhd.build("nlayer_discriminator", {"ndf": 2, "n_layers_D": 1})
    with pytest.raises(TypeError, match="original_state_dict must be a mapping"):
        pix2pixhd.load_state_dict(module, [("model.0.weight", torch.zeros(1))])
    with pytest.raises(TypeError, match="no pix2pixHD key mapping for Conv2d"):
        pix2pixhd.load_state_dict(torch.nn.Conv2d(1, 1, 1), {})


def test_state_without_an_original_place_cannot_be_exported():
    bridged = LocalEnhancer(
        3, base_channels=2, num_downsamples_global=1, num_blocks_global=0, global_base_channels=3
    )
    with pytest.raises(ValueError, match=r"no place for .*bridge\.weight"):
        pix2pixhd.to_original_state_dict(bridged)
    spectral = NLayerDiscriminator(3, base_channels=2, num_layers=1, spectral_norm=True)
    with pytest.raises(ValueError, match="spectral norm"):
        pix2pixhd.to_original_state_dict(spectral)


# ------------------------------------------------------------------------------------------------
# files


def test_load_checkpoint_reads_a_saved_state_dict_in_eval_mode(tmp_path):
    case = _fixture("global_generator_batch_eval")
    path = tmp_path / "latest_net_G.pth"
    torch.save(case["state_dict"], path)
    module = pix2pixhd.load_checkpoint(path, case["kind"], case["options"])
    assert isinstance(module, GlobalGenerator)
    assert not module.training
    assert not any(m.training for m in module.modules())
    with torch.no_grad():
        out = module(case["inputs"]["input"])
    torch.testing.assert_close(out, case["outputs"], atol=ATOL, rtol=RTOL)
    module = pix2pixhd.load_checkpoint(str(path), case["kind"], case["options"], map_location="cpu")
    assert not module.training


def test_load_checkpoint_rejects_files_that_are_not_state_dicts(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match="not a state dict"):
        pix2pixhd.load_checkpoint(path, "global_generator", {"ngf": 2})
    with pytest.raises(FileNotFoundError):
        pix2pixhd.load_checkpoint(tmp_path / "absent.pth", "global_generator", {"ngf": 2})


OPT_TXT = """------------ Options -------------
batchSize: 1
checkpoints_dir: ./checkpoints
dataroot: ./datasets/cityscapes/
fineSize: 512
gpu_ids: [0]
input_nc: 3
instance_feat: {instance_feat}
isTrain: True
label_feat: False
label_nc: 35
lr: 0.0002
n_blocks_global: 1
n_downsample_global: 2
n_layers_D: 2
name: label2city
ndf: 8
netG: global
ngf: 8
no_ganFeat_loss: False
no_instance: {no_instance}
no_lsgan: False
norm: instance
num_D: 2
output_nc: 3
resize_or_crop: scale_width
which_epoch: latest
-------------- End ----------------
"""

G_OPTIONS = {"ngf": 8, "n_downsample_global": 2, "n_blocks_global": 1, "norm": "instance"}
D_OPTIONS = {"ndf": 8, "num_D": 2, "n_layers_D": 2, "norm": "instance", "getIntermFeat": True}


def _write_experiment(folder, *, g_nc=36, d_nc=39, with_d=True, prefix="latest", **opt):
    folder.mkdir(exist_ok=True)
    fields = {"instance_feat": False, "no_instance": False, **opt}
    (folder / "opt.txt").write_text(OPT_TXT.format(**fields))
    generator = pix2pixhd.build("global_generator", {**G_OPTIONS, "input_nc": g_nc})
    torch.save(pix2pixhd.to_original_state_dict(generator), folder / f"{prefix}_net_G.pth")
    discriminator = None
    if with_d:
        discriminator = pix2pixhd.build("multiscale_discriminator", {**D_OPTIONS, "input_nc": d_nc})
        torch.save(pix2pixhd.to_original_state_dict(discriminator), folder / f"{prefix}_net_D.pth")
    return generator, discriminator


def test_parse_options_reads_the_original_format():
    options = pix2pixhd.parse_options(OPT_TXT.format(instance_feat=False, no_instance=False))
    assert options["label_nc"] == 35
    assert options["no_instance"] is False
    assert options["gpu_ids"] == [0]
    assert options["lr"] == pytest.approx(0.0002)
    assert options["norm"] == "instance"
    assert options["name"] == "label2city"
    assert options["dataroot"] == "./datasets/cityscapes/"
    assert not any(key.startswith("-") for key in options)
    assert len(options) == 26


def test_load_experiment(tmp_path):
    generator, discriminator = _write_experiment(tmp_path)
    experiment = pix2pixhd.load_experiment(tmp_path)
    assert isinstance(experiment, pix2pixhd.Pix2PixHDExperiment)
    assert experiment.options["name"] == "label2city"
    g, d = experiment.generator, experiment.discriminator
    assert isinstance(g, GlobalGenerator)
    assert g.in_channels == 35 + 1
    assert isinstance(d, MultiscaleDiscriminator)
    assert d.in_channels == 35 + 1 + 3
    assert d.num_scales == 2
    assert d.return_features  # no_ganFeat_loss False
    assert experiment.encoder is None
    assert not any(m.training for m in g.modules())
    assert not any(m.training for m in d.modules())
    assert set(experiment.files) == {"G", "D"}
    x = torch.randn(1, 36, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(g(x), generator(x))
        y = torch.randn(1, 39, 16, 16)
        torch.testing.assert_close(d(y), discriminator(y))


def test_load_experiment_derives_feature_and_instance_channels(tmp_path):
    _write_experiment(tmp_path, g_nc=35 + 1 + 3, instance_feat=True)
    assert pix2pixhd.load_experiment(tmp_path).generator.in_channels == 39
    other = tmp_path / "no_instance"
    _write_experiment(other, g_nc=35, d_nc=38, no_instance=True)
    experiment = pix2pixhd.load_experiment(other)
    assert experiment.generator.in_channels == 35
    assert experiment.discriminator.in_channels == 38


def test_load_experiment_without_discriminator_and_by_epoch(tmp_path):
    _write_experiment(tmp_path, with_d=False, prefix="10")
    experiment = pix2pixhd.load_experiment(tmp_path, which_epoch=10)
    assert experiment.discriminator is None
    assert experiment.files["G"].name == "10_net_G.pth"
    with pytest.raises(FileNotFoundError, match=re.escape("latest_net_G.pth")):
        pix2pixhd.load_experiment(tmp_path)


def test_load_experiment_missing_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("no opt.txt")):
        pix2pixhd.load_experiment(tmp_path)
    _write_experiment(tmp_path)
    (tmp_path / "latest_net_G.pth").unlink()
    with pytest.raises(
        FileNotFoundError, match=re.escape("no generator checkpoint latest_net_G.pth")
    ):
        pix2pixhd.load_experiment(tmp_path)


def test_load_experiment_with_mismatched_checkpoint_raises(tmp_path):
    _write_experiment(tmp_path, g_nc=36)
    (tmp_path / "opt.txt").write_text(
        OPT_TXT.format(instance_feat=False, no_instance=False).replace("ngf: 8", "ngf: 4")
    )
    with pytest.raises(ValueError, match="has shape"):
        pix2pixhd.load_experiment(tmp_path)


def _opt_lines() -> list[str]:
    return OPT_TXT.format(instance_feat=False, no_instance=False).splitlines()


@pytest.mark.parametrize(
    ("name", "value", "blamed", "message"),
    [
        ("label_nc", "abc", "label_nc", "label_nc must be an int, got str 'abc'"),
        (
            "n_downsample_global",
            "64",
            "n_downsample_global",
            r"n_downsample_global must be in \[0, 10\], got 64",
        ),
        ("ngf", "1.5", "ngf", "ngf must be an int, got float 1.5"),
        ("no_instance", "1", "no_instance", "no_instance must be True or False, got int 1"),
        ("netG", "encoder", "netG", r"netG must be one of \('global', 'local'\), got 'encoder'"),
        ("ngf", "32768", "n_downsample_global", r"ngf=32768 doubled n_downsample_global=2 times"),
    ],
)
def test_load_experiment_refuses_bad_options_naming_file_and_line(
    tmp_path, name, value, blamed, message
):
    _write_experiment(tmp_path)
    lines = _opt_lines()
    line = 1 + next(i for i, text in enumerate(lines) if text.startswith(f"{blamed}:"))
    lines = [f"{name}: {value}" if text.startswith(f"{name}:") else text for text in lines]
    opt_file = tmp_path / "opt.txt"
    opt_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(opt_file))} line {line}: {message}"):
        pix2pixhd.load_experiment(tmp_path)


def test_load_experiment_refuses_binary_opt_txt(tmp_path):
    _write_experiment(tmp_path)
    opt_file = tmp_path / "opt.txt"
    opt_file.write_bytes(b"------------ Options -------------\nngf: 8\n\x89PNG\r\n\x1a\n\xff\xd8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(opt_file))} line 3: not UTF-8 text"):
        pix2pixhd.load_experiment(tmp_path)
    opt_file.write_bytes(b"ngf: 8\nname: a\x00b\n")
    with pytest.raises(ValueError, match="line 2: holds control characters"):
        pix2pixhd.load_experiment(tmp_path)


def test_build_bounds_the_options_before_allocating():
    with pytest.raises(
        ValueError, match=r"option n_downsample_global must be in \[0, 10\], got 64"
    ):
        pix2pixhd.build("global_generator", {"n_downsample_global": 64})
    with pytest.raises(ValueError, match=r"ngf=64 doubled n_local_enhancers=3 \+ n_downsample"):
        pix2pixhd.build("local_enhancer", {"n_local_enhancers": 3, "n_downsample_global": 9})
    with pytest.raises(ValueError, match=r"nef=128 doubled n_downsample_E=10 times"):
        pix2pixhd.build("encoder", {"n_downsample_E": 10, "nef": 128})
    with pytest.raises(TypeError, match="option ngf must be an int, got str '64'"):
        pix2pixhd.build("global_generator", {"ngf": "64"})
    with pytest.raises(ValueError, match=r"opt\.txt line 1: n_blocks_global must be in"):
        pix2pixhd.parse_options("n_blocks_global: 100000")
