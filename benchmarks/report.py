"""Turn pytest-benchmark JSON into ``benchmarks/README.md`` (regenerated, never hand-typed).

    pytest benchmarks/ --benchmark-json benchmarks/results/latest.json
    python benchmarks/report.py benchmarks/results/latest.json \\
        --before benchmarks/results/before.json --out benchmarks/README.md

Every figure comes from the JSON: the ratios each benchmark stored in ``extra_info`` (each
measured against its yardstick in the same run), the seconds-per-epoch table (with a
"before" column from an earlier JSON when given), the machine and the commit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

ZOO_EXCLUDED = ("lsm",)
"""Models left out of the zoo's total at 32² (LSM pads a 32² map to 64²; issue 12)."""


def _load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _runs(data: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [b["extra_info"] for b in data["benchmarks"] if b["name"].startswith(prefix)]


def _machine(data: dict[str, Any]) -> str:
    machine, commit = data["machine_info"], data.get("commit_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw") or machine.get("processor") or "?"
    cores = machine.get("cpu", {}).get("count", "?")
    return (
        f"{cpu}, {cores} cores, Python {machine.get('python_version', '?')}; commit "
        f"`{str(commit.get('id', '?'))[:10]}`{' (dirty)' if commit.get('dirty') else ''}, "
        f"{data.get('datetime', '?')[:19]} UTC"
    )


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, tablefmt="pipe", disable_numparse=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}g}"


def trainer_section(data: dict[str, Any]) -> list[str]:
    runs = _runs(data, "test_trainer_epoch_over_bare_loop")
    if not runs:
        return []
    rows = [
        {
            "model": r["model"],
            "opbench epoch ÷ bare loop": f"{r['ratio']:.3f} [{r['ratio_low']:.3f}, "
            f"{r['ratio_high']:.3f}]",
            "opbench s/epoch": _fmt(r["opbench_seconds"]),
            "bare s/epoch": _fmt(r["bare_seconds"]),
            "paired epochs": r["n_epochs"],
        }
        for r in sorted(runs, key=lambda r: r["model"])
    ]
    return [
        "## The trainer against a bare loop",
        "",
        "`benchmarks/test_trainer_speed.py`: every trainable grid model (LSM: `small32`), "
        "ConDiff `cubic0.1` at 32² (900 train / 100 validation samples), 2 threads, the side "
        "that runs first alternating; median ratio of paired steady epochs with a 95 % "
        "bootstrap interval. Goal: ≤ 1.03.",
        "",
        _table(pd.DataFrame(rows)),
        "",
    ]


GRADIENT_BAR = 1e-5
"""First-step gradients of a speed option must agree with the registered model's to this
(relative) for the option to be adoptable (issue 12)."""


def _option(speedup: float, difference: float) -> str:
    verdict = "ok" if difference <= GRADIENT_BAR else "fails 1e-5"
    return f"{speedup:.2f}× (Δg {difference:.1e}, {verdict})"


def options_section(data: dict[str, Any]) -> list[str]:
    runs = _runs(data, "test_speed_options")
    if not runs:
        return []
    rows = [
        {
            "model": r["model"],
            "step ms (as registered)": _fmt(r["step_ms"]),
            "registered layout": "channels-last" if r["registered_channels_last"] else "NCHW",
            "channels-last ÷ NCHW": _option(
                r["channels_last_speedup"], r["channels_last_grad_diff"]
            ),
            "torch.compile": _option(r["compile_speedup"], r["compile_grad_diff"]),
            "first compiled step, s": _fmt(r["compile_seconds"]),
            "inference_mode ÷ no_grad": f"{r['inference_mode_speedup']:.2f}×",
        }
        for r in sorted(runs, key=lambda r: r["model"])
    ]
    return [
        "## Architecture-preserving speed options",
        "",
        "`benchmarks/test_speed_options.py`: one training step at 32² (batch 16, 2 threads), "
        "speed-up of each option (> 1 is faster; medians of 30 interleaved rounds) and the "
        "relative difference Δg of its first-step gradients from the registered model's "
        "(all parameters; the bar is 1e-5). Inference: batch 64. The first compiled step "
        "includes inductor's compilation (less with a warm on-disk cache).",
        "",
        _table(pd.DataFrame(rows)),
        "",
    ]


def ratio_section(data: dict[str, Any]) -> list[str]:
    rows = []
    for bench in data["benchmarks"]:
        for key, value in bench["extra_info"].items():
            if key.endswith("_ratio"):
                rows.append({"benchmark": bench["name"], "ratio": key[:-6], "value": _fmt(value)})
    if not rows:
        return []
    return ["## Ratios against a yardstick", "", _table(pd.DataFrame(rows)), ""]


def _epochs(data: dict[str, Any]) -> pd.DataFrame:
    """One row per (dataset, model, threads, compiled); a preset other than ``small`` is
    named with the model, e.g. ``lsm (small32)``, and so is compilation: ``scot
    (compiled)``."""
    runs = [
        {
            **r,
            "model": r["model"]
            + (f" ({r['preset']})" if r.get("preset", "small") != "small" else "")
            + (" (compiled)" if r.get("compiled") else ""),
            "base": r["model"],
            "compiled": bool(r.get("compiled")),
        }
        for r in _runs(data, "test_seconds_per_epoch")
    ]
    return pd.DataFrame(
        runs, columns=["dataset", "model", "base", "compiled", "threads", "seconds_per_epoch"]
    )


