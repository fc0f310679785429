"""Run-record schema: validation messages, validated writes and reads."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from opbench.errors import DataError
from opbench.results.record import (
    SCHEMA_VERSION,
    read_record,
    read_records,
    validate_record,
    write_record,
)


def _summary(mean: float | None) -> dict[str, Any]:
    return {"mean": mean, "std": None, "median": mean, "min": mean, "max": mean, "n": 10}


def make_record(
    model: str = "fno",
    seed: int = 0,
    metric: float | None = 0.1,
    status: str = "ok",
    *,
    preset: str = "small",
    family: str = "condiff",
    config: str = "poisson",
    task: str = "steady",
    fingerprint: str = "f" * 16,
    epochs: int = 25,
    max_minutes: float | None = None,
    extra_metrics: dict[str, float] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """A valid schema-1 record; a diverged run gets null metrics."""
    diverged = status == "diverged"
    values = {"rel_l2": metric, **(extra_metrics or {})}
    test = {name: _summary(None if diverged else v) for name, v in values.items()}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id or f"{family}-{config}-{model}-{preset}-e{epochs}-s{seed}",
        "opbench_version": "0.1.0",
        "git_revision": None,
        "created": "2025-01-31T12:00:00+00:00",
        "command": f"opbench run {model} {family}/{config} --seed {seed}",
        "dataset": {
            "family": family,
            "config": config,
            "task": task,
            "source": "generated",
            "generator_version": "1",
            "fingerprint": fingerprint,
            "files": {"train": {"path": "train.h5", "sha256": "0" * 64, "n_samples": 100}},
            "split": {"train": 80, "val": 10, "test": 10, "method": "seeded-permutation"},
        },
        "model": {
            "name": model,
            "preset": preset,
            "hyperparameters": hyperparameters or {"width": 32, "modes": [12, 12]},
            "params": 12345,
            "citation": None,
        },
        "train": {
            "config": {"lr": 1e-3, "batch_size": 16},
            "seed": seed,
            "epochs_run": 3,
            "best_epoch": None if diverged else 2,
            "best_val": None if diverged else 0.2,
            "wall_seconds": 30.0,
            "status": status,
            "stopped_early": False,
            "budget": {"epochs": epochs, "max_minutes": max_minutes},
            "history": [
                {"epoch": 1, "train_loss": 0.5, "val": 0.3, "lr": 1e-3, "seconds": 10.0},
                {"epoch": 2, "train_loss": 0.4, "val": 0.2, "lr": 1e-3, "seconds": 10.0},
            ],
        },
        "metrics": {"test": test},
        "cost": {
            "params": 12345,
            "train_seconds": 30.0,
            "epochs": 3,
            "samples_per_second": 50.0,
            "infer_ms_per_sample": 0.5,
            "solver_ms_per_sample": 5.0,
            "speedup": 10.0,
            "peak_memory_mb": 300.0,
            "threads": 2,
            "device": "cpu",
        },
        "environment": {
            "python": "3.11.7",
            "torch": "2.4.0",
            "neuraloperator": None,
            "numpy": "1.26.4",
            "platform": "Linux-x86_64",
            "device": "cpu",
            "device_name": "cpu",
            "threads": 2,
        },
        "primary_metric": "rel_l2",
    }


def _message(record: dict[str, Any]) -> str:
    with pytest.raises(DataError) as info:
        validate_record(record)
    return str(info.value)


def test_schema_file_is_valid_draft_2020_12() -> None:
    text = resources.files("opbench.results").joinpath("record.schema.json").read_text()
    jsonschema.Draft202012Validator.check_schema(json.loads(text))


def test_valid_records_pass() -> None:
    validate_record(make_record())
    validate_record(make_record(status="diverged"))
    record = make_record(max_minutes=10)
    record["metrics"]["test@poisson-large"] = record["metrics"]["test"]
    record["files"] = {"checkpoint": "checkpoint.safetensors"}
    record["dataset"]["extra_note"] = "extra keys are allowed in dataset"
    validate_record(record)


def test_missing_top_level_key_fails() -> None:
    record = make_record()
    del record["model"]
    assert "record.json: (top level): 'model' is a required property" in _message(record)


def test_missing_nested_key_names_its_parent() -> None:
    record = make_record()
    del record["train"]["seed"]
    assert "record.json: train: 'seed' is a required property" in _message(record)


def test_wrong_type_names_the_path() -> None:
    record = make_record()
    record["metrics"]["test"]["rel_l2"]["mean"] = "abc"
    record["train"]["history"][1]["val"] = "x"
    message = _message(record)
    assert "record.json: metrics.test.rel_l2.mean: 'abc' is not of type 'number'" in message
    assert "record.json: train.history[1].val: 'x' is not of type" in message


def test_unknown_top_level_key_fails() -> None:
    record = make_record()
    record["metircs"] = {}
    message = _message(record)
    assert "record.json: (top level): Additional properties are not allowed" in message
    assert "'metircs' was unexpected" in message


def test_bad_enum_and_metric_split_name_fail() -> None:
    record = make_record()
    record["train"]["status"] = "crashed"
    record["metrics"]["tset"] = record["metrics"]["test"]
    message = _message(record)
    assert "record.json: train.status: 'crashed' is not one of" in message
    assert "record.json: metrics: 'tset' does not match" in message


def test_newer_schema_version_is_refused_clearly() -> None:
    record = make_record()
    record["schema_version"] = SCHEMA_VERSION + 1
    message = _message(record)
    assert "schema_version" in message
    assert "newer" in message
    assert "upgrade opbench" in message


def test_non_finite_number_fails() -> None:
    record = make_record()
    record["cost"]["speedup"] = float("nan")
    assert "record.json: cost.speedup: nan is not a finite number" in _message(record)


def test_primary_metric_must_be_reported() -> None:
    record = make_record()
    record["primary_metric"] = "rel_l1"
    assert "primary_metric: 'rel_l1' is not reported in metrics.test" in _message(record)


def test_write_record_writes_nothing_when_invalid(tmp_path: Path) -> None:
    record = make_record()
    record["train"]["seed"] = "zero"
    run_dir = tmp_path / "run-1"
    with pytest.raises(DataError, match=r"train\.seed"):
        write_record(run_dir, record)
    assert not (run_dir / "record.json").exists()
    assert not run_dir.exists() or not any(run_dir.iterdir())


def test_round_trip(tmp_path: Path) -> None:
    record = make_record(max_minutes=7.5)
    path = write_record(tmp_path / "run-1", record)
    assert path == tmp_path / "run-1" / "record.json"
    assert read_record(path) == record


def test_read_record_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "record.json"
    with pytest.raises(DataError, match="not found") as info:
        read_record(missing)
    assert str(missing) in str(info.value)

    bad_json = tmp_path / "record.json"
    bad_json.write_text('{"schema_version": 1,')
    with pytest.raises(DataError, match="not valid JSON") as info:
        read_record(bad_json)
    assert str(bad_json) in str(info.value)

    record = make_record()
    del record["cost"]
    bad_json.write_text(json.dumps(record))
    with pytest.raises(DataError) as info:
        read_record(bad_json)
    assert f"{bad_json}: (top level): 'cost' is a required property" in str(info.value)


def test_read_records_sorted_skips_unfinished_runs(tmp_path: Path) -> None:
    write_record(tmp_path / "b", make_record(seed=1))
    write_record(tmp_path / "a", make_record(seed=0))
    (tmp_path / "interrupted").mkdir()
    (tmp_path / "interrupted" / "checkpoint.pt").write_bytes(b"")
    assert [r["train"]["seed"] for r in read_records(tmp_path)] == [0, 1]


def test_read_records_raises_on_corrupt_record(tmp_path: Path) -> None:
    write_record(tmp_path / "a", make_record(seed=0))
    corrupt = tmp_path / "b" / "record.json"
    corrupt.parent.mkdir()
    corrupt.write_text("{not json")
    with pytest.raises(DataError) as info:
        read_records(tmp_path)
    assert str(corrupt) in str(info.value)


def test_read_records_raises_on_duplicate_run_id(tmp_path: Path) -> None:
    write_record(tmp_path / "a", make_record(run_id="same"))
    write_record(tmp_path / "copy-of-a", make_record(run_id="same"))
    with pytest.raises(DataError, match="'same' is also the run_id of"):
        read_records(tmp_path)


def test_read_records_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="runs directory not found"):
        read_records(tmp_path / "runs")
