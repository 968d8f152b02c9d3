"""Refuse ``torch.export`` archives (``.pt2``) from which ``torch.export.load`` would run code.

``torch.export.load`` runs code from the file in several places: it unpickles (with
``weights_only=False``) the weights and constants that the JSON payload configs mark
``use_pickle``, ``opaque_obj_*`` constants (``pickle.loads``) and ``custom_obj_*`` ones; it
falls back to ``weights_only=False`` for embedded ``.pt`` files (sample inputs, legacy weights)
that ``weights_only=True`` refuses; it loads compiled AOTInductor libraries; it reads every
symbolic size (``expr_str``) with ``sympy.sympify``, which uses ``eval``; ``.module()`` compiles
the ``guards_code`` strings with ``exec``; and graph nodes call whatever attribute of ``torch``,
``operator`` or ``math`` their ``target`` names. ``check_program_archive`` refuses all of these
before torch reads the file; what it lets through is plain data (raw tensor bytes, JSON) and
operators registered in ``torch.ops``.
"""

from __future__ import annotations

import ast
import json
import math
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .archive import check_input_file, check_torch_bytes, check_zip, fail, is_pickle

_CODE_FOLDERS = ("data/aotinductor/", "data/executorch/", "data/mtia")
_PAYLOAD_CONFIG = re.compile(r"data/(weights|constants)/[^/]+_(weights|constants)_config\.json")
_PAYLOAD_PREFIX = {"weights": "weight_", "constants": "tensor_"}
_MODEL = re.compile(r"models/[^/]+\.json")
_NAME = r"(?!__)[A-Za-z_][A-Za-z0-9_]*"
_IDENTIFIER = re.compile(_NAME)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")
_OP_TARGET = re.compile(rf"torch\.ops\.({_NAME})\.{_NAME}(\.{_NAME})?")
_OPERATOR_NAMES = frozenset(
    ("abs", "add", "and_", "eq", "floordiv", "ge", "getitem", "gt", "invert", "le", "lshift",
     "lt", "mod", "mul", "ne", "neg", "not_", "or_", "pos", "pow", "rshift", "sub", "truediv",
     "xor")
)  # fmt: skip
_MATH_NAMES = frozenset(name for name in dir(math) if not name.startswith("_"))
# Names a sympy expression may call: sympy's own numbers and arithmetic (torch's classes too).
_SYMPY_NAMES = frozenset(
    ("Abs", "Add", "And", "BooleanFalse", "BooleanTrue", "Eq", "Equality", "ExprCondPair",
     "Float", "Ge", "GreaterThan", "Gt", "Half", "Infinity", "Integer", "Le", "LessThan", "Lt",
     "Max", "Min", "Mod", "Mul", "NaN", "Ne", "NegativeInfinity", "NegativeOne", "Not", "One",
     "Or", "Piecewise", "Pow", "Rational", "StrictGreaterThan", "StrictLessThan", "Symbol",
     "Unequality", "Zero", "ceiling", "false", "floor", "nan", "oo", "true", "zoo")
)  # fmt: skip
# max / min: torch writes stride guards such as ``max(1, L['x'].size()[3] // 2)``; their
# arguments are walked like the rest, so only arithmetic on sizes can reach them.
_GUARD_FUNCTIONS = frozenset(("IsNonOverlappingAndDenseIndicator", "max", "min"))
_GUARD_NAMES = frozenset(("L", "inf")) | _GUARD_FUNCTIONS
_GUARD_METHODS = frozenset(("size", "stride", "storage_offset"))
_MAX_EXPRESSION = 10_000
_ARITHMETIC = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
    ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)  # fmt: skip


def _torch_sympy_names() -> frozenset[str]:
    """The sympy classes of torch's symbolic shapes (FloorDiv, CeilDiv, IntInfinity, ...)."""
    import sympy
    from torch.utils._sympy import functions, numbers

    return frozenset(
        name
        for module in (functions, numbers)
        for name, value in vars(module).items()
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, sympy.Basic)
    )


