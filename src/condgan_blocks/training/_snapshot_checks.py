"""Check a whole training checkpoint against a run before anything of the run changes.

[`Training.load_state_dict`][condgan_blocks.training.Training.load_state_dict] loads state
dicts, optimizer states, the gradient scaler, random states and the fake pool one after the
other; a record that only fails while loading would leave the run half restored. So every record is
checked here first: its kind, the keys and shapes of the state dicts, the optimizer's parameter
groups and per-parameter state against the parameters they belong to, the random states (by
loading them into throwaway generators) and that every stored weight is finite. A problem
raises [`CheckpointError`][condgan_blocks.training.CheckpointError] naming the record.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from .checkpoint import CheckpointError, state_dict_differences
from .config import architecture_differences, architecture_of
from .state import TrainingState

if TYPE_CHECKING:
    from .trainer import Training

_SHOWN = 8


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "None"
    if isinstance(value, Real):
        return "number"
    if isinstance(value, Tensor):
        return "number" if value.ndim == 0 else "tensor"
    if isinstance(value, (list, tuple)):
        return "sequence"
    return type(value).__name__


def _compatible(ours: object, saved: object) -> bool:
    a, b = _kind(ours), _kind(saved)
    if {a, b} <= {"bool", "None"}:  # foreach/fused flags: None or a bool
        return True
    if a == "sequence" and b == "sequence":
        if len(ours) != len(saved):  # type: ignore[arg-type]
            return False
        pairs = zip(ours, saved, strict=True)  # type: ignore[call-overload]
        return all(_compatible(x, y) for x, y in pairs)
    if a == "number" and b == "number" and isinstance(saved, Real):
        return bool(np.isfinite(float(saved)))
    return a == b


def first_non_finite(tensors: Mapping[str, Tensor]) -> str | None:
    """The name of the first floating tensor holding a NaN or an infinity, else None.

    One fused norm over all of them and a single host synchronisation; the names are searched
    only when that norm is not finite (a finite tensor whose norm overflows is not reported).
    """
    floating = {k: v for k, v in tensors.items() if v.is_floating_point() and v.numel()}
    if not floating:
        return None
    with torch.no_grad():
        norms = torch._foreach_norm(list(floating.values()))
        if bool(torch.stack([n.float() for n in norms]).isfinite().all()):
            return None
        for name, value in floating.items():
            if not bool(torch.isfinite(value).all()):
                return name
    return None


class _Problems:
    def __init__(self, path: object) -> None:
        self.path = path
        self.lines: list[str] = []

    def fail(self, message: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {message}; the run was left unchanged")

    def add(self, line: str) -> None:
        self.lines.append(line)

    def raise_if_any(self) -> None:
        if self.lines:
            shown = self.lines[:_SHOWN]
            if len(self.lines) > _SHOWN:
                shown.append(f"... and {len(self.lines) - _SHOWN} more")
            raise CheckpointError(
                f"{self.path} does not fit this run: {'; '.join(shown)}; the run was left unchanged"
            )


def _entry(problems: _Problems, container: Mapping, key: str, where: str) -> Any:
    if key not in container:
        raise problems.fail(f"{where} has no {key!r} entry")
    return container[key]


def _dict(problems: _Problems, value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise problems.fail(f"{where} is a {type(value).__name__}, not a dict")
    return value


def _check_module_state(problems: _Problems, name: str, module, state: object) -> None:
    if not isinstance(state, dict):
        problems.add(f"{name}: a {type(state).__name__} instead of a state dict")
        return
    problems.lines += [f"{name}: {line}" for line in state_dict_differences(module, state)]
    ours = module.state_dict()
    for key, value in state.items():
        if (
            key in ours
            and isinstance(value, Tensor)
            and value.is_floating_point() != ours[key].is_floating_point()
        ):
            problems.add(f"{name}: {key!r} has dtype {value.dtype}, the model {ours[key].dtype}")
    bad = first_non_finite(
        {k: v for k, v in state.items() if isinstance(v, Tensor) and isinstance(k, str)}
    )
    if bad is not None:
        problems.add(
            f"{name}: {bad!r} holds NaN or infinite values (a checkpoint written after the "
            "weights diverged); resume from an earlier epoch_*.pt file"
        )


def _check_models(problems: _Problems, training: Training, models: dict) -> None:
    for name, module in training.models.networks().items():
        _check_module_state(problems, name, module, models.get(name))
    if training.ema is not None and models.get("ema") is not None:
        _check_module_state(problems, "ema", training.ema.module, models["ema"])


def _check_optimizer(problems: _Problems, name: str, optimizer, saved: object) -> None:
    where = f"{name} optimizer"
    if not isinstance(saved, dict):
        problems.add(f"{where}: a {type(saved).__name__} instead of a state dict")
        return
    groups, state = saved.get("param_groups"), saved.get("state")
    if not isinstance(groups, list):
        problems.add(f"{where}: param_groups is a {type(groups).__name__}, not a list")
        return
    if not isinstance(state, dict):
        problems.add(f"{where}: state is a {type(state).__name__}, not a dict")
        return
    ours = optimizer.param_groups
    if len(groups) != len(ours):
        problems.add(f"{where}: {len(groups)} parameter groups in the checkpoint, {len(ours)} here")
        return
    ids: list[int] = []
    for index, (group, our_group) in enumerate(zip(groups, ours, strict=True)):
        label = f"{where} group {index}"
        if not isinstance(group, dict):
            problems.add(f"{label}: a {type(group).__name__} instead of a dict")
            return
        params = group.get("params")
        if not isinstance(params, list) or any(
            isinstance(p, bool) or not isinstance(p, int) for p in params
        ):
            problems.add(f"{label}: 'params' must be a list of parameter ids, got {params!r:.60}")
            return
        if len(params) != len(our_group["params"]):
            problems.add(
                f"{label}: {len(params)} parameters in the checkpoint, "
                f"{len(our_group['params'])} here"
            )
            return
        ids += params
        for key, value in our_group.items():
            if key != "params" and key in group and not _compatible(value, group[key]):
                problems.add(f"{label}: {key!r} is {group[key]!r:.60}, expected like {value!r}")
    if len(set(ids)) != len(ids):
        problems.add(f"{where}: a parameter id appears twice in param_groups")
        return
    parameters = dict(
        zip(ids, itertools.chain.from_iterable(g["params"] for g in ours), strict=True)
    )
    moments: dict[str, Tensor] = {}
    for key, entry in state.items():
        if key not in parameters:
            problems.add(f"{where}: state for parameter id {key!r}, which no group holds")
            continue
        if not isinstance(entry, dict):
            problems.add(f"{where}: state of parameter {key} is a {type(entry).__name__}")
            continue
        shape = tuple(parameters[key].shape)
        for field, value in entry.items():
            if field == "step":
                if _kind(value) != "number":
                    problems.add(f"{where}: state[{key}]['step'] is {_describe(value)}")
                continue
            if not isinstance(value, Tensor) or not value.is_floating_point():
                problems.add(f"{where}: state[{key}][{field!r}] is {_describe(value)}")
            elif tuple(value.shape) != shape:
                problems.add(
                    f"{where}: state[{key}][{field!r}] has shape {tuple(value.shape)}, its "
                    f"parameter {shape}"
                )
            else:
                moments[f"state[{key}][{field!r}]"] = value
    bad = first_non_finite(moments)
    if bad is not None:
        problems.add(f"{where}: {bad} holds NaN or infinite values")


def _describe(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__} {value!r:.40}"


def _check_rng(problems: _Problems, state: object, where: str) -> None:
    """Load every random state into a throwaway generator: what restoring it would do."""
    if not isinstance(state, dict):
        problems.add(f"{where} is a {type(state).__name__}, not a dict")
        return
    missing = [key for key in ("torch", "cuda", "python", "numpy") if key not in state]
    if missing:
        problems.add(f"{where} misses {missing}")
        return
    try:
        value = state["torch"]
        if not isinstance(value, Tensor) or value.dtype != torch.uint8:
            raise TypeError(f"expected a uint8 tensor, got {_describe(value)}")
        torch.Generator().set_state(value.cpu())
    except (TypeError, ValueError, RuntimeError) as error:
        problems.add(f"{where}['torch'] is not a torch random state ({error})")
    cuda = state["cuda"]
    if cuda is not None:
        if not isinstance(cuda, Tensor) or cuda.dtype != torch.uint8 or cuda.ndim != 1:
            problems.add(f"{where}['cuda'] is {_describe(cuda)}, not a uint8 random state")
        elif torch.cuda.is_available():
            try:
                torch.Generator(device="cuda").set_state(cuda.cpu())
            except (TypeError, ValueError, RuntimeError) as error:
                problems.add(f"{where}['cuda'] is not a CUDA random state ({error})")
    try:
        python = state["python"]
        numbers = python["state"]
        if not isinstance(numbers, Tensor) or numbers.ndim != 1:
            raise TypeError(f"'state' is {_describe(numbers)}")
        gauss = python["gauss_next"]
        if gauss is not None and _kind(gauss) != "number":
            raise TypeError(f"'gauss_next' is {_describe(gauss)}")
        random.Random().setstate(
            (python["version"], tuple(int(v) for v in numbers.tolist()), gauss)
        )
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        problems.add(f"{where}['python'] is not a Python random state ({error!r:.80})")
    try:
        numpy = state["numpy"]
        keys = numpy["keys"]
        if not isinstance(keys, Tensor) or keys.ndim != 1 or keys.is_floating_point():
            raise TypeError(f"'keys' is {_describe(keys)}")
        if keys.numel() != 624:  # MT19937
            raise ValueError(f"'keys' holds {keys.numel()} words, MT19937 has 624")
        if int(keys.min()) < 0 or int(keys.max()) >= 2**32:
            raise ValueError("'keys' are not 32-bit words")
        for field, kinds in (("position", int), ("has_gauss", int), ("cached_gaussian", Real)):
            if isinstance(numpy[field], bool) or not isinstance(numpy[field], kinds):
                raise TypeError(f"{field!r} is {_describe(numpy[field])}")
        np.random.RandomState().set_state(
            (
                numpy["kind"],
                keys.numpy().astype(np.uint32),
                numpy["position"],
                numpy["has_gauss"],
                numpy["cached_gaussian"],
            )
        )
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        problems.add(f"{where}['numpy'] is not a numpy random state ({error!r:.80})")


def _check_fake_pool(problems: _Problems, training: Training, state: object, where: str) -> None:
    pool = training.fake_pool
    if pool is None or state is None:
        return
    if not isinstance(state, dict):
        problems.add(f"{where} is a {type(state).__name__}, not a dict")
        return
    if state.get("size") != pool.size:
        problems.add(f"{where} has size {state.get('size')!r}, this run's pool {pool.size}")
        return
    images = state.get("images")
    channels = training.config.discriminator_in_channels
    if not isinstance(images, list) or len(images) > pool.size:
        problems.add(f"{where}['images'] must be a list of at most {pool.size} tensors")
    else:
        for index, image in enumerate(images):
            if not (
                isinstance(image, Tensor) and image.ndim == 4 and image.shape[:2] == (1, channels)
            ):
                problems.add(
                    f"{where}['images'][{index}] is {_describe(image)}, expected "
                    f"(1, {channels}, H, W)"
                )
                break
    try:
        generator = state.get("generator")
        if not isinstance(generator, Tensor):
            raise TypeError(f"got {_describe(generator)}")
        torch.Generator().set_state(generator.cpu())
    except (TypeError, ValueError, RuntimeError) as error:
        problems.add(f"{where}['generator'] is not a torch random state ({error})")


def _check_scaler(problems: _Problems, training: Training, saved: object) -> None:
    if training.scaler is None or saved is None:
        return
    if not isinstance(saved, dict):
        problems.add(f"the scaler entry is a {type(saved).__name__}, not a dict")
        return
    ours = training.scaler.state_dict()
    for key, value in ours.items():
        if key not in saved or not _compatible(value, saved[key]):
            problems.add(f"scaler[{key!r}] is {saved.get(key, '<missing>')!r:.40}")


def check_snapshot(training: Training, checkpoint: dict[str, Any], path: object) -> TrainingState:
    """Raise a [`CheckpointError`][condgan_blocks.training.CheckpointError] naming what keeps
    ``checkpoint`` from loading into ``training``; changes nothing.

    Returns:
        The checkpoint's [`TrainingState`][condgan_blocks.training.TrainingState].
    """
    problems = _Problems(path)
    saved = _dict(problems, _entry(problems, checkpoint, "config", "the checkpoint"), "the config")
    differences = architecture_differences(architecture_of(saved), training.config.architecture())
    if differences:
        raise CheckpointError(
            f"{path} was trained with another architecture (checkpoint vs config): "
            + "; ".join(differences)
        )
    try:
        state = TrainingState.from_dict(checkpoint["state"])
    except (ValueError, TypeError) as error:
        raise problems.fail(str(error)) from None
    models = _dict(problems, checkpoint["models"], "the models entry")
    optimizers = _dict(problems, checkpoint["optimizers"], "the optimizers entry")
    _check_models(problems, training, models)
    for name, optimizer in (
        ("generator", training.models.optimizer_g),
        ("discriminator", training.models.optimizer_d),
    ):
        _check_optimizer(problems, name, optimizer, optimizers.get(name))
    _check_scaler(problems, training, checkpoint.get("scaler"))
    world_size, ranks = checkpoint.get("world_size"), checkpoint.get("ranks")
    if world_size is not None and (
        isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1
    ):
        problems.add(f"world_size is {world_size!r}, not an int >= 1")
    elif ranks is not None and not isinstance(ranks, list):
        problems.add(f"the ranks entry is a {type(ranks).__name__}, not a list")
    elif world_size == training.context.world_size and len(ranks or []) > training.context.rank:
        rank = training.context.rank
        entry = ranks[rank]
        if not isinstance(entry, dict):
            problems.add(f"ranks[{rank}] is a {type(entry).__name__}, not a dict")
        else:
            _check_rng(problems, entry.get("rng"), f"ranks[{rank}]['rng']")
            _check_fake_pool(
                problems, training, entry.get("fake_pool"), f"ranks[{rank}]['fake_pool']"
            )
    problems.raise_if_any()
    return state
