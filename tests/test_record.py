"""Run-record schema: validation messages, validated writes and reads."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from opbench.errors import DataError
from opbench.results.record import (
    SCHEMA_VERSION,
    read_record,
    read_records,
    schema,
    validate_record,
    write_record,
)

ROOT = Path(__file__).resolve().parents[1]


def _summary(mean: float | None) -> dict[str, Any]:
    return {"mean": mean, "std": None, "median": mean, "min": mean, "max": mean, "n": 10}


def convergence_section(passed: bool) -> dict[str, Any]:
    """A record's convergence section whose plateau and doubling checks both pass or fail."""
    gain = 0.001 if passed else 0.2
    return {
        "plateau": {
            "min_lr_reached": True,
            "min_lr_ratio": 0.01,
            "window_epochs": 10,
            "relative_improvement": gain,
            "threshold": 0.01,
            "passed": passed,
        },
        "doubling": {
            "check_run_id": "check",
            "check_epochs": 50,
            "relative_improvement": gain,
            "threshold": 0.05,
            "passed": passed,
        },
        "converged": passed,
    }


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
    converged: bool | None = True,
) -> dict[str, Any]:
    """A valid version-1 record (the committed board's form); a diverged run gets null
    metrics. ``converged``: both convergence checks pass (``True``) or fail (``False``);
    ``None`` leaves the section out."""
    diverged = status == "diverged"
    values = {"rel_l2": metric, **(extra_metrics or {})}
    test = {name: _summary(None if diverged else v) for name, v in values.items()}
    return {
        "schema_version": 1,
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
        "convergence": None if converged is None else convergence_section(converged),
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


def make_v2_record(**kwargs: Any) -> dict[str, Any]:
    """A valid version-2 record: the version-1 one plus spec, run hash, role and the
    per-sample values of the primary metric."""
    record = make_record(**kwargs)
    n = record["metrics"]["test"]["rel_l2"]["n"]
    value = record["metrics"]["test"]["rel_l2"]["mean"]
    return {
        **record,
        "schema_version": SCHEMA_VERSION,
        "role": "board",
        "run_hash": "0123456789ab",
        "spec": {"model": record["model"]["name"], "seed": record["train"]["seed"]},
        "per_sample": {"metric": "rel_l2", "values": {"test": [value] * n}},
        "convergence": None,
    }


def _message(record: dict[str, Any]) -> str:
    with pytest.raises(DataError) as info:
        validate_record(record)
    message = str(info.value)
    assert all(line.startswith("record.json: ") for line in message.splitlines())
    return message


def test_schema_file_is_generated_from_the_record_model() -> None:
    text = resources.files("opbench.results").joinpath("record.schema.json").read_text()
    assert json.loads(text) == schema(), (
        "regenerate it: opbench schema > opbench/results/record.schema.json"
    )


def test_valid_records_pass() -> None:
    validate_record(make_record())
    validate_record(make_record(status="diverged"))
    validate_record(make_v2_record())
    record = make_record(max_minutes=10)
    record["metrics"]["test@poisson-large"] = record["metrics"]["test"]
    record["files"] = {"checkpoint": "checkpoint.safetensors"}
    record["dataset"]["extra_note"] = "a family's own keys are kept in dataset"
    assert validate_record(record).dataset.model_extra == {
        "extra_note": "a family's own keys are kept in dataset"
    }


def test_version_1_records_read_with_their_version_2_defaults() -> None:
    record = validate_record(make_record())
    assert record.schema_version == 1
    assert (record.role, record.spec, record.run_hash, record.per_sample) == (
        "board",
        None,
        None,
        None,
    )
    assert record.train.config.warmup_fraction == 0.3  # a later field, at its default


def test_version_2_records_carry_spec_hash_and_matching_per_sample_values() -> None:
    record = make_v2_record()
    del record["spec"]
    assert "carries its spec and run_hash" in _message(record)
    record = make_v2_record()
    record["per_sample"]["values"]["test"].pop()
    assert "per_sample.values.test: 9 values" in _message(record)


def test_missing_top_level_key_fails() -> None:
    record = make_record()
    del record["model"]
    assert "record.json: model: Field required" in _message(record)


def test_missing_nested_key_names_its_parent() -> None:
    record = make_record()
    del record["train"]["seed"]
    assert "record.json: train.seed: Field required" in _message(record)


def test_wrong_type_names_the_path() -> None:
    record = make_record()
    record["metrics"]["test"]["rel_l2"]["mean"] = "abc"
    record["train"]["history"][1]["val"] = "x"
    message = _message(record)
    assert "record.json: metrics.test.rel_l2.mean: Input should be a valid number" in message
    assert "record.json: train.history[1].val: Input should be a valid number" in message


def test_unknown_top_level_key_fails() -> None:
    record = make_record()
    record["metircs"] = {}
    assert "record.json: metircs: Extra inputs are not permitted" in _message(record)


def test_bad_enum_and_metric_split_name_fail() -> None:
    record = make_record()
    record["train"]["status"] = "crashed"
    record["metrics"]["tset"] = record["metrics"]["test"]
    message = _message(record)
    assert "record.json: train.status: Input should be 'ok', 'diverged' or 'budget'" in message
    assert "record.json: metrics.tset.[key]: String should match pattern" in message


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


def test_round_trip(tmp_path: Path) -> None:
    record = validate_record(make_v2_record(max_minutes=7.5))
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
    assert f"{bad_json}: cost: Field required" in str(info.value)


def _write(run_dir: Path, record: dict[str, Any]) -> None:
    write_record(run_dir, validate_record(record))


def test_read_records_sorted_skips_unfinished_runs(tmp_path: Path) -> None:
    _write(tmp_path / "b", make_record(seed=1))
    _write(tmp_path / "a", make_record(seed=0))
    (tmp_path / "interrupted").mkdir()
    (tmp_path / "interrupted" / "checkpoint.pt").write_bytes(b"")
    assert [r.train.seed for r in read_records(tmp_path)] == [0, 1]


def test_read_records_raises_on_corrupt_record(tmp_path: Path) -> None:
    _write(tmp_path / "a", make_record(seed=0))
    corrupt = tmp_path / "b" / "record.json"
    corrupt.parent.mkdir()
    corrupt.write_text("{not json")
    with pytest.raises(DataError) as info:
        read_records(tmp_path)
    assert str(corrupt) in str(info.value)


def test_read_records_raises_on_duplicate_run_id(tmp_path: Path) -> None:
    _write(tmp_path / "a", make_record(run_id="same"))
    _write(tmp_path / "copy-of-a", make_record(run_id="same"))
    with pytest.raises(DataError, match="'same' is also the run_id of"):
        read_records(tmp_path)


def test_read_records_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="runs directory not found"):
        read_records(tmp_path / "runs")
