"""The original pix2pixHD's train.py / test.py options as aliases of the recipe's flags:
``translate_command_line`` and what each option resolves to in ``train --print-config``."""

from __future__ import annotations

import json
import re

import pytest

from condgan_blocks.compat.pix2pixhd import translate_command_line
from condgan_blocks.compat.pix2pixhd._command_line import ORIGINAL_OPTIONS

from .._recipe_helpers import PRESETS_DIR, recipe_main
from ..conftest import REPO_ROOT


def _config(capsys, *argv: str) -> dict:
    """The configuration ``train ... --print-config`` prints (and returns)."""
    resolved = recipe_main(["train", *argv, "--print-config"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == resolved
    return printed


def _at(config: dict, dotted: str):
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


# (original options, {resolved config key: the value it must hold})
MAPPINGS = [
    (["--label_nc", "20"], {"training.num_classes": 20, "data.label_nc": 20}),
    (["--dataroot", "/data/city"], {"data.root": "/data/city"}),
    (["--loadSize", "512"], {"data.width": 512, "data.crop": None, "data.resize": None}),
    (["--resize_or_crop", "scale_width_and_crop", "--loadSize", "512", "--fineSize", "256"],
     {"data.width": 512, "data.crop": 256, "data.resize": None}),
    (["--resize_or_crop", "resize_and_crop", "--loadSize", "300", "--fineSize", "256"],
     {"data.width": None, "data.resize": [300, 300], "data.crop": 256}),
    (["--resize_or_crop", "crop", "--fineSize", "128"], {"data.width": None, "data.crop": 128}),
    (["--resize_or_crop", "none"], {"data.width": None, "data.crop": None, "data.resize": None}),
    (["--niter", "7", "--niter_decay", "3"],
     {"training.epochs": 7, "training.decay_epochs": 3}),
    (["--no_instance"], {"training.use_instances": False}),
    (["--instance_feat", "--feat_num", "5", "--nef", "8", "--n_downsample_E", "3"],
     {"training.encoder.feature_channels": 5, "training.encoder.base_channels": 8,
      "training.encoder.num_downsamples": 3}),
    (["--netG", "local", "--n_local_enhancers", "2", "--ngf", "16", "--niter_fix_global", "5"],
     {"training.stage": "local", "training.generator.num_enhancers": 2,
      "training.generator.base_channels": 64, "training.generator.local_base_channels": 16,
      "training.freeze_global_epochs": 5}),
    (["--ngf", "32", "--n_downsample_global", "3", "--n_blocks_global", "6",
      "--n_blocks_local", "2"],
     {"training.generator.base_channels": 32, "training.generator.num_downsamples": 3,
      "training.generator.num_blocks": 6, "training.generator.num_blocks_local": 2}),
    (["--norm", "batch"],
     {"training.generator.norm": "batch", "training.discriminator.norm": "batch"}),
    (["--batchSize", "4"], {"training.batch_size": 4}),
    (["--no_flip"], {"data.flip": False}),
    (["--fp16", "--gpu_ids", "0"], {"training.precision": "fp16", "training.device": "cuda:0"}),
    (["--num_D", "3", "--n_layers_D", "4", "--ndf", "32"],
     {"training.discriminator.num_scales": 3, "training.discriminator.num_layers": 4,
      "training.discriminator.base_channels": 32}),
    (["--lr", "0.001", "--beta1", "0.9"],
     {"training.optimizer.lr": 0.001, "training.optimizer.beta1": 0.9}),
    (["--lambda_feat", "5", "--no_vgg_loss"],
     {"training.losses.feature_matching_weight": 5.0, "training.losses.vgg_weight": 0.0}),
    (["--no_ganFeat_loss", "--no_lsgan"],
     {"training.losses.feature_matching_weight": 0.0, "training.losses.gan_mode": "vanilla"}),
    (["--pool_size", "50"], {"training.pool_size": 50}),
    (["--nThreads", "4", "--serial_batches"],
     {"training.num_workers": 4, "training.shuffle": False}),
    (["--batchSize", "2", "--save_latest_freq", "8", "--print_freq", "6",
      "--display_freq", "10"],
     {"training.save_every_steps": 4, "training.log_every_steps": 3, "recipe.grid_every": 5}),
    (["--output_nc", "1"], {"training.image_channels": 1, "data.output_nc": 1}),
    (["--label_nc", "0", "--input_nc", "2", "--no_instance"],
     {"training.num_classes": 0, "training.input_channels": 2, "data.input_nc": 2}),
    (["--n_clusters", "7"], {"recipe.n_clusters": 7}),
    (["--gpu_ids", "-1"], {"training.device": "cpu"}),
    (["--netG", "local", "--load_pretrain", "runs/stage1"],
     {"training.global_checkpoint": "runs/stage1/checkpoints/latest.pt"}),
    (["--netG", "local", "--load_pretrain", "runs/stage1", "--which_epoch", "3"],
     {"training.global_checkpoint": "runs/stage1/checkpoints/epoch_0003.pt"}),
]  # fmt: skip


@pytest.mark.parametrize(("options", "expected"), MAPPINGS, ids=lambda v: " ".join(v))
def test_each_original_option_sets_its_config_value(capsys, options, expected):
    device = [] if "--gpu_ids" in options else ["--device", "cpu"]
    config = _config(capsys, "--preset", "folder", *options, *device)
    assert {key: _at(config, key) for key in expected} == expected


def test_the_folder_preset_asked_by_name_keeps_its_offline_terms(capsys):
    config = _config(capsys, "--preset", "folder", "--device", "cpu")
    assert config["training"]["losses"]["l1_weight"] == 30.0
    assert config["training"]["losses"]["texture_weight"] == 10.0
    assert config["training"]["generator"]["condition_skips"] is True
    assert config["training"]["generator"]["label_modulation"] == 32


def test_options_left_out_keep_the_preset_values(capsys):
    preset = _config(capsys, "--preset", "cityscapes-global", "--device", "cpu")
    changed = _config(capsys, "--preset", "cityscapes-global", "--niter", "3", "--device", "cpu")
    assert changed["training"].pop("epochs") == 3
    assert preset["training"].pop("epochs") == 100
    assert changed == preset


def test_without_a_preset_train_behaves_as_the_original_train_py(capsys):
    config = _config(capsys, "--name", "label2city_512p", "--device", "cpu")
    assert config["preset"] == "folder"
    assert config["data"]["root"] == "./datasets/cityscapes/"
    assert (config["data"]["width"], config["data"]["crop"]) == (1024, None)  # scale_width 1024
    assert config["training"]["num_classes"] == config["data"]["label_nc"] == 35
    assert (config["training"]["epochs"], config["training"]["decay_epochs"]) == (100, 100)
    # the original's losses and generator: the folder preset's L1 and texture terms and its
    # skips of the condition are off, the rest as preset
    assert config["training"]["losses"] == {
        "l1_weight": 0.0,
        "l1_class_balance": 0.0,
        "texture_weight": 0.0,
    }
    assert config["training"]["generator"] == {
        "condition_skips": False,
        "label_modulation": 0,
        "label_modulation_blocks": False,
    }
    argv = translate_command_line(["train", "--name", "label2city_512p"])
    assert argv[argv.index("--output") + 1] == "checkpoints/label2city_512p"


def test_print_config_writes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    _config(capsys, "--output", str(run), "--niter", "2", "--device", "cpu")
    assert not run.exists()


def test_name_and_checkpoints_dir_make_the_run_folder():
    argv = translate_command_line(["train", "--checkpoints_dir", "ckpt", "--name", "a", "--preset",
                                   "demo"])  # fmt: skip
    assert argv == ["train", "--output", "ckpt/a", "--preset", "demo"]
    argv = translate_command_line(["generate", "--checkpoints_dir", "ckpt", "--name", "a",
                                   "--dataroot", "data", "--how_many", "5", "--results_dir",
                                   "out", "--which_epoch", "latest", "--use_encoded_image",
                                   "--gpu_ids", "1", "--netG", "local", "--ngf", "32"])  # fmt: skip
    assert argv == ["generate", "--run", "ckpt/a", "--device", "cuda:1", "--folder", "data",
                    "--num", "5", "--output", "out/a/test_latest", "--features",
                    "encode"]  # fmt: skip


def test_which_epoch_picks_the_checkpoint_of_generate():
    argv = translate_command_line(["generate", "--name", "a", "--which_epoch", "10"])
    assert argv[argv.index("--epoch") + 1] == "10"
    assert "--epoch" not in translate_command_line(["generate", "--name", "a"])
    with pytest.raises(ValueError, match="--which_epoch must be 'latest' or an epoch number"):
        translate_command_line(["generate", "--name", "a", "--which_epoch", "best"])


def test_generate_keeps_the_recipe_phase_flag():
    native = ["generate", "--run", "r", "--folder", "f", "--phase", "val"]
    assert translate_command_line(native) == native
    argv = translate_command_line(["generate", "--name", "a", "--phase", "val", "--results_dir",
                                   "out"])  # fmt: skip
    assert argv[-2:] == ["--phase", "val"]
    assert argv[argv.index("--output") + 1] == "out/a/val_latest"


def test_continue_train_resumes_without_preset_defaults():
    argv = translate_command_line(["train", "--name", "a", "--continue_train", "--niter", "5"])
    assert argv == ["train", "--output", "checkpoints/a", "--epochs", "5", "--resume"]


def test_other_subcommands_take_the_run_folder():
    argv = translate_command_line(["encode-features", "--name", "a", "--n_clusters", "4",
                                   "--instance_feat"])  # fmt: skip
    assert argv == ["encode-features", "--run", "checkpoints/a", "--n-clusters", "4"]
    assert translate_command_line(["evaluate", "--name", "a", "--num", "2"]) == [
        "evaluate", "--run", "checkpoints/a", "--num", "2"
    ]  # fmt: skip


def test_command_lines_without_original_options_are_unchanged():
    for argv in (["train", "--epochs", "5", "--set", "data.width=512"], ["demo", "--smoke"],
                 ["generate", "--run", "r", "--onnx", "g.onnx"], ["--help"], []):  # fmt: skip
        assert translate_command_line(argv) == argv


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--niter_decays", "2"],
         r"unknown pix2pixHD option --niter_decays \(did you mean --niter_decay\?\)"),
        (["train", "--zz_top", "2"], r"unknown pix2pixHD option --zz_top; .*train --help"),
        (["generate", "--niter", "3"], r"--niter: not an option of the original's test\.py"),
        (["train", "--how_many", "3"], r"--how_many: not an option of the original's train\.py"),
        (["train", "--label_feat"], r"--label_feat is not supported: .*use --instance_feat"),
        (["generate", "--cluster_path", "f.npy"], r"feature_bank\.npz"),
        (["train", "--resize_or_crop", "scale_height"],
         r"--resize_or_crop 'scale_height' is not supported: the original's modes are "
         r"resize_and_crop, scale_width, scale_width_and_crop, crop, none"),
        (["generate", "--name", "a", "--resize_or_crop", "scale_width"],
         r"not supported by generate: it synthesises at the size of the label maps"),
        (["generate", "--name", "a", "--loadSize", "512"], r"generate does not resize"),
        (["train", "--continue_train", "--which_epoch", "5"],
         r"--which_epoch 5: .*checkpoints/latest\.pt; to use epoch 5, copy the run folder"),
        (["train", "--gpu_ids", "0,1"], r"torchrun --nproc_per_node=2"),
        (["train", "--niter", "abc"], r"--niter needs an int value, got 'abc'"),
        (["train", "--ngf", "0"], r"--ngf must be in \[1, 65536\], got 0"),
        (["train", "--netG", "huge"], r"--netG must be one of \('global', 'local'\)"),
        (["train", "--name", "a", "--output", "b"], r"the run folder is given twice"),
        (["train", "--no_flip=1"], r"--no_flip is a switch and takes no value"),
        (["train", "--niter"], r"--niter needs a value \(int\)"),
        (["train", "--data_type", "16"], r"--data_type 16 is not supported: .*use --fp16"),
        (["train", "--netG", "global", "--load_pretrain", "x"],
         r"--load_pretrain with --netG global: .*use --continue_train"),
        (["evaluate", "--name", "a", "--dataroot", "d"], r"evaluate does not take --dataroot"),
    ],
)  # fmt: skip
def test_bad_original_options_say_what_to_use_instead(argv, message):
    with pytest.raises(ValueError, match=message):
        translate_command_line(argv)