def throughput_section(data: dict[str, Any]) -> list[str]:
    runs = _runs(data, "test_two_workers_over_one")
    if not runs:
        return []
    rows = [
        {
            "sweep": r["case"],
            "runs/hour, 1 worker × 2 threads": f"{r['one_worker_runs_per_hour']:.0f}",
            "runs/hour, 2 workers × 1 thread": f"{r['two_workers_runs_per_hour']:.0f}",
            "2 workers ÷ 1": f"{r['two_workers_over_one_throughput_ratio']:.2f}",
        }
        for r in runs
    ]
    return [
        "## Sweep throughput: workers and threads",
        "",
        "`benchmarks/test_sweep_throughput.py`: `opbench sweep`'s code path (spawned "
        "workers, records, checkpoints), data already in the cache. `opbench sweep` "
        "defaults to one worker per core, one thread each.",
        "",
        _table(pd.DataFrame(rows)),
        "",
    ]


class Zoo(NamedTuple):
    """A run's zoo (ConDiff 32², 2 threads, LSM excluded): seconds per epoch of the eager
    and of the compiled rows, by model, and of its bare FNO loop."""

    eager: pd.Series
    compiled: pd.Series
    bare: float

    @property
    def total(self) -> float:
        """The eager rows' sum: one epoch of every model."""
        return float(self.eager.sum())


def _zoo(data: dict[str, Any] | None) -> Zoo | None:
    """A run's :class:`Zoo`; ``None`` if it lacks the eager rows or the bare loop."""
    if data is None or not (yardstick := _runs(data, "test_bare_fno_yardstick")):
        return None
    epochs = _epochs(data)
    zoo = epochs[
        (epochs["dataset"] == "condiff-32")
        & (epochs["threads"] == 2)
        & ~epochs["base"].isin(ZOO_EXCLUDED)
    ].set_index("base")
    eager = zoo[~zoo["compiled"]]["seconds_per_epoch"]
    compiled = zoo[zoo["compiled"]]["seconds_per_epoch"]
    return Zoo(eager, compiled, yardstick[0]["seconds_per_epoch"]) if not eager.empty else None


def epochs_section(data: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    latest = _epochs(data)
    if latest.empty:
        return []
    table = latest.pivot_table(
        index=["dataset", "model"], columns="threads", values="seconds_per_epoch"
    )
    columns = {t: f"s/epoch, {t} thread{'s' if t > 1 else ''}" for t in table.columns}
    table = table.rename(columns=columns)
    if before is not None:
        earlier = _epochs(before).pivot_table(
            index=["dataset", "model"], columns="threads", values="seconds_per_epoch"
        )
        for threads in columns:
            if threads in earlier:
                table[f"before, {threads} thread{'s' if threads > 1 else ''}"] = earlier[threads]
    table = table.reset_index()
    shown = table.copy()
    for column in shown.columns[2:]:
        shown[column] = shown[column].map(_fmt)
    lines = [
        "## Seconds per epoch (planning figures)",
        "",
        "`benchmarks/test_epoch_seconds.py`: opbench's Trainer, the `small` preset (LSM at "
        "32²: `small32`, which needs no padding there), one epoch = training batches + "
        "validation pass (+ a checkpoint write at most every 60 s and at the end), timed "
        "after a warm-up epoch. ConDiff: 900 train / 100 validation samples; cavity-64: 20 "
        "generated cases per subset (582 training pairs); airfrans-full: 72 train / 8 "
        "validation simulations of 13 000 nodes.",
        "",
        _table(shown),
        "",
    ]
    zoo = _zoo(data)
    if zoo is None:
        return lines
    eager, compiled, bare = zoo.total, zoo.compiled, zoo.bare
    lines += [
        f"Zoo total at 32², 2 threads, LSM excluded: {eager:.1f} s per epoch = "
        f"{eager / bare:.2f} × the bare FNO loop timed in the same run ({bare:.2f} s).",
        "",
    ]
    earlier = _zoo(before)
    if earlier is not None:
        earlier_eager, earlier_bare = earlier.total, earlier.bare
        earlier_ratio = earlier_eager / earlier_bare
        lines += [
            f"Before: {earlier_eager:.1f} s per epoch = {earlier_ratio:.2f} × its own bare FNO "
            f"loop ({earlier_bare:.2f} s). The eager total is now {eager / earlier_eager:.0%} "
            f"of it in seconds, and its ratio to the bare loop "
            f"{eager / bare / earlier_ratio:.0%} of before's (the ratio cancels a change of "
            "machine, or of its state, between the two runs).",
            "",
        ]
    if not compiled.empty:
        with_option = pd.concat([zoo.eager.drop(compiled.index), compiled]).sum()
        against_before = (
            f", {with_option / bare / earlier_ratio:.0%} of before's ratio" if earlier else ""
        )
        lines += [
            f"With `--compile` ({', '.join(compiled.index)} compiled; the first epoch pays the "
            f"compilation): {with_option:.1f} s per epoch = {with_option / bare:.2f} × the "
            f"bare FNO loop{against_before}.",
            "",
        ]
    return lines


def render(data: dict[str, Any], before: dict[str, Any] | None) -> str:
    lines = [
        "# opbench performance figures",
        "",
        "Generated by `benchmarks/report.py` from the pytest-benchmark JSON of one run "
        "(`pytest benchmarks/ --benchmark-json benchmarks/results/latest.json`); do not "
        "edit by hand. Every ratio was measured against its yardstick in the same run.",
        "",
        f"Machine: {_machine(data)}.",
        *([f"Before: {_machine(before)}."] if before is not None else []),
        "",
        *trainer_section(data),
        *options_section(data),
        *ratio_section(data),
        *throughput_section(data),
        *epochs_section(data, before),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("latest", type=Path)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("README.md"))
    args = parser.parse_args()
    before = _load(args.before) if args.before else None
    args.out.write_text(render(_load(args.latest), before), encoding="utf-8")


if __name__ == "__main__":
    main()
