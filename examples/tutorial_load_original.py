"""Tutorial: load a checkpoint trained with the original pix2pixHD code and generate with it.

    python examples/tutorial_load_original.py --output runs/original
    python examples/tutorial_load_original.py --output runs/original \\
        --experiment checkpoints/label2city_1024p --label-nc 35

An original experiment folder holds ``opt.txt`` (the options of ``train.py``) and
``<epoch>_net_G.pth`` (plus ``_net_D.pth`` and ``_net_E.pth``). Without ``--experiment`` this
script first writes a tiny fake one, offline: an ``opt.txt`` in the original's format and a
``latest_net_G.pth`` in the original's key layout (``model.1.weight``, ...), made with
``to_original_state_dict``. It then loads the folder with ``load_experiment`` and generates
``generated.png`` for a synthetic label map (``label.png``) under ``--output``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgan_blocks import Synthesizer
from condgan_blocks.compat import pix2pixhd
from condgan_blocks.data import SyntheticScenes

# The options of a small "netG local" run, as the original's train.py prints them to opt.txt.
TINY_OPTIONS = {
    "name": "label2city_tiny",
    "label_nc": 7,
    "output_nc": 3,
    "netG": "local",
    "ngf": 8,
    "n_downsample_global": 2,
    "n_blocks_global": 1,
    "n_local_enhancers": 1,
    "n_blocks_local": 1,
    "norm": "instance",
    "no_instance": False,
    "instance_feat": False,
    "label_feat": False,
    "feat_num": 3,
    "fineSize": 512,
    "resize_or_crop": "scale_width",
}


def write_fake_experiment(folder: Path, options: dict, seed: int = 0) -> torch.nn.Module:
    """An original-style experiment folder: opt.txt and latest_net_G.pth. Returns the network."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["------------ Options -------------"]
    lines += [f"{name}: {value}" for name, value in sorted(options.items())]
    lines += ["-------------- End ----------------"]
    (folder / "opt.txt").write_text("\n".join(lines) + "\n")
    torch.manual_seed(seed)
    input_nc = options["label_nc"] + (0 if options["no_instance"] else 1)
    kind = "local_enhancer" if options["netG"] == "local" else "global_generator"
    net = pix2pixhd.build(kind, {**options, "input_nc": input_nc})
    # Stored exactly as the original's save_network() stores it: a plain state_dict.
    torch.save(pix2pixhd.to_original_state_dict(net), folder / "latest_net_G.pth")
    return net.eval()


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write a (3, H, W) image in [-1, 1] as an 8-bit PNG."""
    array = ((image.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def main(argv: list[str] | None = None) -> torch.Tensor:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--experiment", type=Path, help="an original experiment folder")
    parser.add_argument("--which-epoch", default="latest")
    parser.add_argument("--size", type=int, default=32, help="height; the width is twice that")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)

    written = None
    if args.experiment is None:
        args.experiment = args.output / "label2city_tiny"
        written = write_fake_experiment(args.experiment, TINY_OPTIONS)
        print(f"wrote a fake original experiment to {args.experiment}")

    experiment = pix2pixhd.load_experiment(args.experiment, args.which_epoch)
    options, generator = experiment.options, experiment.generator
    print(f"loaded {type(generator).__name__} from {experiment.files['G']} (eval mode)")

    # The generator's input, built as the original does: one-hot labels, then the instance
    # boundary map unless --no_instance; the Synthesizer builds it, pads the maps to the
    # generator's size multiple and crops the image back. (A real Cityscapes model takes
    # label_nc=35 maps: use CityscapesDataset instead of the synthetic scenes.)
    label_nc = options["label_nc"]
    sample = SyntheticScenes(1, size=(args.size, 2 * args.size))[0]
    labels, instances = sample["label"][None], sample["instance"][None]
    if int(labels.max()) >= label_nc:
        raise ValueError(f"the synthetic scenes use 7 classes; this model has label_nc={label_nc}")
    use_instances = not options.get("no_instance", False)
    image = Synthesizer(generator, label_nc, use_instances=use_instances)(labels, instances)
    if written is not None:  # same weights, same outputs
        expected = Synthesizer(written, label_nc, use_instances=use_instances)(labels, instances)
        torch.testing.assert_close(image, expected)
        print("the loaded generator reproduces the saved network's output")
    label_rgb = SyntheticScenes.colorize(sample["label"]).float() / 127.5 - 1
    save_png(label_rgb, args.output / "label.png")
    save_png(image[0], args.output / "generated.png")
    print(f"wrote label.png and generated.png to {args.output}")
    return image


if __name__ == "__main__":
    main()