def test_options_without_effect_are_named_in_one_warning():
    with pytest.warns(UserWarning, match=r"--tf_log \(TensorBoard.*--save_epoch_freq \(a chec"):
        argv = translate_command_line(["train", "--preset", "demo", "--tf_log",
                                       "--save_epoch_freq", "5"])  # fmt: skip
    assert argv == ["train", "--preset", "demo"]


def test_argv_must_be_strings():
    with pytest.raises(TypeError, match="argv must be a sequence of str, got str"):
        translate_command_line("train --niter 5")
    with pytest.raises(TypeError, match="argv must hold only str, got int 5"):
        translate_command_line(["train", "--niter", 5])


def test_the_recipe_reports_translation_errors_as_usage_errors(capsys):
    with pytest.raises(SystemExit, match=r"pix2pixhd\.py: error: unknown pix2pixHD option"):
        recipe_main(["train", "--n_local_enhancer", "2", "--print-config"])
    assert capsys.readouterr().out == ""


def test_train_help_shows_each_preset_value_instead_of_none(capsys, monkeypatch):
    names = sorted(path.stem for path in PRESETS_DIR.glob("*.json"))
    epochs = {
        name: _config(capsys, "--preset", name, "--device", "cpu")["training"]["epochs"]
        for name in names
    }
    monkeypatch.setenv("COLUMNS", "1000")  # no line wrapping
    with pytest.raises(SystemExit):
        recipe_main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text
    assert f"--preset {{{','.join(names)}}}" in text  # the preset files are the choices
    shown = re.search(r"--epochs EPOCHS epochs at the initial learning rate \(presets: ([^)]*)\)",
                      text)  # fmt: skip
    assert shown is not None, text
    assert shown.group(1) == ", ".join(f"{name}: {epochs[name]}" for name in sorted(epochs))
    assert "--fake-pool FAKE_POOL fake-image pool size for D (0: off) (every preset: 0)" in text


def test_migration_page_lists_every_original_option():
    page = (REPO_ROOT / "docs" / "migration.md").read_text()
    missing = [name for name in ORIGINAL_OPTIONS if f"`--{name}" not in page]
    assert not missing, f"docs/migration.md does not mention {missing}"
