"""What ``opbench run`` prints at the end of a run: the results table, the files it wrote,
and where the run sits against the published board's converged rows."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from opbench.results.leaderboard import leaderboard_rows
from opbench.results.publish import RECORDS_DIR, read_published_records
from opbench.results.record import RECORD_NAME, Record
from opbench.results.text import interval_text, mean_std, percent

BOARD_ROWS_SHOWN = 5


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def results_table(run_record: Record) -> Table:
    """Test metrics (mean ± std, median) per scored config, then training and cost facts."""
    record = run_record.to_json()
    dataset, model, train, cost = (record[key] for key in ("dataset", "model", "train", "cost"))
    title = (
        f"{model['name']} ({model['preset']}) on {dataset['family']} {dataset['config']} "
        f"[{dataset['source']} data], seed {train['seed']}: status {train['status']}"
    )
    table = Table(title=escape(title))
    for column in ("split", "metric", "mean ± std", "median"):
        table.add_column(column)
    for split, metrics in record["metrics"].items():
        for name, summary in metrics.items():
            table.add_row(
                split,
                name,
                f"{_number(summary['mean'])} ± {_number(summary['std'])}",
                _number(summary["median"]),
            )
    for name, transfer in run_record.transfer.items():
        shape = "×".join(map(str, transfer.shape))
        direct = _number(transfer.direct) if transfer.not_applicable is None else "n/a"
        table.add_row(
            f"{name} ({shape})",
            f"{transfer.metric} direct / yardstick / gap",
            f"{direct} / {_number(transfer.yardstick)} / {_number(transfer.gap)}",
            "",
        )
    best = train["best_epoch"]
    if train["epochs_run"] == 0:
        training = "fitted in closed form"
    else:
        best_text = best if best is not None else "—"
        training = f"epochs {train['epochs_run']} (best {best_text} on validation)"
    table.caption = (
        f"{training}, train {cost['train_seconds']:.1f} s, params {cost['params']:,}, "
        f"inference {_number(cost['infer_ms_per_sample'])} ms/sample, full-accuracy solve "
        f"{_number(cost['solver_ms_per_sample'])} ms/sample (ratio {_number(cost['speedup'])})"
    )
    if run_record.equal_accuracy is not None:
        table.caption += f"; {run_record.equal_accuracy.summary()}"
    return table


def files_written(run_record: Record) -> list[str]:
    """Every file the run wrote, relative to its run directory: the record and the files
    it lists."""
    return [RECORD_NAME, *run_record.files.values()]


def board_comparison(run_record: Record, root: Path) -> list[str]:
    """Lines that place the run against the published board under ``root``: the converged
    rows of its table (same family, config and task), or, when the board has none, the
    best converged row of each of the family's tables; then what this run is beside them
    (its budget and its own plateau check)."""
    record = run_record.to_json()
    dataset = record["dataset"]
    family, config, task = dataset["family"], dataset["config"], dataset["task"]
    if not (Path(root) / RECORDS_DIR).is_dir():
        return [
            f"No published board at {root} to compare with (--board names one: the "
            "repository's leaderboards/).",
            _this_run(run_record),
        ]
    published = read_published_records(root)
    rows = [row for row in leaderboard_rows(published) if row.family == family and row.ranked]
    same = [row for row in rows if (row.config, row.task) == (config, task)]
    lines = []
    if same:
        lines.append(
            f"The board ({root}/{family}.md), converged rows of {family} {config} / {task}:"
        )
        for row in same[:BOARD_ROWS_SHOWN]:
            lines.append(
                f"  {row.rank_label:>3}  {row.model:<10} {row.primary_metric} "
                f"{mean_std(row.primary.mean, row.primary.std)}  {interval_text(row.interval)}"
                f"  ({row.budget}, {row.n} seeds, data {row.fingerprint[:8]})"
            )
        if all(row.fingerprint != dataset["fingerprint"] for row in same):
            lines.append(
                f"  (the board's data differ from this run's, {dataset['fingerprint'][:8]}: "
                "another size or seed of the generated data)"
            )
    else:
        tables = sorted({(row.config, row.task) for row in rows})
        best = [next(row for row in rows if (row.config, row.task) == t) for t in tables]
        lines.append(
            f"The board ({root}) has no converged rows for {family} {config} / {task}"
            + (f"; the best of its {family} tables:" if best else ".")
        )
        lines += [
            f"  {row.config} / {row.task}: {row.model} {row.primary_metric} "
            f"{mean_std(row.primary.mean, row.primary.std)} ({row.budget})"
            for row in best
        ]
    lines.append(_this_run(run_record))
    return lines


def _this_run(run_record: Record) -> str:
    """This run beside the board: its budget and whether its own plateau check passed."""
    train = run_record.train
    metric = run_record.primary_metric
    value = run_record.metrics["test"][metric].mean
    shown = "—" if value is None else f"{value:.4g}"
    if train.epochs_run == 0:
        return f"This run: {metric} {shown}, fitted in closed form."
    text = (
        f"This run: {metric} {shown} after {train.epochs_run} epochs at lr "
        f"{train.config.lr:g}, outside the board's protocol (no learning-rate pilot, no "
        "doubling check)"
    )
    plateau = run_record.convergence.plateau if run_record.convergence else None
    if plateau is not None and not plateau.passed:
        gain = plateau.relative_improvement
        reason = (
            f"the rate never sat at its minimum over the last {plateau.window_epochs} epochs"
            if not plateau.min_lr_reached
            else f"validation still improved {percent(gain)} over its last "
            f"{plateau.window_epochs} epochs"
        )
        text += f"; it has not converged: {reason}"
    return text + "."
