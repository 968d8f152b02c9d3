"""Generators and discriminators: how to build them from original options and map their keys."""

from __future__ import annotations

from collections.abc import Collection

from torch import nn

from ...discriminators.multiscale import MultiscaleDiscriminator
from ...discriminators.nlayer import NLayerDiscriminator
from ...generators.global_generator import GlobalGenerator
from ...generators.local_enhancer import LocalEnhancer
from ...layers.resnet_block import ResnetBlock
from ._options import check_width
from ._registry import Options, option, register_key_map, register_kind

# Defaults of the original's options (options/base_options.py, train_options.py).
DEFAULTS = {
    "input_nc": 3,
    "output_nc": 3,
    "ngf": 64,
    "n_downsample_global": 4,
    "n_blocks_global": 9,
    "n_local_enhancers": 1,
    "n_blocks_local": 3,
    "norm": "instance",
    "padding_type": "reflect",
    "ndf": 64,
    "n_layers_D": 3,
    "num_D": 2,
    "no_lsgan": False,
    "no_ganFeat_loss": False,
}


def _get(options: Options, name: str):
    return option(options, name, DEFAULTS[name])


@register_kind("global_generator")
def build_global_generator(options: Options) -> GlobalGenerator:
    check_width(
        ("ngf", _get(options, "ngf")), ("n_downsample_global", _get(options, "n_downsample_global"))
    )
    return GlobalGenerator(
        _get(options, "input_nc"),
        _get(options, "output_nc"),
        base_channels=_get(options, "ngf"),
        num_downsamples=_get(options, "n_downsample_global"),
        num_blocks=_get(options, "n_blocks_global"),
        norm=_get(options, "norm"),
        padding=_get(options, "padding_type"),
    )


@register_kind("local_enhancer")
def build_local_enhancer(options: Options) -> LocalEnhancer:
    check_width(
        ("ngf", _get(options, "ngf")),
        ("n_local_enhancers", _get(options, "n_local_enhancers")),
        ("n_downsample_global", _get(options, "n_downsample_global")),
    )
    return LocalEnhancer(
        _get(options, "input_nc"),
        _get(options, "output_nc"),
        base_channels=_get(options, "ngf"),
        num_enhancers=_get(options, "n_local_enhancers"),
        num_blocks_local=_get(options, "n_blocks_local"),
        num_downsamples_global=_get(options, "n_downsample_global"),
        num_blocks_global=_get(options, "n_blocks_global"),
        norm=_get(options, "norm"),
        padding=_get(options, "padding_type"),
        global_padding="reflect",
    )


def _discriminator_options(options: Options) -> dict:
    # The model derives these from --no_lsgan and --no_ganFeat_loss; constructor names win.
    use_sigmoid = option(options, "use_sigmoid", _get(options, "no_lsgan"))
    interm = option(options, "getIntermFeat", not _get(options, "no_ganFeat_loss"))
    return {
        "base_channels": _get(options, "ndf"),
        "num_layers": _get(options, "n_layers_D"),
        "norm": _get(options, "norm"),
        # Quirk of the original: with getIntermFeat its sigmoid block is never applied.
        "use_sigmoid": bool(use_sigmoid) and not interm,
        "return_features": bool(interm),
    }


@register_kind("nlayer_discriminator")
def build_nlayer_discriminator(options: Options) -> NLayerDiscriminator:
    return NLayerDiscriminator(_get(options, "input_nc"), **_discriminator_options(options))


@register_kind("multiscale_discriminator")
def build_multiscale_discriminator(options: Options) -> MultiscaleDiscriminator:
    return MultiscaleDiscriminator(
        _get(options, "input_nc"),
        num_scales=_get(options, "num_D"),
        **_discriminator_options(options),
    )


# ---------------------------------------------------------------------------------------------
# Key maps: our sub-module path -> the original's sub-module path.


def conv_norm_map(ours: str, original: str, index: int) -> dict[str, str]:
    """A ``conv_norm_act`` group whose conv sits at ``original.index`` and norm right after."""
    return {f"{ours}.conv": f"{original}.{index}", f"{ours}.norm": f"{original}.{index + 1}"}


