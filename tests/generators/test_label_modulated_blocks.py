"""``label_modulation_blocks``: SPADE's modulated norms in the residual blocks as well."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from condgan_blocks import (
    EnhancerStage,
    GlobalGenerator,
    LabelModulatedNorm,
    LocalEnhancer,
    ResnetBlock,
)
from condgan_blocks.data import SyntheticScenes
from condgan_blocks.generators.global_generator import global_generator_size
from condgan_blocks.generators.local_enhancer import local_enhancer_size
from condgan_blocks.training import GeneratorConfig, TrainingConfig, build_training
from condgan_blocks.training.config import architecture_of
from tests._generator_helpers import assert_new_modules_start_neutral, tiny_local_enhancer
from tests._training_helpers import SIZE, batch_of, one_thread, tiny_config

BLOCK_KEYS = {f"norm2.{conv}.{p}" for conv in ("shared", "affine") for p in ("weight", "bias")}


def _global(blocks: bool, hidden: int = 8, **kwargs) -> GlobalGenerator:
    return GlobalGenerator(
        3,
        base_channels=4,
        num_downsamples=2,
        num_blocks=2,
        label_modulation=hidden,
        label_modulation_blocks=blocks,
        **kwargs,
    )


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _randomise_blocks(net: nn.Module) -> None:
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, LabelModulatedNorm) and name.endswith("norm2"):
                module.affine.weight.normal_(0.0, 0.5)
                module.affine.bias.normal_(0.0, 0.5)


def test_a_modulated_block_starts_as_the_plain_block_and_follows_its_condition():
    torch.manual_seed(0)
    plain = ResnetBlock(8).eval()
    modulated = ResnetBlock(8, label_modulation=4, condition_channels=3).eval()
    missing = modulated.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert set(missing) == BLOCK_KEYS
    x, condition = torch.randn(2, 8, 8, 8), torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(modulated(x, condition), plain(x), rtol=0, atol=0)
        _randomise_blocks(modulated)
        first = modulated(x, condition)
        assert (first - plain(x)).abs().amax() > 1e-3
        assert (modulated(x, -condition) - first).abs().amax() > 1e-3


def test_a_block_checks_its_condition_and_arguments():
    x = torch.randn(1, 8, 8, 8)
    with pytest.raises(ValueError, match="label-modulated: pass the condition"):
        ResnetBlock(8, label_modulation=4, condition_channels=3)(x)
    with pytest.raises(ValueError, match="not label-modulated: it takes no condition"):
        ResnetBlock(8)(x, torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"condition must be \(N, 3, H, W\), got \(1, 2, 8, 8\)"):
        ResnetBlock(8, label_modulation=4, condition_channels=3)(x, torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match="needs condition_channels"):
        ResnetBlock(8, label_modulation=4)
    with pytest.raises(ValueError, match="modulates the block's second norm, but norm='none'"):
        ResnetBlock(8, norm="none", label_modulation=4, condition_channels=3)


def test_generator_blocks_add_only_their_norm_weights_and_counts_are_exact():
    plain, modulated = _global(False), _global(True)
    added = set(modulated.state_dict()) - set(plain.state_dict())
    assert added == {f"blocks.{i}.{key}" for i in range(2) for key in BLOCK_KEYS}
    for net, blocks in ((plain, False), (modulated, True)):
        expected = global_generator_size(
            3, 3, 4, 2, 2, "instance", label_modulation=8, label_modulation_blocks=blocks
        )[1]
        assert _count(net) == expected
    local = tiny_local_enhancer(label_modulation=6, label_modulation_blocks=True)
    assert all(block.modulated for stage in local.stages for block in stage.blocks)
    assert all(block.modulated for block in local.global_generator.blocks)
    sizes = dict(
        base_channels=local.base_channels,
        num_enhancers=local.num_enhancers,
        num_blocks_local=local.num_blocks_local,
        num_downsamples_global=local.global_generator.num_downsamples,
        num_blocks_global=local.global_generator.num_blocks,
        global_base_channels=local.global_generator.base_channels,
    )
    counted = local_enhancer_size(3, 3, *sizes.values(), "instance", False, 6, True)[1]
    assert _count(local) == counted


def test_a_new_generator_with_modulated_blocks_computes_the_one_without():
    torch.manual_seed(0)
    without, with_blocks = _global(False), _global(True)
    x = torch.randn(2, 3, 16, 16)
    assert_new_modules_start_neutral(without, with_blocks, BLOCK_KEYS, _randomise_blocks, x)


@pytest.mark.parametrize("checkpointed", [False, True])
def test_gradients_reach_the_blocks_modulation_with_and_without_checkpointing(checkpointed):
    grads = []
    for checkpoint in (False, checkpointed):
        torch.manual_seed(0)
        net = _global(True, condition_skips=True, checkpoint_activations=checkpoint)
        _randomise_blocks(net)
        net(torch.randn(2, 3, 16, 16)).square().mean().backward()
        grads.append([block.norm2.shared.weight.grad for block in net.blocks])
    assert all(g.abs().sum() > 0 for g in grads[1])
    for first, second in zip(*grads, strict=True):
        torch.testing.assert_close(first, second)


def test_enhancers_and_from_global_carry_the_blocks_modulation():
    grown = LocalEnhancer.from_global(_global(True), num_blocks_local=1)
    assert grown.label_modulation_blocks
    assert grown.stages[0].blocks[0].modulated
    assert grown(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    stage = EnhancerStage(
        3, 4, num_blocks=1, out_channels=3, label_modulation=4, label_modulation_blocks=True
    )
    assert stage.blocks_modulated
    _randomise_blocks(stage)
    image, coarser = torch.randn(1, 3, 16, 16), torch.randn(1, 8, 8, 8)
    assert (stage(image, coarser) - stage(-image, coarser)).abs().amax() > 0
    none = EnhancerStage(3, 4, num_blocks=0, label_modulation=4, label_modulation_blocks=True)
    assert not none.blocks_modulated
    assert none(image, coarser).shape == (1, 4, 16, 16)


@pytest.mark.parametrize(
    "build",
    [
        lambda flag, hidden: _global(flag, hidden),
        lambda flag, hidden: tiny_local_enhancer(
            label_modulation=hidden, label_modulation_blocks=flag
        ),
        lambda flag, hidden: EnhancerStage(
            3, 4, label_modulation=hidden, label_modulation_blocks=flag
        ),
        lambda flag, hidden: GeneratorConfig(label_modulation=hidden, label_modulation_blocks=flag),
    ],
)
def test_blocks_modulation_needs_a_bool_and_label_modulation(build):
    with pytest.raises(TypeError, match="label_modulation_blocks must be a bool, got int 1"):
        build(1, 8)
    with pytest.raises(
        ValueError, match=r"label_modulation_blocks=True .* but .*label_modulation=0"
    ):
        build(True, 0)


def test_generator_config_round_trip_old_configs_and_a_training_step():
    generator = GeneratorConfig(label_modulation=8, label_modulation_blocks=True)
    config = TrainingConfig(num_classes=3, generator=generator)
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert config.architecture()["generator"]["label_modulation_blocks"] is True
    # A checkpoint written before the field existed was trained without it.
    old = TrainingConfig(num_classes=3, generator=GeneratorConfig(label_modulation=8)).to_dict()
    del old["generator"]["label_modulation_blocks"]
    assert architecture_of(old)["generator"]["label_modulation_blocks"] is False
    config = tiny_config()
    fields = {**config.generator.to_dict(), "label_modulation": 8, "label_modulation_blocks": True}
    config = TrainingConfig.from_dict({**config.to_dict(), "generator": fields})
    with one_thread():
        training = build_training(config)
        affine = training.models.generator.blocks[0].norm2.affine
        before = affine.weight.detach().clone()
        losses = training.step(batch_of(SyntheticScenes(2, size=SIZE, seed=3), [0]))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert not torch.equal(before, affine.weight.detach())
