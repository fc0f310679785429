"""Sweeps: planning, skipping recorded runs, surviving failures, resuming, both engines."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from opbench import sweep
from opbench.config import merge
from opbench.data import DATASETS
from opbench.errors import ConfigError
from opbench.results.record import read_record, read_records, validate_record

SMALL = {"data": {"n_train": 24, "n_test": 4}}


def _plan(out: Path, models=("mean", "linear"), seeds=(0, 1), **options) -> sweep.SweepPlan:
    return sweep.plan(list(models), ["condiff:poisson_grid64"], list(seeds), out, **options)


def test_plan_checks_everything_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'unte'.*unet"):
        _plan(tmp_path, models=("unte",))
    with pytest.raises(ConfigError, match=r"mlp.*supports the layouts points"):
        _plan(tmp_path, models=("mean", "mlp"), overrides=SMALL)
    assert not (Path(os.environ["OPBENCH_HOME"]) / "data").exists()  # checked before any load
    with pytest.raises(ConfigError, match="at least one"):
        _plan(tmp_path, seeds=())
    with pytest.raises(ConfigError, match="FAMILY"):
        sweep.parse_datasets([":poisson"])


def test_test_configs_score_every_run_of_their_family_on_another_config(tmp_path: Path) -> None:
    plan = sweep.plan(
        ["mean"],
        ["condiff:poisson_grid8", "condiff:cubic0.1_grid8"],
        [0],
        tmp_path,
        overrides=SMALL,
        test_configs=["condiff:cubic0.1_grid8", "cfdbench:cavity/prop"],
    )
    tests = {job.spec.config: job.spec.test_configs for job in plan.jobs}
    assert tests == {"poisson_grid8": ["cubic0.1_grid8"], "cubic0.1_grid8": []}
    with pytest.raises(ConfigError, match="FAMILY:CONFIG"):
        sweep.plan(["mean"], ["condiff:poisson_grid8"], [0], tmp_path, test_configs=["condiff"])


def test_transfer_configs_reach_every_run_of_their_family(tmp_path: Path) -> None:
    plan = sweep.plan(
        ["fno"],
        ["condiff:poisson_paired_grid15"],
        [0, 1],
        tmp_path,
        overrides=SMALL,
        transfer_configs=["condiff:poisson_paired_grid31", "condiff:poisson_paired_grid15"],
    )
    assert [job.spec.transfer_configs for job in plan.jobs] == [["poisson_paired_grid31"]] * 2
    with pytest.raises(ConfigError, match="--transfer-config 'condiff' names no config"):
        sweep.plan(["fno"], ["condiff"], [0], tmp_path, transfer_configs=["condiff"])


def test_data_dir_prefix_is_a_family_only_when_registered() -> None:
    roots = sweep.parse_data_dirs(["condiff=/d/a=b", "/e/x=y"])
    assert roots == {"condiff": Path("/d/a=b"), None: Path("/e/x=y")}


def test_local_sweep_runs_skips_and_survives_a_failure(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    plan = _plan(out, overrides=SMALL)
    assert (len(plan.jobs), plan.n_done) == (4, 0)
    broken = replace(plan.jobs[0], spec=plan.jobs[0].spec.model_copy(update={"model": "retired"}))
    seen = []
    outcomes = sweep.sweep(
        replace(plan, jobs=[broken, *plan.jobs[1:]]),
        out,
        workers=2,
        progress=lambda outcome, n: seen.append(n),
    )
    assert sorted(seen) == [1, 2, 3, 4]
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["failed", "ok", "ok", "ok"]
    (failure,) = (out / sweep.FAILED_DIR).glob("*.json")
    assert "unknown model 'retired'" in json.loads(failure.read_text())["error"]
    assert len(read_records(out)) == 3

    again = _plan(out, overrides=SMALL)
    assert (len(again.jobs), again.n_done, again.n_failed_before) == (1, 3, 0)
    more = _plan(out, seeds=(0, 1, 2), overrides=SMALL)
    assert (len(more.jobs), more.n_done) == (3, 3)
    other = _plan(out, overrides=merge(SMALL, {"data": {"val_fraction": 0.2}}))
    assert (len(other.jobs), other.n_done) == (4, 0)  # another split: another fingerprint


def test_recorded_failure_is_skipped_unless_retried(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    job = _plan(out, models=("mean",), seeds=(0,), overrides=SMALL).jobs[0]
    sweep.record_failure(job, out, "boom", "")
    assert _plan(out, models=("mean",), seeds=(0,), overrides=SMALL).n_failed_before == 1
    retry = _plan(out, models=("mean",), seeds=(0,), overrides=SMALL, retry_failed=True)
    assert len(retry.jobs) == 1


def test_interrupted_run_is_resumed(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    plan = _plan(out, models=("dilresnet",), seeds=(0,), epochs=2, overrides=SMALL)
    (outcome,) = sweep.sweep(plan, out, workers=1)
    run_dir = Path(outcome.run_dir)
    (run_dir / "record.json").unlink()  # as if killed after its last checkpoint
    resumed = _plan(out, models=("dilresnet",), seeds=(0,), epochs=2, overrides=SMALL)
    assert resumed.jobs[0].resume_dir == str(run_dir)
    (again,) = sweep.sweep(resumed, out, workers=1)
    assert again.run_dir == str(run_dir)
    assert again.status == "ok"
    assert len(read_records(out)) == 1


def test_unknown_engine_and_address_misuse(tmp_path: Path) -> None:
    plan = _plan(tmp_path, overrides=SMALL)
    with pytest.raises(ConfigError, match=r"unknown sweep engine 'rya'.*ray"):
        sweep.sweep(plan, tmp_path, engine="rya")
    with pytest.raises(ConfigError, match="--address applies to --engine ray"):
        sweep.sweep(plan, tmp_path, engine="local", address="auto")


def test_ray_engine_on_a_local_instance(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    plan = _plan(out, overrides=SMALL)
    outcomes = sweep.sweep(plan, out, engine="ray", workers=2)
    assert sorted(o.status for o in outcomes) == ["ok"] * 4
    assert {r.model.name for r in read_records(out)} == {"mean", "linear"}
    assert _plan(out, overrides=SMALL).n_done == 4


def _generated(root: Path, config: str = "poisson_grid16") -> Path:
    DATASETS.get("condiff").generate(config, root, n_train=24, n_test=4, workers=1)
    return root


def test_moving_the_data_or_changing_threads_keeps_the_run_hash(tmp_path: Path) -> None:
    """The run hash covers the data by fingerprint, never by path, and no resource."""
    data = _generated(tmp_path / "data")
    out = tmp_path / "runs"
    plan = sweep.plan(["mean"], ["condiff:poisson_grid16"], [0], out, data_dirs=[str(data)])
    (job,) = plan.jobs
    one = sweep.execute(job, str(out), threads=1)
    moved = tmp_path / "moved"
    shutil.move(data, moved)
    again = sweep.plan(["mean"], ["condiff:poisson_grid16"], [0], out, data_dirs=[str(moved)])
    assert (len(again.jobs), again.n_done) == (0, 1)
    (moved_job,) = again.done
    assert moved_job.run_hash == job.run_hash
    two = sweep.execute(moved_job, str(tmp_path / "other"), threads=2)
    first, second = (read_record(Path(o.run_dir) / "record.json") for o in (one, two))
    assert (first.cost.threads, second.cost.threads) == (1, 2)
    assert first.run_hash == second.run_hash == job.run_hash


def test_records_directory_counts_as_done_on_a_fresh_out(tmp_path: Path) -> None:
    """A sweep restarted on a fresh clone (its runs/ gone) skips what is committed."""
    out = tmp_path / "runs"
    for job in _plan(out, overrides=SMALL).jobs:  # in this process: no pool to start
        sweep.execute(job, str(out), threads=1)
    records = tmp_path / "records"
    records.mkdir()
    for record in read_records(out):
        (records / f"{record.run_id}.json").write_text(json.dumps(record.to_json()))
    fresh = _plan(tmp_path / "fresh", overrides=SMALL, records=records)
    assert (len(fresh.jobs), fresh.n_done) == (0, 4)
    with pytest.raises(ConfigError, match=r"--records .* is not a directory"):
        _plan(tmp_path / "fresh", overrides=SMALL, records=tmp_path / "none")


def test_a_version_1_record_gets_the_run_hash_of_its_version_2_twin(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    (job,) = _plan(out, models=("mean",), seeds=(0,), overrides=SMALL).jobs
    outcome = sweep.execute(job, str(out), threads=1)
    record = read_record(Path(outcome.run_dir) / "record.json").to_json()
    old = {k: v for k, v in record.items() if k not in ("run_hash", "spec", "per_sample", "role")}
    old = validate_record({**old, "schema_version": 1})
    assert old.run_hash is None
    assert sweep.record_key(old) == (record["run_hash"], 0)


def test_an_unwritable_out_is_refused_before_any_data_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        _plan(tmp_path / "file" / "runs", overrides=SMALL)
    assert not (Path(os.environ["OPBENCH_HOME"]) / "data").exists()  # nothing generated
