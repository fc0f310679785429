"""User-facing errors.

Every problem a user can cause (a missing file, a bad option value, an unknown name) raises
an :class:`OpbenchError` with a message that says what is wrong and where. The CLI prints
the message and exits non-zero without a traceback; library users catch the class.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class OpbenchError(Exception):
    """Base class of errors caused by user input (files, names, options)."""


class ConfigError(OpbenchError, ValueError):
    """A bad option value, an unknown hyperparameter or an unknown name."""


class DataError(OpbenchError):
    """A missing, corrupt or inconsistent data file."""


class RunInterrupted(OpbenchError):
    """A run stopped by the user; its last checkpoint is kept for resuming."""

    def __init__(self, model: str, dataset: str, run_dir: Path) -> None:
        self.run_dir = run_dir
        super().__init__(
            f"interrupted; {run_dir} keeps the last checkpoint (written every minute of "
            f"training). Resume with: opbench run {model} {dataset} --resume {run_dir}"
        )


def unknown_name(kind: str, name: str, known: Iterable[str]) -> ConfigError:
    """A :class:`ConfigError` for an unknown ``name`` that suggests the close known ones."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}.")