def check_program_archive(path: object, what: str = "torch.export program") -> Path:
    """Refuse a ``.pt2`` archive from which ``torch.export.load`` or ``.module()`` would run code.

    Checks, in order: the file is a zip archive whose members pass their CRC32 check, with sane
    unique names, all in one top-level folder (as ``torch.export.save`` writes them); no ``.pkl``
    member and nothing under ``data/aotinductor/``, ``data/executorch/`` or ``data/mtia``; the
    weights and constants configs list only raw tensor payloads (``use_pickle`` false,
    ``weight_*`` or ``tensor_*`` members that exist); every embedded ``.pt`` file loads with
    ``weights_only=True``; no other member is a pickle stream; in every ``models/*.json`` graph,
    node targets are ``torch.ops`` operators (or symbolic-size arithmetic), symbolic sizes are
    sympy arithmetic on size symbols, and guards are arithmetic on the inputs' sizes.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: Naming the file and the member at fault.
    """
    path = check_input_file(path, what)
    members = check_zip(path, what)
    roots = {info.filename.split("/", 1)[0] for info in members}
    if len(roots) != 1 or any("/" not in info.filename for info in members):
        raise fail(
            path,
            what,
            f"its members lie in {sorted(roots)}; torch.export.save writes one top-level folder "
            "(older torch.export formats are not read)",
        )
    (root,) = roots
    names = {info.filename[len(root) + 1 :] for info in members}
    with zipfile.ZipFile(path) as archive:
        for name in sorted(names):
            member = f"{root}/{name}"
            if name.endswith(".pkl"):
                raise fail(path, what, f"member {member!r} is a pickle (.pkl)")
            if name.startswith(_CODE_FOLDERS):
                raise fail(path, what, f"member {member!r} is compiled code, not a program")
            if _PAYLOAD_CONFIG.fullmatch(name):
                _check_payload_config(path, what, archive, root, name, names)
            elif _MODEL.fullmatch(name):
                _check_graph(path, what, member, _read_json(path, what, archive, member))
            elif name.endswith(".pt"):
                check_torch_bytes(archive.read(member), path, what, member)
                continue
            with archive.open(member) as stream:
                if is_pickle(stream):
                    raise fail(path, what, f"member {member!r} is a pickle stream")
    return path


def _read_json(path: Path, what: str, archive: zipfile.ZipFile, member: str) -> Any:
    try:
        return json.loads(archive.read(member).decode("utf-8"))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, depth
        raise fail(path, what, f"member {member!r} is not JSON ({type(error).__name__})") from None


def _check_payload_config(
    path: Path, what: str, archive: zipfile.ZipFile, root: str, name: str, names: set[str]
) -> None:
    member = f"{root}/{name}"
    config = _read_json(path, what, archive, member)
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise fail(path, what, f"member {member!r} is not a payload config")
    folder, kind = name.split("/")[:2]
    prefix = _PAYLOAD_PREFIX[kind]
    for fqn, entry in entries.items():
        payload = entry.get("path_name")
        where = f"member {member!r} entry {fqn!r}"
        if entry.get("use_pickle") is not False:
            raise fail(
                path,
                what,
                f"{where} marks its payload {payload!r} use_pickle: torch.export.load would "
                "unpickle it, which can run code",
            )
        if not (
            isinstance(payload, str)
            and payload.startswith(prefix)
            and _IDENTIFIER.fullmatch(payload)
            and f"{folder}/{kind}/{payload}" in names
        ):
            raise fail(path, what, f"{where} names {payload!r}, not a {prefix}* tensor member")


def _strings(node: Any, key: str | None = None) -> Iterator[tuple[str | None, str]]:
    """Every string in a JSON tree with the key it sits under (list items inherit it)."""
    stack = [(key, node)]
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.items())
        elif isinstance(node, list):
            stack.extend((key, item) for item in node)
        elif isinstance(node, str):
            yield key, node


