"""Measuring the numerical solver's cost–accuracy curve on a test split, once per data.

See :mod:`opbench.eval.equal_accuracy` for what the curve is. Every setting of the
family's :class:`~opbench.data.base.SolverLadder` solves every test problem in
``workers`` spawned processes (:mod:`opbench.workers`), each of which first solves one
problem untimed (imports, first-call costs); the time of a setting is the wall time of
all its solves / the test samples, and its error the mean primary metric of the solutions,
scored as a model's predictions are (:func:`opbench.eval.evaluator.metric_values`).

The curve depends only on the data and the machine, so it is measured once per data
fingerprint, ladder version, worker count and CPU, and cached under
``$OPBENCH_HOME/solver-curves/`` (:func:`solver_curve`, under a file lock). It states the
machine's 1-minute load average when it was measured: timings on a busy machine (inside a
two-worker sweep) are skewed.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

import torch
from filelock import FileLock
from pydantic import ValidationError

from opbench.data.base import Benchmark, SolveFn, SolverLadder
from opbench.data.cache import opbench_home
from opbench.environment import cpu_name
from opbench.eval.equal_accuracy import (
    EqualAccuracy,
    SolverCurve,
    SolverPoint,
    Timing,
    equal_accuracy,
    lower_envelope,
)
from opbench.eval.evaluator import metric_values
from opbench.io import stable_hash, write_json_atomic
from opbench.workers import process_pool


def _solve_all(
    solve: SolveFn, problems: list[Any], pool: Executor | None, workers: int
) -> tuple[list[Any], float]:
    """Every problem solved (in order) and the wall seconds it took, in the ``workers``
    processes of ``pool`` (in this process when ``None``), after each has solved one
    problem untimed."""

    def run(items: list[Any]) -> list[Any]:
        if pool is None:
            return [solve(item) for item in items]
        chunk = max(1, math.ceil(len(items) / (4 * workers)))
        return list(pool.map(solve, items, chunksize=chunk))

    run([problems[0]] * workers)
    start = time.perf_counter()
    solutions = run(problems)
    return solutions, time.perf_counter() - start


def measure_curve(
    benchmark: Benchmark, ladder: SolverLadder, workers: int, batch_size: int = 64
) -> SolverCurve:
    """Run every setting of ``ladder`` on the test split of ``benchmark`` (module docstring)."""
    metric = benchmark.task.primary_metric
    n = len(benchmark.splits["test"])
    load = os.getloadavg()[0]
    measured = []
    with contextlib.ExitStack() as stack:
        pool = None if workers == 1 else stack.enter_context(process_pool(workers))
        solved = {
            name: _solve_all(solve, ladder.problems, pool, workers)
            for name, solve in ladder.options.items()
        }
    for name, (solutions, seconds) in solved.items():
        prediction = ladder.to_prediction(solutions)
        values = metric_values(benchmark, "test", prediction, [metric], batch_size)[metric]
        measured.append((name, seconds / n, float(values.double().mean())))
    on = lower_envelope([(seconds, error) for _, seconds, error in measured])
    return SolverCurve(
        fingerprint=benchmark.info.fingerprint,
        metric=metric,
        n_samples=n,
        workers=workers,
        cpu=cpu_name(),
        load_average=round(load, 2),
        measured=datetime.now(UTC).isoformat(timespec="seconds"),
        points=[
            SolverPoint(name=name, seconds_per_sample=seconds, error=error, envelope=flag)
            for (name, seconds, error), flag in zip(measured, on, strict=True)
        ],
        not_applicable=ladder.not_applicable,
    )


def solver_curve(benchmark: Benchmark, workers: int, refresh: bool = False) -> SolverCurve | None:
    """The cached curve of ``benchmark``'s test split on this CPU with ``workers`` processes,
    measured first if there is none or ``refresh`` asks for it (``None`` when the family
    has no solver ladder)."""
    ladder = benchmark.solver_ladder
    if ladder is None:
        return None
    key = stable_hash(
        {
            "fingerprint": benchmark.info.fingerprint,
            "metric": benchmark.task.primary_metric,
            "ladder": ladder.version,
            "options": sorted(ladder.options),
            "workers": workers,
            "cpu": cpu_name(),
        }
    )
    path = opbench_home() / "solver-curves" / f"{benchmark.family}-{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_suffix(".lock")):
        if path.is_file() and not refresh:
            try:
                return SolverCurve.model_validate_json(path.read_text())
            except ValidationError:  # a damaged cache entry is measured again
                pass
        curve = measure_curve(benchmark, ladder, workers)
        write_json_atomic(path, curve.model_dump(mode="json"))
        return curve


def place_model(
    benchmark: Benchmark,
    model_error: float,
    model_seconds_per_sample: float,
    timing: Timing,
    refresh_curve: bool = False,
) -> EqualAccuracy | None:
    """The model against the cached curve of ``benchmark`` (measured again with
    ``refresh_curve``), on as many processes as the model's torch threads (the same cores);
    ``None`` without a solver ladder."""
    load = os.getloadavg()[0]
    curve = solver_curve(benchmark, torch.get_num_threads(), refresh=refresh_curve)
    if curve is None:
        return None
    return equal_accuracy(curve, model_error, model_seconds_per_sample, timing, round(load, 2))
