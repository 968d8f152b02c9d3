"""Flags of the blocks and datasets accept only real bools; sizes only real ints."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from condgan_blocks import (
    GlobalGenerator,
    InstanceFeatureEncoder,
    LocalEnhancer,
    MultiscaleDiscriminator,
    NLayerDiscriminator,
    ResnetBlock,
    image_pyramid,
)
from condgan_blocks.data import PairedFolderDataset, SyntheticScenes, make_dataloader
from condgan_blocks.layers._factory import make_conv

from .._data_trees import make_pix2pixhd

NOT_BOOLS = ["no", 1, 0, None, 1.0, np.bool_(True), torch.tensor(True)]

SMALL = {
    GlobalGenerator: ((3,), {"base_channels": 2, "num_downsamples": 1, "num_blocks": 1}),
    LocalEnhancer: (
        (3,),
        {
            "base_channels": 2,
            "num_enhancers": 1,
            "num_blocks_local": 1,
            "num_downsamples_global": 1,
            "num_blocks_global": 1,
        },
    ),
    NLayerDiscriminator: ((3,), {"base_channels": 2, "num_layers": 1}),
    MultiscaleDiscriminator: ((3,), {"num_scales": 1, "base_channels": 2, "num_layers": 1}),
}

FLAGS = [
    (GlobalGenerator, "include_head"),
    (GlobalGenerator, "checkpoint_activations"),
    (LocalEnhancer, "checkpoint_activations"),
    (NLayerDiscriminator, "use_sigmoid"),
    (NLayerDiscriminator, "return_features"),
    (NLayerDiscriminator, "spectral_norm"),
    (MultiscaleDiscriminator, "use_sigmoid"),
    (MultiscaleDiscriminator, "return_features"),
    (MultiscaleDiscriminator, "spectral_norm"),
]


@pytest.mark.parametrize("value", NOT_BOOLS, ids=repr)
@pytest.mark.parametrize(("cls", "flag"), FLAGS, ids=lambda v: getattr(v, "__name__", v))
def test_block_flags_refuse_non_bools(cls, flag, value):
    args, kwargs = SMALL[cls]
    with pytest.raises(TypeError, match=rf"^{flag} must be a bool, got "):
        cls(*args, **kwargs, **{flag: value})


@pytest.mark.parametrize(("cls", "flag"), FLAGS, ids=lambda v: getattr(v, "__name__", v))
def test_block_flags_accept_bools(cls, flag):
    args, kwargs = SMALL[cls]
    for value in (True, False):
        cls(*args, **kwargs, **{flag: value})


def test_spectral_norm_string_no_longer_applies_spectral_norm():
    with pytest.raises(TypeError, match="spectral_norm must be a bool, got str 'no'"):
        MultiscaleDiscriminator(6, spectral_norm="no")
    with pytest.raises(TypeError, match="spectral_norm must be a bool"):
        make_conv(2, 2, 3, spectral_norm="no")


def test_checkpoint_activations_setter_refuses_non_bools():
    args, kwargs = SMALL[LocalEnhancer]
    net = LocalEnhancer(*args, **kwargs)
    with pytest.raises(TypeError, match="checkpoint_activations must be a bool"):
        net.checkpoint_activations = "no"
    assert net.checkpoint_activations is False
    net.checkpoint_activations = True
    assert all(stage.checkpoint_activations is True for stage in net.stages)


@pytest.mark.parametrize("value", [2.0, True, "2", np.int64(2)], ids=repr)
@pytest.mark.parametrize(
    ("cls", "argument"),
    [
        (GlobalGenerator, "num_blocks"),
        (GlobalGenerator, "num_downsamples"),
        (LocalEnhancer, "num_downsamples_global"),
        (LocalEnhancer, "num_blocks_global"),
        (NLayerDiscriminator, "num_layers"),
        (MultiscaleDiscriminator, "num_scales"),
        (MultiscaleDiscriminator, "base_channels"),
        (MultiscaleDiscriminator, "num_layers"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_sizes_must_be_real_ints(cls, argument, value):
    args, kwargs = SMALL[cls]
    with pytest.raises(TypeError, match=rf"^{argument} must be an int, got "):
        cls(*args, **{**kwargs, argument: value})


def test_other_sizes_must_be_real_ints():
    with pytest.raises(TypeError, match="num_downsamples must be an int, got bool"):
        InstanceFeatureEncoder(num_downsamples=True)
    with pytest.raises(TypeError, match="levels must be an int, got bool"):
        image_pyramid(torch.zeros(1, 1, 4, 4), True)
    with pytest.raises(TypeError, match="levels must be an int, got float"):
        image_pyramid(torch.zeros(1, 1, 4, 4), 1.0)
    with pytest.raises(TypeError, match="dropout must be a real number, got str"):
        ResnetBlock(4, dropout="0.1")
    with pytest.raises(TypeError, match="dropout must be a real number, got bool"):
        ResnetBlock(4, dropout=False)


def test_dataset_flags_refuse_non_bools(tmp_path):
    make_pix2pixhd(tmp_path, "train", ("a",))
    # 1 == True, so `1 in (None, True, False)` used to let it through.
    with pytest.raises(TypeError, match="load_instances must be None, True or False, got int 1"):
        PairedFolderDataset(tmp_path, label_nc=35, load_instances=1)
    with pytest.raises(TypeError, match="load_images must be a bool, got str 'no'"):
        PairedFolderDataset(tmp_path, label_nc=35, load_images="no")
    dataset = PairedFolderDataset(tmp_path, label_nc=35)
    with pytest.raises(TypeError, match="raise_on_error must be a bool"):
        dataset.validate(raise_on_error="no")
    with pytest.raises(TypeError, match="progress must be None, True or False"):
        dataset.validate(progress=0)


@pytest.mark.parametrize(
    "flag", ["shuffle", "drop_last", "pin_memory", "persistent_workers", "distributed"]
)
def test_dataloader_flags_refuse_non_bools(flag):
    with pytest.raises(TypeError, match=re.escape(f"{flag} must be ")):
        make_dataloader(SyntheticScenes(2, size=(16, 16)), **{flag: "no"})