def _check_graph(path: Path, what: str, member: str, graph: Any) -> None:
    sympy_names = _SYMPY_NAMES | _torch_sympy_names()
    for key, text in _strings(graph):
        if key in ("target", "as_operator"):
            problem = _target_problem(text)
        elif key == "expr_str":
            problem = _expression_problem(text, sympy_names)
        elif key == "guards_code":
            problem = _guard_problem(text)
        else:
            continue
        if problem is not None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            raise fail(path, what, f"member {member!r} has the {key} {shown!r}: {problem}")


def _target_problem(target: str) -> str | None:
    match = _OP_TARGET.fullmatch(target)
    if match is not None:
        if match.group(1) in dir(type(torch.ops)):
            return "not an operator namespace"
        return None
    module, _, name = target.partition(".")
    if module == "_operator" and name in _OPERATOR_NAMES:
        return None
    if module == "math" and name in _MATH_NAMES:
        return None
    if module == "torch" and re.fullmatch(r"_?sym_[a-z_]+", name) and hasattr(torch, name):
        return None
    return "only torch.ops operators and size arithmetic may be called"


def _parse(text: str, allowed: str) -> ast.Expression | str:
    if len(text) > _MAX_EXPRESSION:
        return f"longer than {_MAX_EXPRESSION} characters"
    bad = sorted(set(re.sub(allowed, "", text)))
    if bad:
        return f"it holds the characters {''.join(bad)!r}"
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return f"not an expression ({type(error).__name__})"


def _expression_problem(text: str, sympy_names: frozenset[str]) -> str | None:
    tree = _parse(text, r"[A-Za-z0-9_ ()',.*/+\-<>=!]")
    if isinstance(tree, str):
        return tree
    for node in ast.walk(tree):
        if isinstance(node, (*_ARITHMETIC, ast.keyword)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if all(k.arg is not None and _IDENTIFIER.fullmatch(k.arg) for k in node.keywords):
                continue
        elif isinstance(node, ast.Name):
            if node.id in sympy_names or re.fullmatch(r"[a-z]+[0-9]+", node.id):
                continue
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool | int | float) or (
                isinstance(value, str)
                and (_IDENTIFIER.fullmatch(value) or _NUMBER.fullmatch(value))
            ):
                continue
        return f"{type(node).__name__} is not sympy arithmetic on size symbols"
    return None


def _guard_problem(text: str) -> str | None:
    tree = _parse(text, r"[A-Za-z0-9_ ()\[\]',.*/%+\-<>=!]")
    if isinstance(tree, str):
        return tree
    for node in ast.walk(tree):
        if isinstance(node, _ARITHMETIC):
            continue
        if isinstance(node, ast.Name) and node.id in _GUARD_NAMES:
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
            if (isinstance(key, int) and not isinstance(key, bool)) or (
                isinstance(key, str) and _IDENTIFIER.fullmatch(key)
            ):
                continue
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool | int | float)
            or (isinstance(node.value, str) and _IDENTIFIER.fullmatch(node.value))
        ):  # numbers, and the keys of L['x'] (the Subscript is checked above)
            continue
        if isinstance(node, ast.Call) and not node.keywords:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _GUARD_METHODS and not node.args:
                continue
            if isinstance(func, ast.Name) and func.id in _GUARD_FUNCTIONS:
                continue
        if isinstance(node, ast.Attribute) and node.attr in _GUARD_METHODS:
            continue
        return f"{type(node).__name__} is not arithmetic on input sizes"
    return None


def read_program_archive(
    path: object, what: str = "torch.export program"
) -> torch.export.ExportedProgram:
    """``check_program_archive``, then ``torch.export.load``, its errors turned into ValueError."""
    path = check_program_archive(path, what)
    try:
        return torch.export.load(path)
    except Exception as error:  # SerializeError, RuntimeError, KeyError, AssertionError, ...
        raise fail(
            path, what, f"torch.export.load cannot read it ({type(error).__name__}: {error})"
        ) from None
