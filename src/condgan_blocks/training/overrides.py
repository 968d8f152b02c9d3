"""Settings from the command line and from JSON files: ``key.path=value`` overrides of nested
dicts, merging, and checked config files.

A resolved configuration is a dict of sections, for example ``{"training": {...}, "data":
{...}}``. An override names one value by its dotted path (``training.generator.num_blocks=6``);
its value is read as JSON when it parses (numbers, ``true``/``false``/``null``, lists, objects)
and kept as a string otherwise. A section may come with a schema, a dataclass such as
[`TrainingConfig`][condgan_blocks.training.TrainingConfig]: keys under it must then be fields of
that dataclass (or of its nested section dataclasses), and an unknown key is a ``ValueError``
that names the valid ones.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._files.json_file import read_json_object

Override = tuple[tuple[str, ...], Any]


def parse_override(text: str) -> Override:
    """Split ``"KEY.PATH=VALUE"`` into the key path and the value.

    The value is read as JSON when it parses (``3``, ``0.5``, ``true``, ``null``, ``[1, 2]``)
    and kept as the raw string otherwise (``cpu``, ``runs/a``).

    Args:
        text: The override, e.g. ``"generator.num_blocks=6"``.

    Returns:
        ``(path, value)``: the key path as a tuple of names and the parsed value.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: There is no ``=`` or the key has an empty part.

    Examples:
        >>> parse_override("training.generator.num_blocks=6")
        (('training', 'generator', 'num_blocks'), 6)
        >>> parse_override("training.device=cuda:1")
        (('training', 'device'), 'cuda:1')
        >>> parse_override("data.size=[32, 64]")
        (('data', 'size'), [32, 64])
        >>> parse_override("epochs")
        Traceback (most recent call last):
        ...
        ValueError: an override needs KEY=VALUE (e.g. epochs=10), got 'epochs'
    """
    if not isinstance(text, str):
        raise TypeError(f"an override must be a KEY=VALUE string, got {type(text).__name__}")
    if "=" not in text:
        raise ValueError(f"an override needs KEY=VALUE (e.g. epochs=10), got {text!r}")
    key, raw = text.split("=", 1)
    path = tuple(part.strip() for part in key.split("."))
    if not all(path):
        raise ValueError(
            f"the key of override {text!r} has an empty part; expected names joined by '.', "
            "e.g. generator.num_blocks=6"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return path, value


def _as_override(override: str | Override) -> Override:
    if isinstance(override, str):
        return parse_override(override)
    if not (isinstance(override, (tuple, list)) and len(override) == 2):
        raise TypeError(
            f"an override must be a KEY=VALUE string or a (path, value) pair, got {override!r}"
        )
    path, value = override
    if isinstance(path, str):
        path = tuple(path.split("."))
    path = tuple(path)
    if not path or not all(isinstance(part, str) and part for part in path):
        raise ValueError(f"an override path must be non-empty names, got {path!r}")
    return path, value


def _section_type(annotation: Any) -> type | None:
    """The dataclass in ``annotation`` (``EncoderConfig | None`` -> ``EncoderConfig``)."""
    if dataclasses.is_dataclass(annotation):
        return annotation
    for argument in typing.get_args(annotation):
        if dataclasses.is_dataclass(argument):
            return argument
    return None


def check_config_key(schema: type, path: Sequence[str]) -> None:
    """Check that ``path`` names a field of the dataclass ``schema`` (nested sections too).

    Args:
        schema: A dataclass type whose fields may themselves be dataclasses (or optional ones),
            such as [`TrainingConfig`][condgan_blocks.training.TrainingConfig].
        path: The key path below ``schema``, e.g. ``("generator", "num_blocks")``.

    Raises:
        ValueError: A key is not a field (the message lists the valid ones), or the path goes
            on below a plain value.

    Examples:
        >>> from condgan_blocks.training import TrainingConfig
        >>> check_config_key(TrainingConfig, ("generator", "num_blocks"))
        >>> check_config_key(TrainingConfig, ("encoder", "channels"))
        Traceback (most recent call last):
        ...
        ValueError: unknown config key 'encoder.channels'; valid keys in 'encoder': \
