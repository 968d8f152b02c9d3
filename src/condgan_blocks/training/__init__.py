"""Training engine for pix2pixHD: the fused step, two-stage schedule, exact resume, AMP, DDP, EMA.

Build a run from a [`TrainingConfig`][condgan_blocks.training.TrainingConfig] with
[`build_training`][condgan_blocks.training.build_training]; its ``step(batch)`` runs one G and one D
update and ``fit(dataset)`` runs the whole schedule with checkpoints.

    from condgan_blocks.training import TrainingConfig, build_training

    training = build_training(TrainingConfig(num_classes=35, output_dir="runs/global"))
    training.fit(dataset)
"""

from ..data.sampler import EpochSampler
from .checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from .config import (
    DiscriminatorConfig,
    EncoderConfig,
    GeneratorConfig,
    LossConfig,
    OptimizerConfig,
    TrainingConfig,
)
from .distributed import DistributedContext, init_distributed
from .ema import ExponentialMovingAverage
from .fake_pool import FakePool
from .inputs import StepInputs, condition_map, generator_input, prepare_batch
from .models import TrainingModels, build_models
from .monitor import TrainingMonitor
from .overrides import (
    apply_overrides,
    check_config_key,
    get_nested,
    merge_nested,
    parse_override,
    read_config_file,
)
from .precision import autocast_context, cpu_has_fast_bf16, make_grad_scaler, resolve_precision
from .preflight import dry_run, dry_run_size, format_dry_run
from .rng import capture_rng_state, restore_rng_state
from .run_config import (
    RESUME_SETTINGS,
    RUN_CHECKPOINTS,
    RUN_SECTIONS,
    RunConfigError,
    check_data_channels,
    read_run_config,
    resolve_device,
    resolve_run_config,
    run_config_value,
)
from .run_folder import (
    FEATURE_BANK_FILE,
    RUN_CONFIG_FILE,
    load_run,
    load_run_bank,
    load_run_config,
    run_training_config,
    save_run_config,
)
from .schedule import apply_generator_phase, generator_phase, lr_factor
from .state import FitResult, NonFiniteLossError, TrainingState
from .step import StepHooks, fused_step, naive_step
from .trainer import Training, build_training

__all__ = [
    "CheckpointError",
    "DiscriminatorConfig",
    "DistributedContext",
    "EncoderConfig",
    "EpochSampler",
    "ExponentialMovingAverage",
    "FEATURE_BANK_FILE",
    "FakePool",
    "FitResult",
    "GeneratorConfig",
    "LossConfig",
    "NonFiniteLossError",
    "OptimizerConfig",
    "RESUME_SETTINGS",
    "RUN_CHECKPOINTS",
    "RUN_CONFIG_FILE",
    "RUN_SECTIONS",
    "RunConfigError",
    "StepHooks",
    "StepInputs",
    "Training",
    "TrainingConfig",
    "TrainingModels",
    "TrainingMonitor",
    "TrainingState",
    "apply_generator_phase",
    "apply_overrides",
    "autocast_context",
    "build_models",
    "build_training",
    "capture_rng_state",
    "check_config_key",
    "check_data_channels",
    "condition_map",
    "cpu_has_fast_bf16",
    "dry_run",
    "dry_run_size",
    "format_dry_run",
    "fused_step",
    "generator_input",
    "generator_phase",
    "get_nested",
    "init_distributed",
    "latest_checkpoint",
    "load_checkpoint",
    "load_run",
    "load_run_bank",
    "load_run_config",
    "lr_factor",
    "make_grad_scaler",
    "merge_nested",
    "naive_step",
    "parse_override",
    "prepare_batch",
    "prune_checkpoints",
    "read_config_file",
    "read_run_config",
    "resolve_device",
    "resolve_precision",
    "resolve_run_config",
    "restore_rng_state",
    "run_config_value",
    "run_training_config",
    "save_checkpoint",
    "save_run_config",
]