def resnet_block_map(block: ResnetBlock, ours: str, original: str) -> dict[str, str]:
    # Reflect/replicate blocks hold a padding module before each conv; zero padding does not.
    conv1, norm1, conv2, norm2 = (
        (1, 2, 5, 6) if block.conv1.padding_mode != "zeros" else (0, 1, 3, 4)
    )
    prefix = f"{original}.conv_block"
    return {
        f"{ours}.conv1": f"{prefix}.{conv1}",
        f"{ours}.norm1": f"{prefix}.{norm1}",
        f"{ours}.conv2": f"{prefix}.{conv2}",
        f"{ours}.norm2": f"{prefix}.{norm2}",
    }


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def global_generator_map(net: nn.Module, ours: str = "", original: str = "model") -> dict[str, str]:
    """The original's ``model`` Sequential behind a stem, downsamplings, residual blocks,
    upsamplings and a head: ``GlobalGenerator``, and the feature encoder, which is the same
    layout without residual blocks."""
    blocks = getattr(net, "blocks", ())
    d, num_blocks = len(net.downsamples), len(blocks)
    mapping = conv_norm_map(_join(ours, "stem"), original, 1)
    for i in range(d):
        mapping.update(conv_norm_map(_join(ours, f"downsamples.{i}"), original, 4 + 3 * i))
    for b, block in enumerate(blocks):
        block_path = f"{original}.{4 + 3 * d + b}"
        mapping.update(resnet_block_map(block, _join(ours, f"blocks.{b}"), block_path))
    for i in range(d):
        index = 4 + 3 * d + num_blocks + 3 * i
        mapping.update(conv_norm_map(_join(ours, f"upsamples.{i}"), original, index))
    if net.head is not None:
        mapping[_join(ours, "head.conv")] = f"{original}.{5 + 6 * d + num_blocks}"
    return mapping


@register_key_map(GlobalGenerator)
def _global_generator_keys(net: GlobalGenerator, _: Collection[str] | None) -> dict[str, str]:
    return global_generator_map(net)


@register_key_map(LocalEnhancer)
def _local_enhancer_keys(net: LocalEnhancer, _: Collection[str] | None) -> dict[str, str]:
    mapping = global_generator_map(net.global_generator, "global_generator", "model")
    for k, stage in enumerate(net.stages):
        front, back = f"model{k + 1}_1", f"model{k + 1}_2"
        mapping.update(conv_norm_map(f"stages.{k}.front.0", front, 1))
        mapping.update(conv_norm_map(f"stages.{k}.front.1", front, 4))
        num_blocks = len(stage.blocks)
        for b, block in enumerate(stage.blocks):
            mapping.update(resnet_block_map(block, f"stages.{k}.blocks.{b}", f"{back}.{b}"))
        mapping.update(conv_norm_map(f"stages.{k}.up", back, num_blocks))
        if stage.head is not None:
            mapping[f"stages.{k}.head.conv"] = f"{back}.{num_blocks + 4}"
    return mapping


def nlayer_map(net: NLayerDiscriminator, ours: str, interm: bool, original: str) -> dict[str, str]:
    """``original`` is the name of the Sequential (flat layout) or the block prefix (interm)."""
    mapping = {}
    last = len(net.layers) - 1
    for j in range(len(net.layers)):
        if interm:
            index, block = 0, f"{original}{j}"
        else:
            index, block = (0 if j == 0 else 2 + 3 * (j - 1)), original
        mapping.update(conv_norm_map(_join(ours, f"layers.{j}"), block, index))
        if j in (0, last):
            del mapping[_join(ours, f"layers.{j}.norm")]
    return mapping


def _is_interm(net: nn.Module, original_keys: Collection[str] | None, marker: str) -> bool:
    if original_keys is None:
        return net.return_features
    return any(key.startswith(marker) for key in original_keys)


@register_key_map(NLayerDiscriminator)
def _nlayer_keys(net: NLayerDiscriminator, original_keys: Collection[str] | None) -> dict[str, str]:
    interm = _is_interm(net, original_keys, "model0.")
    return nlayer_map(net, "", interm, "model")


@register_key_map(MultiscaleDiscriminator)
def _multiscale_keys(
    net: MultiscaleDiscriminator, original_keys: Collection[str] | None
) -> dict[str, str]:
    interm = _is_interm(net, original_keys, "scale0_layer0.")
    mapping = {}
    num_scales = len(net.scales)
    for k, scale in enumerate(net.scales):
        i = num_scales - 1 - k  # the original lists scales coarsest first
        original = f"scale{i}_layer" if interm else f"layer{i}"
        mapping.update(nlayer_map(scale, f"scales.{k}", interm, original))
    return mapping