['base_channels', 'feature_channels', 'norm', 'num_downsamples']
    """
    node: type | None = schema
    for depth, part in enumerate(path):
        done = ".".join(path[:depth])
        if node is None:
            raise ValueError(
                f"config key {'.'.join(path)!r} goes below {done!r}, which is a value, not a "
                "section"
            )
        names = [f.name for f in dataclasses.fields(node)]
        if part not in names:
            where = f" in {done!r}" if done else ""
            raise ValueError(
                f"unknown config key {'.'.join(path[: depth + 1])!r}; valid keys{where}: "
                f"{sorted(names)}"
            )
        node = _section_type(typing.get_type_hints(node)[part])


def get_nested(values: Mapping[str, Any], path: Sequence[str], default: Any = None) -> Any:
    """The value at ``path`` in nested dicts, or ``default`` where the path does not exist.

    Examples:
        >>> config = {"training": {"generator": {"num_blocks": 9}}}
        >>> get_nested(config, ("training", "generator", "num_blocks"))
        9
        >>> get_nested(config, ("training", "encoder", "base_channels"), "unset")
        'unset'
    """
    node: Any = values
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def merge_nested(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, nested dicts key by key (a new dict; the inputs are
    not changed).

    Examples:
        >>> merge_nested({"a": {"x": 1, "y": 2}, "b": 3}, {"a": {"y": 5}, "c": 4})
        {'a': {'x': 1, 'y': 5}, 'b': 3, 'c': 4}
    """
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_nested(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(
    values: Mapping[str, Any],
    overrides: Iterable[str | Override],
    *,
    schemas: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    """``values`` with every override applied, in order (a new dict).

    The first key of each path must already be a key of ``values`` (a section: a typo makes no
    new one). Below a section with a schema, every key must be a field of the schema; below
    other sections new keys are created as needed. An override may not go below a plain value.

    Args:
        values: The nested configuration.
        overrides: ``"KEY.PATH=VALUE"`` strings (see
            [`parse_override`][condgan_blocks.training.parse_override]) or ``(path, value)``
            pairs.
        schemas: Dataclass types of sections by name, e.g. ``{"training": TrainingConfig}``.

    Returns:
        A new dict; ``values`` is not changed.

    Raises:
        ValueError: An unknown section or key (the message lists the valid ones), or a path
            below a plain value.

    Examples:
        >>> from condgan_blocks.training import TrainingConfig
        >>> config = {"training": {"num_classes": 7}, "data": {"kind": "synthetic"}}
        >>> new = apply_overrides(config, ["training.epochs=3", "data.size=[32, 64]"],
        ...                       schemas={"training": TrainingConfig})
        >>> new["training"], new["data"]["size"], config["training"]
        ({'num_classes': 7, 'epochs': 3}, [32, 64], {'num_classes': 7})
        >>> apply_overrides(config, ["trainig.epochs=3"])
        Traceback (most recent call last):
        ...
        ValueError: unknown section 'trainig' in override trainig.epochs; valid sections: \
['data', 'training']
    """
    out = copy.deepcopy(dict(values))
    for override in overrides:
        path, value = _as_override(override)
        key = ".".join(path)
        if path[0] not in out:
            raise ValueError(
                f"unknown section {path[0]!r} in override {key}; valid sections: {sorted(out)}"
            )
        if schemas and path[0] in schemas:
            try:
                check_config_key(schemas[path[0]], path[1:])
            except ValueError as error:
                raise ValueError(f"override {key}: {error}") from None
        node = out
        for depth, part in enumerate(path[:-1]):
            if node.get(part) is None:
                node[part] = {}
            elif not isinstance(node[part], dict):
                below = ".".join(path[: depth + 1])
                raise ValueError(
                    f"override {key} goes below {below}, which is the value {node[part]!r}, "
                    "not a section"
                )
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)
    return out


def _leaf_paths(values: Mapping[str, Any], prefix: tuple[str, ...] = ()):
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def read_config_file(
    path: str | os.PathLike,
    *,
    sections: Iterable[str] | None = None,
    schemas: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    """Read a JSON configuration file of sections and check its keys.

    Args:
        path: The JSON file: one object whose keys are sections.
        sections: The keys allowed at the top level; None allows any.
        schemas: Dataclass types of sections by name: the keys inside such a section must be
            fields of the dataclass (values are checked later, when the dataclass is built).

    Returns:
        The parsed dict.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: The file is not valid JSON, or has an unknown key (the message names the
            file, the key and the valid keys).
        TypeError: The file holds something other than a JSON object.

    Examples:
        >>> import json, tempfile
        >>> from condgan_blocks.training import TrainingConfig
        >>> path = Path(tempfile.mkdtemp()) / "preset.json"
        >>> _ = path.write_text(json.dumps({"training": {"num_classes": 7, "epochs": 2}}))
        >>> read_config_file(path, sections=["training", "data"],
        ...                  schemas={"training": TrainingConfig})
        {'training': {'num_classes': 7, 'epochs': 2}}
        >>> _ = path.write_text('{"training": {"epochs": 2,}}')
        >>> read_config_file(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../preset.json is not valid JSON: Expecting property name enclosed in \
double quotes at line 1, column 27
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (or is not a file)")
    values = read_json_object(
        path, "config file", holds="a JSON object of sections", wrong_type=TypeError
    )
    if sections is not None:
        allowed = sorted(sections)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}; valid keys: {allowed}")
    for name, schema in (schemas or {}).items():
        section = values.get(name)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise TypeError(f"{path}: {name!r} must be a JSON object, got {section!r}")
        for leaf in _leaf_paths(section):
            try:
                check_config_key(schema, leaf)
            except ValueError as error:
                raise ValueError(f"{path}: section {name!r}: {error}") from None
    return values
