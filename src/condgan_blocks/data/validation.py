"""Problems found in a dataset, collected into one report instead of stopping at the first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

# Lines shown in an exception message; the exception's ``problems`` always holds all of them.
_MAX_LINES = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file (or one generated sample).

    Args:
        path: The file at fault (for generated data, the sample's ``path``).
        message: What is wrong, in words that tell how to fix it.

    Examples:
        >>> problem = Problem("a.png", "no image for this label")
        >>> problem.path
        'a.png'
        >>> print(problem)
        a.png: no image for this label
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DatasetError(ValueError):
    """A dataset has problems; ``problems`` lists every one of them.

    It is a ValueError, so ``except ValueError`` catches it too.

    Args:
        problems: The problems found (at least one), or a finished message alone (what a
            DataLoader worker passes when it re-raises the error; ``problems`` is then empty).
        source: What was checked, e.g. ``"CityscapesDataset(root='data', split='train')"``.

    Examples:
        >>> error = DatasetError([Problem("a.png", "no image for this label")], "demo")
        >>> print(error)
        1 problem in demo:
          a.png: no image for this label
        >>> isinstance(error, ValueError), len(error.problems)
        (True, 1)
    """

    def __init__(self, problems: Iterable[Problem] | str, source: str = "dataset") -> None:
        if isinstance(problems, str):  # a message alone, e.g. re-raised by a DataLoader worker
            self.problems, self.source = (), source
            super().__init__(problems)
            return
        self.problems = tuple(problems)
        self.source = source
        super().__init__(format_problems(self.problems, source, limit=_MAX_LINES))

    def __reduce__(self):
        if not self.problems:
            return type(self), (str(self), self.source)
        return type(self), (self.problems, self.source)


@dataclass
class ValidationReport:
    """What ``validate()`` found: every problem, and how many samples were checked.

    Examples:
        >>> report = ValidationReport("demo", num_samples=2)
        >>> report.ok
        True
        >>> report.problems.append(Problem("a.png", "label ids [40] are outside 0..34"))
        >>> print(report)
        1 problem in demo (2 samples checked):
          a.png: label ids [40] are outside 0..34
    """

    source: str
    num_samples: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_problems(self) -> ValidationReport:
        """Raise a [`DatasetError`][condgan_blocks.data.DatasetError] listing every problem; return
        ``self`` if there is none."""
        if self.problems:
            raise DatasetError(self.problems, f"{self.source} ({self.num_samples} samples checked)")
        return self

    def __str__(self) -> str:
        if self.ok:
            return f"no problems in {self.source} ({self.num_samples} samples checked)"
        return format_problems(self.problems, f"{self.source} ({self.num_samples} samples checked)")


def format_problems(
    problems: tuple[Problem, ...] | list[Problem], source: str, *, limit: int | None = None
) -> str:
    """Format problems one per line under a header that counts them."""
    count = len(problems)
    lines = [f"{count} problem{'s' if count != 1 else ''} in {source}:"]
    shown = problems if limit is None else problems[:limit]
    lines.extend(f"  {problem}" for problem in shown)
    if len(shown) < count:
        lines.append(f"  ... and {count - len(shown)} more (all of them are in error.problems)")
    return "\n".join(lines)


# The order in which a sample's members are compared: the first present sets the reference size.
_ROLES = ("label", "input", "instance", "image")


def sample_problems(
    arrays: Mapping[str, np.ndarray], paths: Mapping[str, str], num_classes: int | None
) -> list[Problem]:
    """Content problems of one decoded sample: members of different sizes, label ids out of range.

    Args:
        arrays: Decoded members of shape (C, H, W), keyed by role ("label", "instance", "input",
            "image").
        paths: The file of each member, for the messages.
        num_classes: Labels must lie in ``0 .. num_classes - 1``; None skips the check.
    """
    problems = []
    roles = [role for role in _ROLES if role in arrays]
    if roles:
        first = roles[0]
        size = tuple(arrays[first].shape[-2:])
        for role in roles[1:]:
            other = tuple(arrays[role].shape[-2:])
            if other != size:
                problems.append(
                    Problem(
                        paths[role],
                        f"size mismatch: {role} is {_hw(other)} (H x W) but its {first} "
                        f"{paths[first]} is {_hw(size)}; every member of a sample must have the "
                        "same size (nothing is resized silently)",
                    )
                )
    if num_classes is not None and "label" in arrays:
        label = arrays["label"]
        bad = label[(label < 0) | (label >= num_classes)]
        if bad.size:
            ids = np.unique(bad)
            shown = ", ".join(str(int(i)) for i in ids[:10]) + (", ..." if ids.size > 10 else "")
            problems.append(
                Problem(
                    paths["label"],
                    f"label ids [{shown}] are outside 0..{num_classes - 1} "
                    f"(num_classes={num_classes}); {bad.size} pixels affected",
                )
            )
    return problems


def _hw(size: tuple[int, ...]) -> str:
    return f"{size[0]} x {size[1]}"
