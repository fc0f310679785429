"""Run records: the versioned JSON file every run writes, validated on write and on read.

A run writes ``runs/<run-id>/record.json``; its shape is the JSON Schema
``record.schema.json`` beside this module (draft 2020-12). Besides the schema, a record
must name a primary metric that it reports under ``metrics.test`` and may hold no
non-finite number (a missing value is ``null``). Every failure is a
:class:`~opbench.errors.DataError` that names the file and the path inside it.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from opbench.errors import DataError
from opbench.io import write_json_atomic

SCHEMA_VERSION = 1
"""The record schema version this opbench writes and reads."""

RECORD_NAME = "record.json"
"""File name of the record inside a run directory."""

_ROOT = "(top level)"


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files(__package__).joinpath("record.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _path(parts: Iterable[Any]) -> str:
    """``metrics.test.rel_l2.mean`` / ``train.history[3].val`` from a sequence of keys."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or _ROOT


def _non_finite(value: Any, parts: tuple[Any, ...] = ()) -> Iterator[str]:
    """Messages for every NaN or infinity in ``value`` (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{_path(parts)}: {value} is not a finite number (write null for a missing value)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*parts, index))


def validate_record(data: dict[str, Any], source: str = RECORD_NAME) -> None:
    """Check ``data`` against the record schema; raise :class:`DataError` if it fails.

    The message has one line per problem, ``<source>: <path>: <what is wrong>``, e.g.
    ``record.json: metrics.test.rel_l2.mean: 'abc' is not of type 'number', 'null'``. A
    record from a newer schema version is refused with a message that says so.
    """
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise DataError(
            f"{source}: schema_version: record has schema version {version}, newer than the "
            f"version {SCHEMA_VERSION} this opbench reads; upgrade opbench to read it"
        )
    errors = sorted(
        _validator().iter_errors(data), key=lambda e: (_path(e.absolute_path), e.message)
    )
    problems = [f"{_path(e.absolute_path)}: {e.message}" for e in errors]
    problems += list(_non_finite(data))
    if not errors:
        primary = data["primary_metric"]
        if primary not in data["metrics"]["test"]:
            problems.append(
                f"primary_metric: {primary!r} is not reported in metrics.test "
                f"(has {sorted(data['metrics']['test'])})"
            )
    if problems:
        raise DataError("\n".join(f"{source}: {problem}" for problem in problems))


def write_record(run_dir: Path, data: dict[str, Any]) -> Path:
    """Validate ``data`` and write it atomically to ``run_dir/record.json``; return the path.

    Nothing is written when validation fails.
    """
    path = Path(run_dir) / RECORD_NAME
    validate_record(data, source=str(path))
    write_json_atomic(path, data)
    return path


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one ``record.json``; a missing, unreadable or invalid file raises."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: run record not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read run record: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    validate_record(data, source=str(path))
    return data


def read_records(runs_dir: Path) -> list[dict[str, Any]]:
    """Read every ``runs_dir/*/record.json``, in sorted order of run directory.

    Run directories without a record (interrupted runs) are skipped; a corrupt or invalid
    record raises, naming its file. Two records with the same ``run_id`` raise too, since
    one run counted twice would pass for two seeds.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise DataError(f"{runs_dir}: runs directory not found")
    records: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for path in sorted(runs_dir.glob(f"*/{RECORD_NAME}")):
        record = read_record(path)
        first = seen.setdefault(record["run_id"], path)
        if first != path:
            raise DataError(f"{path}: run_id {record['run_id']!r} is also the run_id of {first}")
        records.append(record)
    return records
