from __future__ import annotations

import pytest
import torch

from condgan_blocks import FeatureBank, InstanceFeatureEncoder, instance_average_pool
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.compat.pix2pixhd import _instance


def small_encoder(**kwargs) -> InstanceFeatureEncoder:
    return InstanceFeatureEncoder(base_channels=4, num_downsamples=2, **kwargs)


def test_output_shape_and_constant_per_instance():
    encoder = small_encoder(feature_channels=5)
    instances = torch.randint(0, 3, (2, 1, 16, 12)) * 1000
    out = encoder(torch.randn(2, 3, 16, 12), instances)
    assert out.shape == (2, 5, 16, 12)
    assert out.abs().max() <= 1
    for b in range(2):
        for instance_id in instances[b].unique():
            values = out[b][:, instances[b, 0] == instance_id]
            assert torch.allclose(values, values[:, :1].expand_as(values), atol=1e-6)


def test_forward_is_pooled_features():
    encoder = small_encoder(norm="batch").eval()
    image, instances = torch.randn(2, 3, 8, 8), torch.randint(0, 4, (2, 8, 8))
    expected = instance_average_pool(encoder.features(image), instances)
    assert torch.equal(encoder(image, instances), expected)


def test_layout_follows_the_paper():
    encoder = InstanceFeatureEncoder()
    assert (encoder.in_channels, encoder.feature_channels) == (3, 3)
    assert encoder.stem.conv.kernel_size == (7, 7)
    assert [down.conv.out_channels for down in encoder.downsamples] == [32, 64, 128, 256]
    assert [up.conv.out_channels for up in encoder.upsamples] == [128, 64, 32, 16]
    assert all(isinstance(up.conv, torch.nn.ConvTranspose2d) for up in encoder.upsamples)
    assert isinstance(encoder.head.act, torch.nn.Tanh)
    assert encoder.size_multiple == 16


def test_backward_and_state_dict_round_trip():
    encoder = small_encoder()
    image = torch.randn(1, 3, 8, 8, requires_grad=True)
    encoder(image, torch.randint(0, 2, (1, 1, 8, 8))).square().sum().backward()
    assert image.grad is not None
    assert encoder.stem.conv.weight.grad is not None
    other = small_encoder()
    other.load_state_dict(encoder.state_dict())
    inputs = (torch.randn(1, 3, 8, 8), torch.randint(0, 2, (1, 1, 8, 8)))
    assert torch.equal(other(*inputs), encoder(*inputs))


def test_bad_arguments():
    encoder = small_encoder()
    with pytest.raises(ValueError, match="multiples of 4"):
        encoder(torch.randn(1, 3, 10, 8), torch.zeros(1, 1, 10, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"image \(1, 3, 8, 8\) and instances \(1, 1, 8, 4\)"):
        encoder(torch.randn(1, 3, 8, 8), torch.zeros(1, 1, 8, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="3 channels"):
        encoder(torch.randn(1, 4, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="norm must be one of"):
        InstanceFeatureEncoder(norm="group")
    with pytest.raises(ValueError, match="feature_channels must be >= 1"):
        InstanceFeatureEncoder(feature_channels=0)


# -- compat: the original's option names and keys ---------------------------------------------


def test_build_encoder_defaults_and_original_keys():
    encoder = pix2pixhd.build("encoder")
    assert (encoder.base_channels, encoder.num_downsamples, encoder.norm) == (16, 4, "instance")
    options = {"input_nc": 3, "feat_num": 3, "nef": 8, "n_downsample_E": 2, "norm": "batch"}
    encoder = pix2pixhd.build("encoder", options)
    keys = pix2pixhd.to_original_state_dict(encoder)
    convs = sorted({key.split(".")[1] for key in keys if key.endswith("weight")}, key=int)
    # convs 1, 4, 7, transposed convs 10, 13, final conv 17; BN right after each of the first five
    assert convs == ["1", "2", "4", "5", "7", "8", "10", "11", "13", "14", "17"]
    rebuilt = pix2pixhd.build("encoder", options)
    pix2pixhd.load_state_dict(rebuilt, keys)
    inputs = (torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 1, 8, 8)))
    assert torch.equal(rebuilt.eval()(*inputs), encoder.eval()(*inputs))


def test_get_edges_kind_returns_float32_or_half():
    instances = torch.tensor([[[[1, 1, 2]]]], dtype=torch.int32)
    assert pix2pixhd.build("get_edges")(instances).dtype == torch.float32
    assert pix2pixhd.build("get_edges", {"data_type": 16})(instances).dtype == torch.float16
    pix2pixhd.load_state_dict(pix2pixhd.build("get_edges"), {})


def test_encode_features_kind_rows_and_errors():
    options = {"nef": 4, "n_downsample_E": 2, "label_nc": 30}
    module = pix2pixhd.build("encode_features", options)
    pix2pixhd.load_state_dict(module, pix2pixhd.to_original_state_dict(module.encoder))
    instances = torch.zeros(1, 1, 8, 8, dtype=torch.long)
    instances[..., :3, :] = 24001
    instances[..., 6:, 6:] = 24000
    instances[..., 0, 7] = 7
    rows = module(torch.randn(1, 3, 8, 8), instances)
    assert sorted(rows) == [0, 7, 24]
    assert all(r.dtype == torch.float64 and r.shape[1] == 4 for r in rows.values())
    assert rows[24][:, -1].tolist() == [4 / 2, 23 / 2]  # ids 24000 then 24001; H * W // 32 == 2
    with pytest.raises(ValueError, match=r"instance ids \[31000\] have labels >= label_nc=30"):
        module(torch.randn(1, 3, 8, 8), instances.masked_fill(instances == 7, 31000))
    with pytest.raises(ValueError, match="at least block_num"):
        module(torch.randn(1, 3, 4, 4), torch.zeros(1, 1, 4, 4, dtype=torch.long))


def test_bank_extraction_matches_encode_features_on_a_batch_of_one():
    torch.manual_seed(1)
    instances = torch.randint(0, 3, (1, 1, 16, 16)) * 1000 + torch.randint(0, 2, (1, 1, 16, 16))
    features = torch.randn(1, 3, 16, 16)  # not pooled: the pixel read must be the same one
    rows = _instance.pix2pixhd_instance_rows(features, instances)
    bank = FeatureBank(3)
    bank.add(features, instances)
    records = bank.records()
    expected = torch.cat([rows[label] for label in sorted(rows)])
    order = torch.sort(records["classes"], stable=True).indices
    assert torch.equal(records["features"][order].double(), expected[:, :-1])
    assert torch.equal(records["pixels"][order].double() / (16 * 16 // 32), expected[:, -1])
