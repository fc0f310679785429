"""The board's training protocol (opbench converge): pilots, the doubling ladder, the
promotion of a check run to the next rung's board run, and the evidence in the records."""

from __future__ import annotations

from pathlib import Path

import pytest

from opbench import protocol
from opbench.config import Role
from opbench.errors import ConfigError
from opbench.eval import convergence
from opbench.results.publish import read_published_records, stale_files
from opbench.sweep import SweepJob, execute

SMALL = {"data": {"n_train": 24, "n_test": 4}}


def _protocol(tmp_path: Path, models: list[str]) -> protocol.Protocol:
    return protocol.Protocol(
        tables=protocol.tables_of(models, ["condiff:cubic0.1_grid8"]),
        out=tmp_path / "runs",
        root=tmp_path / "board",
        settings=protocol.Settings(
            lrs=(1e-3, 3e-3), pilot_epochs=1, start_epochs=2, max_doublings=1, seeds=(0, 1)
        ),
        overrides=SMALL,
    )


def _doubling(passed: bool):
    """A doubling check that always passes or always fails, in place of the real one."""

    def check(best: float, checked: float, run_id: str, epochs: int) -> convergence.DoublingCheck:
        return convergence.DoublingCheck(
            check_run_id=run_id,
            check_epochs=epochs,
            relative_improvement=(best - checked) / best,
            threshold=0.05,
            passed=passed,
        )

    return check


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="must be below --start-epochs"):
        protocol.Settings(pilot_epochs=50, start_epochs=50)
    with pytest.raises(ConfigError, match="must start with 0"):
        protocol.Settings(seeds=(1, 2))
    with pytest.raises(ConfigError, match="unknown model"):
        protocol.parse_models(["fon"])
    assert protocol.parse_models(["lsm:small32", "fno"]) == [("lsm", "small32"), ("fno", "small")]


def test_the_schedule_ends_at_lr0_over_100() -> None:
    assert protocol.GAMMA ** len(protocol.MILESTONES) == pytest.approx(convergence.MIN_LR_FLOOR)


def test_a_failed_doubling_check_climbs_a_rung_without_repeating_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every doubling check fails: pilots, seed 0 at 2
    epochs and its check at 4; the check becomes the 4-epoch board run, checked at 8; then
    the ladder ends, not converged. The fitted baseline runs its seeds."""
    monkeypatch.setattr(protocol, "doubling_check", _doubling(passed=False))
    runner = _protocol(tmp_path, ["deeponet", "mean"])
    statuses: list[list[protocol.Status]] = []
    outcomes = protocol.drive(runner, 1, lambda outcome, s: statuses.append(s))
    assert all(o.status == "ok" for o in outcomes)
    assert len(outcomes) == 2 + 2 + 1 + 2  # pilots, board@2 and check@4, check@8, mean seeds
    records = read_published_records(runner.root)
    deeponet = sorted(
        (r["role"], r["train"]["budget"]["epochs"], r["train"]["seed"], r["run_id"])
        for r in records
        if r["model"]["name"] == "deeponet"
    )
    assert [row[:3] for row in deeponet] == [
        ("board", 2, 0),
        ("board", 4, 0),
        ("check", 4, 0),
        ("check", 8, 0),
        ("pilot", 1, 0),
        ("pilot", 1, 0),
    ]
    promoted = next(r for r in records if r["run_id"] == f"{deeponet[2][3]}-board")
    assert promoted["role"] == "board"
    assert promoted["convergence"]["doubling"]["check_run_id"] == deeponet[3][3]
    first = next(r for r in records if r["run_id"] == deeponet[0][3])
    assert first["convergence"]["doubling"]["check_run_id"] == deeponet[2][3]
    assert first["convergence"]["converged"] is False
    assert first["convergence"]["plateau"]["window_epochs"] == 10
    final = {s.table.model: s.state for s in statuses[-1]}
    assert final == {"deeponet": "not converged at the last rung", "mean": "fitted: done"}
    assert sum(r["model"]["name"] == "mean" for r in records) == 2
    assert stale_files(runner.root) == []  # the tables were regenerated with the records

    again = protocol.drive(runner, 1, lambda outcome, s: None)
    assert again == []  # everything is recorded: a restart runs nothing


@pytest.mark.slow
def test_a_seed_still_improving_at_the_minimum_rate_climbs_a_rung(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The doubling check passes, but seed 1 at 2 epochs fails its plateau check: the
    budget doubles (seed 0 at 4 epochs is the check run already made), and the table is
    done at 4 epochs once every seed there passes."""
    monkeypatch.setattr(protocol, "doubling_check", _doubling(passed=True))
    monkeypatch.setattr(
        protocol,
        "plateau_passed",
        lambda record: (record["train"]["budget"]["epochs"], record["train"]["seed"]) != (2, 1),
    )
    runner = _protocol(tmp_path, ["deeponet"])
    statuses: list[list[protocol.Status]] = []
    outcomes = protocol.drive(runner, 1, lambda outcome, s: statuses.append(s))
    assert (
        len(outcomes) == 2 + 2 + 1 + 1 + 1
    )  # pilots, board@2 + check@4, seed 1 @2, check@8, seed 1 @4
    assert statuses[-1][0].state == "done at 4"
    board = sorted(
        (r["train"]["budget"]["epochs"], r["train"]["seed"])
        for r in read_published_records(runner.root)
        if r["role"] == "board"
    )
    assert board == [(2, 0), (2, 1), (4, 0), (4, 1)]


def test_a_certain_climb_starts_the_next_check_and_skips_the_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 0 at 2 epochs fails its plateau check below the last rung, so the table climbs
    whatever its check at 4 shows: the next rung's check (8 epochs) is ready beside the
    check at 4, and once that check passes, seed 1 is not run at 2 epochs."""
    monkeypatch.setattr(
        protocol,
        "plateau_passed",
        lambda record: (record["train"]["budget"]["epochs"], record["train"]["seed"]) != (2, 0),
    )
    monkeypatch.setattr(protocol, "doubling_check", _doubling(passed=True))
    runner = _protocol(tmp_path, ["deeponet"])

    def run(jobs: list[SweepJob]) -> None:
        for job in jobs:
            assert execute(job, str(runner.out), 1).status == "ok"
        runner.collect()

    def ready() -> tuple[list[tuple[str, int, int]], str]:
        jobs, (status,) = runner.plan()
        budgets = [(job.spec.role.value, job.spec.train.epochs, job.spec.seed) for job in jobs]
        return sorted(budgets), status.state

    run(runner.plan()[0])  # the pilots
    assert ready() == ([("board", 2, 0), ("check", 4, 0)], "rung 2")
    run([job for job in runner.plan()[0] if job.spec.role == Role.board])
    assert ready() == ([("check", 4, 0), ("check", 8, 0)], "rung 2")
    run([job for job in runner.plan()[0] if job.spec.train.epochs == 4])
    assert ready() == ([("check", 8, 0)], "rung 4")  # no seed 1 at 2 epochs
