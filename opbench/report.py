"""The results table ``opbench run`` prints at the end of a run."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from opbench.results.record import Record


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
