"""A tiny trained recipe run folder built with the library alone (no recipe script)."""

from __future__ import annotations

from pathlib import Path

from condgan_blocks import FeatureBank, Synthesizer
from condgan_blocks.data import dataset_from_settings, first_batches
from condgan_blocks.training import (
    FEATURE_BANK_FILE,
    RUN_CHECKPOINTS,
    build_training,
    resolve_run_config,
    run_training_config,
    save_run_config,
)

from ._training_helpers import one_thread

RUN_CONFIG = {
    "training": {
        "num_classes": 7,
        "generator": {"base_channels": 4, "num_downsamples": 2, "num_blocks": 1},
        "discriminator": {"base_channels": 4, "num_scales": 1, "num_layers": 2},
        "encoder": {"feature_channels": 3, "base_channels": 2, "num_downsamples": 2},
        "losses": {"vgg_weight": 0.0, "vgg_weights": None},
        "epochs": 1,
        "decay_epochs": 0,
        "batch_size": 2,
        "log_every_steps": 0,
        "device": "cpu",
    },
    "data": {"kind": "synthetic", "size": [32, 64], "num_train": 4, "num_val": 2},
    "recipe": {"grid_every": 0, "num_generate": 1},
    "preset": "tiny",
    "smoke": True,
}


def train_run_folder(run: Path, *, bank: bool = True) -> Path:
    """Train RUN_CONFIG into ``run`` for one epoch (2 steps); with ``bank``, also cluster the
    encoder's features into the run's feature bank, as encode-features does."""
    config = resolve_run_config(RUN_CONFIG)
    with one_thread():
        training = build_training(run_training_config(config, run))
        dataset = dataset_from_settings(config["data"], "train")
        training.fit(dataset)
        save_run_config(run, config)
        if bank:
            features = FeatureBank(3)
            synthesizer = Synthesizer.from_training(training)
            for batch in first_batches(dataset, len(dataset), 2):
                encoded = synthesizer.encode(batch["image"], batch["instance"])
                features.add(encoded, batch["instance"], batch["label"])
            features.fit(2, min_area=0.0)
            features.save(run / RUN_CHECKPOINTS / FEATURE_BANK_FILE)
    return run
