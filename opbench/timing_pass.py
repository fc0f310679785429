"""A timing pass: the solver at equal accuracy for finished runs, timed on an idle machine.

Inference times taken at the end of a run inside a two-worker sweep share the cores with
the other worker, and so does the solver curve. ``opbench timing-pass RUNS`` revisits every
finished run under ``RUNS`` whose family has a solver ladder (:mod:`opbench.eval.solver_curve`)
after the sweep, one at a time: it loads the run's data and its best checkpoint, times the
model's batched inference (:func:`opbench.eval.timing.inference_ms_per_sample`), places the
model on the solver's curve of the same test split (measured again once per data
fingerprint in the pass, so that the curve too is timed on the idle machine, and cached
for the next runs), and rewrites the run's
``record.json`` (atomically, validated) with that ``equal_accuracy`` section, marked
``timing: "timing pass"`` with the load average it was taken at. Its test error is the one
the record holds: the test split is not scored again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from opbench.checkpoint import load_checkpoint, load_module_tensors
from opbench.data import DATASETS
from opbench.errors import ConfigError
from opbench.eval import timing
from opbench.eval.solver_curve import place_model
from opbench.results import publish
from opbench.results.publish import RECORDS_DIR
from opbench.results.record import RECORD_NAME, Record, read_record, write_record
from opbench.run import prepare, read_spec
from opbench.train.trainer import BEST


def time_run(run_dir: Path, refresh_curve: bool = True) -> Record:
    """Time one finished run (module doc) and return its rewritten record; the solver
    curve is measured again with ``refresh_curve``, else read from the cache."""
    run_dir = Path(run_dir)
    record = read_record(run_dir / RECORD_NAME)
    spec = read_spec(run_dir)
    if DATASETS.get(spec.dataset).numerical_solver is None:
        raise ConfigError(f"{run_dir}: the {spec.dataset} family has no solver ladder")
    error = record.metrics["test"][record.primary_metric].mean
    checkpoint = run_dir / "checkpoints" / BEST
    if error is None or not checkpoint.is_file():
        raise ConfigError(f"{run_dir}: the run has no finite test error or no best checkpoint")
    prepared = prepare(spec.model_copy(update={"test_configs": [], "transfer_configs": []}))
    tensors, _ = load_checkpoint(checkpoint)
    load_module_tensors(prepared.surrogate, tensors)
    benchmark, device = prepared.benchmark, torch.device(spec.device.value)
    prepared.surrogate.to(device)
    infer_ms = timing.inference_ms_per_sample(
        prepared.surrogate, benchmark.splits["test"], spec.train.eval_batch_size, device
    )
    section = place_model(benchmark, error, infer_ms / 1e3, "timing pass", refresh_curve)
    timed = record.model_copy(update={"equal_accuracy": section})
    write_record(run_dir, timed)
    return timed


def finished_runs(runs: Path) -> Iterator[Path]:
    """The run directories under ``runs`` (itself one, or its children) with a record."""
    runs = Path(runs)
    if not runs.is_dir():
        raise ConfigError(f"{runs}: not a directory of runs")
    if (runs / RECORD_NAME).is_file():
        yield runs
        return
    for child in sorted(runs.iterdir()):
        if (child / RECORD_NAME).is_file():
            yield child


def timing_pass(
    runs: Path, redo: bool = False, root: Path | None = None
) -> list[tuple[Path, Record | str]]:
    """Time every finished run under ``runs`` whose family has a solver ladder and whose
    record has no timing-pass section yet (all of them with ``redo``); returns each run
    with its new record, or why it was left alone. With ``root`` (a leaderboard), the
    published copies of the timed runs get the new section too (:func:`publish_timing`)."""
    results: list[tuple[Path, Record | str]] = []
    measured: set[str] = set()  # data fingerprints whose curve this pass measured
    for run_dir in finished_runs(runs):
        record = read_record(run_dir / RECORD_NAME)
        done = record.equal_accuracy is not None and record.equal_accuracy.timing == "timing pass"
        if done and not redo:
            results.append((run_dir, "timed before"))
            continue
        fingerprint = record.dataset.fingerprint
        try:
            timed = time_run(run_dir, fingerprint not in measured)
            measured.add(fingerprint)
            if root is not None:
                publish_timing(timed, root)
            results.append((run_dir, timed))
        except ConfigError as error:
            results.append((run_dir, str(error)))
    return results


def publish_timing(timed: Record, root: Path) -> list[Path]:
    """Write the timing pass's ``equal_accuracy`` section into the copies of ``timed`` that
    the leaderboard under ``root`` publishes: the record itself and, for a check run that
    the protocol also published as the next rung's board run, that copy
    (``<run id>-board``, :mod:`opbench.protocol`)."""
    section = {"equal_accuracy": timed.equal_accuracy.model_dump(mode="json")}
    copies = (timed.run_id, f"{timed.run_id}-board")
    directory = Path(root) / RECORDS_DIR
    return [
        publish.update_sections(root, run_id, section)
        for run_id in copies
        if (directory / f"{run_id}.json").is_file()
    ]
