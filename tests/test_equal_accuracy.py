"""The numerical solver at equal accuracy: envelope, interpolation, ConDiff's ladder, cache,
and the run option."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_leaderboard import board
from test_record import make_record

from opbench.config import Role
from opbench.data import DATASETS
from opbench.data.condiff import fv, solvers
from opbench.data.condiff.family import ConDiffOptions
from opbench.errors import ConfigError, DataError
from opbench.eval import solver_curve as curves
from opbench.eval.equal_accuracy import (
    SolverCurve,
    SolverPoint,
    equal_accuracy,
    lower_envelope,
    solver_seconds_at,
)
from opbench.results.leaderboard import leaderboard_rows
from opbench.results.publish import (
    add_records,
    publish,
    render_published,
    stale_files,
    update_sections,
)
from opbench.results.record import read_record
from opbench.results.render import equal_accuracy_text
from opbench.results.solver_plot import FIGURE_SUFFIX
from opbench.run import resolve
from opbench.run import run as run_spec
from opbench.timing_pass import timing_pass


def _curve(points: list[tuple[str, float, float]]) -> SolverCurve:
    on = lower_envelope([(seconds, error) for _, seconds, error in points])
    return SolverCurve(
        fingerprint="f",
        metric="rel_l2",
        n_samples=4,
        workers=2,
        cpu="cpu",
        load_average=0.0,
        measured="2026-12-06T00:00:00+00:00",
        points=[
            SolverPoint(name=n, seconds_per_sample=s, error=e, envelope=flag)
            for (n, s, e), flag in zip(points, on, strict=True)
        ],
    )


def test_the_envelope_keeps_points_more_accurate_than_every_faster_one():
    points = [(1.0, 0.5), (2.0, 0.6), (2.0, 0.1), (3.0, 0.1), (4.0, 0.01), (0.5, 0.9)]
    assert lower_envelope(points) == [True, False, True, False, True, True]


def test_the_solver_time_is_interpolated_log_log_between_bracketing_points():
    envelope = _curve([("fast", 1e-3, 1e-1), ("slow", 1e-1, 1e-3)]).envelope
    seconds, position = solver_seconds_at(envelope, 1e-2)  # halfway in log error
    assert position == "on the curve"
    assert seconds == pytest.approx(1e-2)  # halfway in log time: √(1e-3 · 1e-1)
    assert solver_seconds_at(envelope, 1e-1) == (pytest.approx(1e-3), "on the curve")
    assert solver_seconds_at(envelope, 1e-3)[0] == pytest.approx(1e-1)
    assert solver_seconds_at(envelope, 0.2) == (None, "less accurate than the cheapest setting")
    assert solver_seconds_at(envelope, 1e-4) == (None, "beyond the curve")


def test_a_dominated_setting_never_sets_the_baseline():
    curve = _curve([("fast", 1e-3, 1e-1), ("bad", 5e-3, 2e-1), ("slow", 1e-1, 1e-3)])
    assert [p.name for p in curve.envelope] == ["fast", "slow"]
    result = equal_accuracy(curve, model_error=1e-2, model_seconds_per_sample=2e-3)
    assert result.speedup == pytest.approx(5.0)  # 10 ms at 1e-2, model 2 ms
    assert "speedup at equal accuracy 5×" in result.summary()


def test_a_model_less_accurate_than_the_cheapest_setting_gets_no_ratio():
    curve = _curve([("fast", 1e-3, 1e-1), ("slow", 1e-1, 1e-3)])
    result = equal_accuracy(curve, model_error=0.5, model_seconds_per_sample=1e-4)
    assert (result.speedup, result.solver_seconds_per_sample) == (None, None)
    assert result.position == "less accurate than the cheapest setting"
    assert "no speedup at equal accuracy" in result.summary()


def _problem(grid: int, seed: int = 0, poisson: bool = False) -> solvers.Problem:
    rng = np.random.default_rng(seed)
    k = np.ones((grid + 1, grid + 1)) if poisson else np.exp(rng.normal(size=(grid + 1,) * 2))
    return k, rng.standard_normal(grid * grid)


def test_the_iterative_settings_meet_their_tolerance_and_converge_to_the_direct_solve():
    k, rhs = problem = _problem(15)
    exact = solvers.direct(problem)
    assert exact.shape == (1, 15, 15)
    for solve in (solvers.amg_cg, solvers.jacobi_cg):
        errors = []
        for tolerance in solvers.TOLERANCES:
            u = solve(problem, tolerance)
            assert fv.relative_residual(k, fv.grid_to_vector(u[0]), rhs) <= tolerance
            errors.append(np.linalg.norm(u - exact) / np.linalg.norm(exact))
        assert errors[-1] < 1e-6
        assert errors[-1] < errors[0]


def test_the_fast_poisson_solver_is_the_direct_solve_for_constant_k():
    problem = _problem(12, poisson=True)
    np.testing.assert_allclose(solvers.fast_poisson(problem), solvers.direct(problem), atol=1e-12)


def test_condiff_ladders_list_what_does_not_apply():
    k = np.ones((2, 5, 5))
    poisson = solvers.ladder(k, np.zeros((2, 16)), poisson=True)
    diffusion = solvers.ladder(k, np.zeros((2, 16)), poisson=False)
    assert "fast-poisson" in poisson.options
    assert "fast-poisson" in diffusion.not_applicable
    assert "coarse grid" in poisson.not_applicable


def _benchmark(config: str = "cubic0.1_grid8"):
    options = ConDiffOptions(n_train=8, n_test=6)
    return DATASETS.get("condiff").load_benchmark(config, "steady", options)


def test_the_curve_scores_the_ladder_on_the_test_split_and_is_cached(monkeypatch):
    benchmark = _benchmark()
    curve = curves.solver_curve(benchmark, workers=1)
    assert curve is not None
    points = {p.name: p for p in curve.points}
    assert set(points) == set(benchmark.solver_ladder.options)
    assert points["direct"].error < 1e-6  # the targets are the direct solve, in float32
    assert points["jacobi-cg 1e-01"].error > points["jacobi-cg 1e-08"].error
    assert curve.n_samples == 6 and curve.fingerprint == benchmark.info.fingerprint

    def fail(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(curves, "measure_curve", fail)
    assert curves.solver_curve(benchmark, workers=1) == curve


def test_a_damaged_cached_curve_is_measured_again():
    benchmark = _benchmark()
    curve = curves.solver_curve(benchmark, workers=1)
    (path,) = (curves.opbench_home() / "solver-curves").glob("condiff-*.json")
    path.write_text("{not json")
    again = curves.solver_curve(benchmark, workers=1)
    assert [p.name for p in again.points] == [p.name for p in curve.points]


def test_parallel_solves_give_the_same_solutions():
    benchmark = _benchmark("poisson_grid8")
    ladder = benchmark.solver_ladder
    one = curves.measure_curve(benchmark, ladder, workers=1)
    two = curves.measure_curve(benchmark, ladder, workers=2)
    for a, b in zip(one.points, two.points, strict=True):
        assert a.name == b.name and math.isclose(a.error, b.error, rel_tol=1e-12)


def test_a_run_with_equal_accuracy_records_the_model_on_the_curve(tmp_path):
    def spec_of(equal: bool):
        return resolve(
            "linear",
            "condiff",
            config="cubic0.1_grid8",
            overrides={"data": {"n_train": 8, "n_test": 6}},
            equal_accuracy=equal,
        )

    spec = spec_of(True)
    record = run_spec(spec, tmp_path, progress=False).record
    section = record.equal_accuracy
    assert section is not None
    assert section.model_error == pytest.approx(record.metrics["test"]["rel_l2"].mean)
    assert section.curve.workers >= 1
    assert (section.speedup is None) == (section.position != "on the curve")
    identity = record.dataset.identity()
    assert spec.run_hash(identity) == spec_of(False).run_hash(identity)  # not the run's identity


def test_equal_accuracy_is_refused_where_a_family_has_no_solver_ladder():
    with pytest.raises(ConfigError, match="no numerical solver ladder"):
        resolve("mlp", "airfrans", equal_accuracy=True)


def _with_section(record: dict, error: float, seconds: float) -> dict:
    curve = _curve([("jacobi", 1e-3, 1e-1), ("amg", 1e-1, 1e-3), ("slow", 0.2, 1e-2)])
    section = equal_accuracy(curve, error, seconds)
    metrics = record["metrics"]["test"]["rel_l2"]
    return {
        **record,
        "metrics": {"test": {"rel_l2": {**metrics, "mean": error}}},
        "equal_accuracy": section.model_dump(mode="json"),
    }


def test_the_board_shows_the_speedup_and_the_figure():
    records = board(
        _with_section(make_record("fno", 0), 1e-2, 1e-3),  # 10 ms on the curve: 10×
        _with_section(make_record("fno", 1), 1e-2, 2.5e-3),  # 4×
        _with_section(make_record("unet", 0), 0.5, 1e-4),  # less accurate than the cheapest
        make_record("linear", 0, 0.3),  # not measured
    )
    rows = {row.model: row for row in leaderboard_rows(records)}
    assert rows["fno"].equal_speedup == pytest.approx(7.0)
    assert (rows["fno"].equal_runs, rows["fno"].equal_on_curve) == (2, 2)
    assert equal_accuracy_text(rows["unet"]) == "less accurate than the cheapest solve"
    assert equal_accuracy_text(rows["linear"]) == "—"

    files = render_published(records, citations=[])
    (name,) = [name for name in files if name.endswith(FIGURE_SUFFIX)]
    assert name == "condiff-poisson-steady-ffffffff-equal-accuracy.svg"
    svg = files[name]
    # the legend names the rows as the cost figure does (these have fewer than 3 seeds)
    assert "<svg" in svg and ">fno (not ranked)<" in svg and ">unet (not ranked)<" in svg
    assert "linear" not in svg  # no point without a measurement
    assert render_published(records, citations=[])[name] == svg  # deterministic
    markdown = files["condiff.md"]
    assert f"]({name})" in markdown
    assert "0.0100" in markdown  # significant digits kept, as in the other tables
    assert "| jacobi" in markdown and "| yes" in markdown
    assert "7.00×" in markdown
    assert ">fno (not ranked)<" in files["index.html"]


def test_a_figure_whose_records_are_gone_is_stale(tmp_path):
    (tmp_path / "records").mkdir()
    record = _with_section(make_record("fno", 0), 1e-2, 1e-3)
    (tmp_path / "records" / f"{record['run_id']}.json").write_text(json.dumps(record))
    publish(tmp_path)
    assert stale_files(tmp_path) == []
    (tmp_path / "records" / f"{record['run_id']}.json").write_text(
        json.dumps({k: v for k, v in record.items() if k != "equal_accuracy"})
    )
    assert "condiff-poisson-steady-ffffffff-equal-accuracy.svg" in stale_files(tmp_path)
    publish(tmp_path)
    assert not list(tmp_path.glob(f"*{FIGURE_SUFFIX}"))


def test_the_cfdbench_ladder_reproduces_the_data_at_the_generators_cells():
    options = DATASETS.get("cfdbench").options_type(
        n_cases=10, frames=5, frame_size=16, solver_cells=16
    )
    benchmark = DATASETS.get("cfdbench").load_benchmark("cavity/bc", "autoregressive", options)
    ladder = benchmark.solver_ladder
    assert list(ladder.options) == ["cells 16", "cells 12", "cells 8"]
    curve = curves.measure_curve(benchmark, ladder, workers=1)
    errors = {p.name: p.error for p in curve.points}
    assert errors["cells 16"] < 1e-10  # the generator's own run, up to float32 targets
    assert errors["cells 8"] > 1e-4
    assert "larger time steps" in curve.not_applicable
    assert curve.n_samples == len(benchmark.splits["test"])


def _tiny_linear(role: Role = Role.board):
    """A fitted linear baseline on a tiny ConDiff config: a run in seconds."""
    return resolve(
        "linear",
        "condiff",
        config="cubic0.1_grid8",
        overrides={"data": {"n_train": 8, "n_test": 6}},
        role=role,
    )


def test_a_timing_pass_times_finished_runs_once(tmp_path):
    spec = _tiny_linear()
    result = run_spec(spec, tmp_path, progress=False)
    assert result.record.equal_accuracy is None
    ((run_dir, record),) = timing_pass(tmp_path)
    assert run_dir == result.run_dir
    section = record.equal_accuracy
    assert section.timing == "timing pass" and section.load_average is not None
    assert section.model_error == record.metrics["test"]["rel_l2"].mean
    assert read_record(run_dir / "record.json").equal_accuracy == section
    assert timing_pass(tmp_path) == [(run_dir, "timed before")]


def test_a_timing_pass_updates_the_published_copies(tmp_path):
    spec = _tiny_linear(Role.check)
    runs, root = tmp_path / "runs", tmp_path / "board"
    record = run_spec(spec, runs, progress=False).record.to_json()
    promoted = {
        **record,
        "run_id": f"{record['run_id']}-board",
        "role": "board",
    }  # the protocol's copy
    add_records([record, promoted], root)
    ((_, timed),) = timing_pass(runs, root=root)
    for run_id in (record["run_id"], promoted["run_id"]):
        published = read_record(root / "records" / f"{run_id}.json")
        assert published.equal_accuracy == timed.equal_accuracy
        assert published.metrics == timed.metrics  # nothing else changes
    with pytest.raises(DataError, match="cannot change once published"):
        update_sections(root, record["run_id"], {"metrics": {}})
