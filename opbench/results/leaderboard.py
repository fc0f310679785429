"""Leaderboard rows: a pure function from run records to ranked, aggregated rows.

A row aggregates the seeds of one model on one dataset: runs that share family, config,
task, data fingerprint, model, preset, model hyperparameters (a short hash, so runs with
overridden hyperparameters never pass for seeds of the preset) and training budget. Each
run contributes the mean of a metric over its test samples (``metrics.test.<m>.mean``);
a row reports the mean and sample standard deviation (ddof=1) of those over its seeds.
Diverged runs are counted in ``n_diverged`` and left out of every mean.

A table is (family, config, task, data fingerprint): it never mixes test sets, so that its
paired comparisons are always on the same test samples; runs of one config on other data
(another size, another seed of the data) make a table of their own.

Only ``board`` records make rows; ``pilot`` and ``check`` records (the protocol's
learning-rate pilots and doubling checks, :mod:`opbench.protocol`) are counted per table
(:func:`role_counts`) and never rows.

Convergence: a trained row is *converged* when each of its counted runs passed its
plateau check and carries its model's passed doubling check
(:mod:`opbench.eval.convergence`); fitted baselines need no evidence. A trained row
without that evidence is *not converged* and is not ranked; nor is a row with fewer than
three counted seeds. Rows that are not ranked are listed after the ranked rows, with a rank
of "–".

Ranks, within a table, among the rows that may be ranked: where every such row's runs carry their
per-sample test errors (version-2 records) on the same data fingerprint, a row's rank is
1 + the number of rows significantly better than it by a hierarchical paired bootstrap
over seeds and test samples with Holm's correction (:mod:`opbench.eval.statistics`), so
rows may share a rank, and each row has an interval over seeds and samples. Otherwise
(version-1 records) rows are ranked by the mean of the primary metric alone, lower first,
untested and without intervals. Rows with only diverged runs come last.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from opbench.config import Role
from opbench.errors import DataError
from opbench.eval.statistics import ALPHA, rank_rows
from opbench.io import stable_hash

COUNTED_STATUSES = ("ok", "budget")
RANKED_CONVERGENCE = ("converged", "fitted")
"""Row convergence states that may be ranked."""
MIN_RANKED_SEEDS = 3
"""A row is ranked only with at least this many counted seeds (a one-seed table, such as
the Poisson table, is shown unranked)."""
"""Statuses whose runs count as seeds of a row (``diverged`` runs are only counted)."""

Record = dict[str, Any]
"""A run record in JSON form (:meth:`opbench.results.record.Record.to_json`)."""
Key = Hashable
"""What names a row within its table."""


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1) of the known values of one quantity.

    ``std`` is ``None`` below two values, ``mean`` is ``None`` when there are none.
    """

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Stat:
        """Summarise ``values``, skipping ``None``."""
        known = [float(v) for v in values if v is not None]
        return cls(
            mean=statistics.fmean(known) if known else None,
            std=statistics.stdev(known) if len(known) > 1 else None,
            n=len(known),
        )


@dataclass(frozen=True)
class LeaderboardRow:
    """One model on one dataset at one budget, aggregated over seeds.

    Attributes:
        family, config, task: the table the row belongs to.
        fingerprint: the data fingerprint shared by the row's runs.
        model, preset: the model's registry name and preset.
        hparams: short hash of the resolved model hyperparameters.
        budget: :func:`budget_label` (epochs and learning rate, or ``fitted``).
        rank: 1 + the rows of its table significantly better than it (``tested``), or
            the 1-based position by primary-metric mean (untested).
        tied: another row of the table shares the rank (tested tables only).
        tested: the rank comes from the paired bootstrap test (module docstring).
        interval: the 95 % hierarchical bootstrap interval of the primary metric's mean
            over seeds and test samples (tested tables only).
        primary_metric: the metric that ranks the table.
        metrics: test metric name → :class:`Stat` over counted seeds, primary first.
        n: runs that count as seeds (status ``ok`` or ``budget``).
        n_diverged: runs that diverged.
        seeds, run_ids: of every run in the row, diverged ones included, by seed.
        params: trainable parameter count.
        train_seconds, infer_ms_per_sample, speedup: means over counted seeds.
        equal_speedup: mean over the row's runs of the speedup at equal accuracy
            (:mod:`opbench.eval.equal_accuracy`), when every run that measured it is on
            the solver's curve.
        equal_runs, equal_on_curve: runs that measured it, and those on the curve.
        source: ``generated`` or ``real``.
        device: where costs were measured, e.g. ``cuda: NVIDIA H100, threads=16``.
        published: whether the config is one of the family's published configs.
        convergence: ``converged``, ``not converged``, ``fitted`` (a fitted baseline,
            not trained) or ``no evidence`` (records without a convergence section).
        plateau_passed: counted runs that passed their plateau check.
        plateau_improvement: the largest plateau-window improvement over the counted runs.
        doubling_improvement, doubling_epochs: the model's doubling check on this table
            (the improvement at twice the budget, and that budget), where attached.
    """

    family: str
    config: str
    task: str
    fingerprint: str
    model: str
    preset: str
    hparams: str
    budget: str
    rank: int
    primary_metric: str
    metrics: dict[str, Stat]
    n: int
    n_diverged: int
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    params: int
    train_seconds: float | None
    infer_ms_per_sample: float | None
    speedup: float | None
    source: str
    device: str
    published: bool = True
    tied: bool = False
    tested: bool = False
    interval: tuple[float, float] | None = None
    equal_speedup: float | None = None
    equal_runs: int = 0
    equal_on_curve: int = 0
    convergence: str = "no evidence"
    plateau_passed: int = 0
    plateau_improvement: float | None = None
    doubling_improvement: float | None = None
    doubling_epochs: int | None = None

    @property
    def ranked(self) -> bool:
        """Whether the row may be ranked: converged (or a fitted baseline) and at least
        :data:`MIN_RANKED_SEEDS` counted seeds."""
        return self.convergence in RANKED_CONVERGENCE and self.n >= MIN_RANKED_SEEDS

    @property
    def primary(self) -> Stat:
        """The primary metric's summary."""
        return self.metrics[self.primary_metric]

    @property
    def rank_label(self) -> str:
        """``2`` or, when the rank is shared, ``2=``; ``–`` for a row that is not ranked."""
        if not self.ranked:
            return "–"
        return f"{self.rank}=" if self.tied else str(self.rank)


TableKey = tuple[str, str, str, str]
"""A table: family, config, task and data fingerprint."""


def record_table(record: Record) -> TableKey:
    """The table a record belongs to."""
    d = record["dataset"]
    return (d["family"], d["config"], d["task"], d["fingerprint"])


def table_key(row: LeaderboardRow) -> TableKey:
    return (row.family, row.config, row.task, row.fingerprint)


def group_tables(rows: Sequence[LeaderboardRow]) -> dict[TableKey, list[LeaderboardRow]]:
    """Rows by table (:data:`TableKey`), tables in sorted order, rows by rank."""
    tables: dict[TableKey, list[LeaderboardRow]] = {}
    for row in rows:
        tables.setdefault(table_key(row), []).append(row)
    return {key: sorted(tables[key], key=lambda row: row.rank) for key in sorted(tables)}


def table_label(key: TableKey, keys: Iterable[TableKey]) -> str:
    """``config / task``, with ``· data <fingerprint>`` where other tables hold the same
    config and task on other data."""
    _, config, task, fingerprint = key
    twins = [k for k in keys if k[:3] == key[:3]]
    label = f"{config} / {task}"
    return label if len(twins) < 2 else f"{label} · data {fingerprint[:8]}"


def budget_label(train: dict[str, Any]) -> str:
    """A run's training budget from its record's ``train`` section: ``50 epochs, lr
    0.001``, with ``≤ 2 min`` where a wall-clock budget was set; ``fitted`` for a fitted
    baseline (no epochs)."""
    budget = train["budget"]
    if budget["epochs"] == 0:
        return "fitted"
    label = f"{budget['epochs']} epoch{'s' if budget['epochs'] != 1 else ''}"
    if (lr := train["config"].get("lr")) is not None:
        label += f", lr {lr:g}"
    if budget["max_minutes"] is not None:
        label += f", ≤ {budget['max_minutes']:g} min"
    return label


def device_label(record: Record) -> str:
    """Where a run's costs were measured: device, its name and thread count."""
    device, name = record["cost"]["device"], record["environment"]["device_name"]
    label = f"{device}: {name}" if name and name != device else device
    threads = record["cost"]["threads"]
    return f"{label}, {threads} thread{'s' if threads != 1 else ''}"


TABLE = ["dataset.family", "dataset.config", "dataset.task"]
"""The columns that name a table."""
GROUP = [*TABLE, "dataset.fingerprint", "model.name", "model.preset", "hparams", "budget"]
"""The columns that name a row: the table, the data, the model and its budget."""


def record_frame(records: Sequence[Record]) -> pd.DataFrame:
    """One row per record, flattened with dotted column names (``pd.json_normalize``),
    plus the derived ``hparams`` (short hash of the hyperparameters), ``budget`` (label),
    ``device`` (label) and ``counted`` (status ``ok`` or ``budget``)."""
    frame = pd.json_normalize(list(records), sep=".", max_level=None)
    frame["hparams"] = [stable_hash(r["model"]["hyperparameters"], length=8) for r in records]
    frame["budget"] = [budget_label(r["train"]) for r in records]
    frame["device"] = [device_label(r) for r in records]
    frame["counted"] = frame["train.status"].isin(COUNTED_STATUSES)
    return frame


def board_records(records: Sequence[Record]) -> list[Record]:
    """The records that make rows: role ``board`` (version-1 records have no role and
    are board records)."""
    return [r for r in records if r.get("role", "board") == "board"]


@dataclass
class RunsTried:
    """Every run tried for one table: how many in each role (``board``, ``pilot``,
    ``check``), the epoch budgets each role ran at (fitted baselines have none) and how
    many runs diverged, so that the page discloses every run."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Role, 0))
    epochs: dict[str, set[int]] = field(default_factory=lambda: {role: set() for role in Role})
    diverged: int = 0

    def add(self, record: Record) -> None:
        role = record.get("role", "board")
        self.counts[role] += 1
        if budget := record["train"]["budget"]["epochs"]:
            self.epochs[role].add(budget)
        self.diverged += record["train"]["status"] == "diverged"


def role_counts(records: Sequence[Record]) -> dict[TableKey, RunsTried]:
    """Per table: every run tried (:class:`RunsTried`)."""
    tried: dict[TableKey, RunsTried] = {}
    for r in records:
        tried.setdefault(record_table(r), RunsTried()).add(r)
    return tried


def counted_groups(records: Sequence[Record]) -> Iterator[tuple[tuple[Any, ...], list[Record]]]:
    """Each board row's key (:data:`GROUP`) and its counted runs, for the tables built
    beside the board (distribution shift, resolution transfer); rows without counted runs
    are left out."""
    records = board_records(records)
    if not records:
        return
    frame = record_frame(records)
    for key, group in frame.groupby(GROUP, sort=False):
        runs = [records[i] for i in group.index[group["counted"]]]
        if runs:
            yield key, runs


def _metric_names(group: pd.DataFrame, primary: str) -> list[str]:
    """The primary metric first, then every other test metric any run of ``group`` reports
    (a reported metric always has a count ``n``)."""
    reported = {
        column.removeprefix("metrics.test.").removesuffix(".n")
        for column in group.columns
        if column.startswith("metrics.test.")
        and column.endswith(".n")
        and group[column].notna().any()
    }
    return [primary, *sorted(reported - {primary})]


def _row(key: tuple[Any, ...], group: pd.DataFrame) -> LeaderboardRow:
    """The unranked row of one group of runs."""
    family, config, task, fingerprint, model, preset, hparams, budget = key
    group = group.sort_values(["train.seed", "run_id"])
    repeated = group[group["train.seed"].duplicated(keep=False)]
    if len(repeated):
        raise DataError(
            f"runs {', '.join(repeated['run_id'])} are all seed {repeated['train.seed'].iloc[0]} "
            f"of {model} ({preset}, {budget}) on {family}/{config}/{task}; keep one of them"
        )
    counted = group[group["counted"]]
    primary = group["primary_metric"].iloc[0]
    means = {name: f"metrics.test.{name}.mean" for name in _metric_names(group, primary)}
    costs = ["cost.train_seconds", "cost.infer_ms_per_sample", "cost.speedup"]
    # Stat.of sums exactly (statistics.fmean, stdev): equal values give a std of exactly 0
    stats = counted.reindex(columns=[*means.values(), *costs]).agg(
        lambda column: Stat.of(column.dropna())
    )
    return LeaderboardRow(
        family=family,
        config=config,
        task=task,
        fingerprint=fingerprint,
        model=model,
        preset=preset,
        hparams=hparams,
        budget=budget,
        rank=0,
        primary_metric=primary,
        metrics={name: stats[column] for name, column in means.items()},
        n=len(counted),
        n_diverged=len(group) - len(counted),
        seeds=tuple(int(seed) for seed in group["train.seed"]),
        run_ids=tuple(group["run_id"]),
        params=int(group["cost.params"].iloc[0]),
        train_seconds=stats["cost.train_seconds"].mean,
        infer_ms_per_sample=stats["cost.infer_ms_per_sample"].mean,
        speedup=stats["cost.speedup"].mean,
        source=_joined(group["dataset.source"]),
        device=_joined(group["device"]),
        published=bool(group["dataset.published"].all()) if "dataset.published" in group else True,
        **_equal_accuracy(counted),
        **_convergence(counted),
    )


def may_rank(runs: Sequence[Record]) -> bool:
    """Whether a row of these counted runs may be ranked (the board's rule, module
    docstring): tables built beside the board (distribution shift) rank the same rows."""
    if len(runs) < MIN_RANKED_SEEDS:
        return False
    return _convergence(record_frame(runs))["convergence"] in RANKED_CONVERGENCE


def _convergence(counted: pd.DataFrame) -> dict[str, Any]:
    """The row's convergence fields from its counted runs' ``convergence`` sections (the
    module docstring says when a row is converged)."""
    if counted.empty:
        return {"convergence": "not converged"}
    if (counted["train.epochs_run"] == 0).all():
        return {"convergence": "fitted"}

    def column(name: str) -> pd.Series:
        return counted.get(f"convergence.{name}", pd.Series(None, index=counted.index))

    plateau, doubling = column("plateau.passed"), column("doubling.passed")
    if plateau.isna().all():
        return {"convergence": "no evidence"}
    plateau_gain = column("plateau.relative_improvement").dropna()
    doubling_gain = column("doubling.relative_improvement").dropna()
    doubling_epochs = column("doubling.check_epochs").dropna()
    converged = bool(plateau.eq(True).all() and doubling.eq(True).all())
    return {
        "convergence": "converged" if converged else "not converged",
        "plateau_passed": int(plateau.eq(True).sum()),
        "plateau_improvement": float(plateau_gain.max()) if len(plateau_gain) else None,
        "doubling_improvement": float(doubling_gain.iloc[0]) if len(doubling_gain) else None,
        "doubling_epochs": int(doubling_epochs.iloc[0]) if len(doubling_epochs) else None,
    }


def _equal_accuracy(counted: pd.DataFrame) -> dict[str, Any]:
    """The row's equal-accuracy fields from its counted runs' sections."""
    positions = counted.get("equal_accuracy.position", pd.Series(dtype=object)).dropna()
    speedups = counted.get("equal_accuracy.speedup", pd.Series(dtype=float)).dropna()
    on_curve = int((positions == "on the curve").sum())
    return {
        "equal_speedup": Stat.of(speedups).mean if on_curve == len(positions) else None,
        "equal_runs": len(positions),
        "equal_on_curve": on_curve,
    }


def _joined(values: Iterable[str]) -> str:
    return " / ".join(sorted(set(values)))


def _rank_key(row: LeaderboardRow) -> tuple[Any, ...]:
    mean = row.primary.mean
    return (
        not row.ranked,
        mean is None,
        mean or 0.0,
        row.model,
        row.preset,
        row.hparams,
        row.budget,
        row.fingerprint,
    )


def leaderboard_rows(records: Sequence[Record]) -> list[LeaderboardRow]:
    """Aggregate validated run records (JSON form) into ranked rows, sorted by table then
    rank.

    Raises :class:`DataError` when the runs of one table disagree on the primary metric,
    or when one row holds two runs of the same seed.
    """
    records = board_records(records)
    if not records:
        return []
    frame = record_frame(records)
    primaries = frame.groupby(TABLE)["primary_metric"].unique()
    for table, names in primaries.items():
        if len(names) > 1:
            raise DataError(
                f"runs on {'/'.join(table)} disagree on the primary metric: {sorted(names)}"
            )
    tables: dict[TableKey, list[tuple[LeaderboardRow, np.ndarray | None]]] = {}
    for key, group in frame.groupby(GROUP, sort=False):
        counted = group[group["counted"]]
        errors = stacked_errors(list(counted.get("per_sample.values.test", [None])))
        tables.setdefault(key[:4], []).append((_row(key, group), errors))
    return [row for table in sorted(tables) for row in _ranked(tables[table])]


def stacked_errors(values: Sequence[Sequence[float | None] | None]) -> np.ndarray | None:
    """(S, N): the per-sample errors of a row's counted runs (one list per run), by seed;
    ``None`` when there are none, a run lacks them (version 1), they differ in length or
    any is not finite."""
    if not values or any(not isinstance(v, Sequence) for v in values):
        return None
    if len({len(v) for v in values}) > 1 or any(x is None for v in values for x in v):
        return None
    return np.array(values, dtype=np.float64)


@dataclass(frozen=True)
class Place:
    """A row's rank in its table (see :class:`LeaderboardRow` for the fields)."""

    rank: int
    tied: bool = False
    tested: bool = False
    interval: tuple[float, float] | None = None


def places(
    order: Sequence[Key],
    means: dict[Key, float | None],
    errors: dict[Key, np.ndarray | None],
    fingerprints: dict[Key, str],
) -> dict[Key, Place]:
    """The ranks of one table's rows, given in ``order`` (by mean, rows without a mean
    last): tested ranks when every row with a mean has per-sample errors on the same data
    (module docstring), otherwise positions in ``order``."""
    ranked = [key for key in order if means[key] is not None]
    tested = (
        bool(ranked)
        and len({fingerprints[key] for key in ranked}) == 1
        and all(errors[key] is not None for key in ranked)
        and len({errors[key].shape[1] for key in ranked}) == 1
    )
    if not tested:
        return {key: Place(rank) for rank, key in enumerate(order, start=1)}
    names = {key: str(i) for i, key in enumerate(ranked)}
    result = rank_rows({names[key]: errors[key] for key in ranked}, ALPHA)
    out = {}
    for key in ranked:
        place = result[names[key]]
        out[key] = Place(place.rank, place.tied, True, (place.low, place.high))
    for position, key in enumerate(order[len(ranked) :], start=len(ranked) + 1):
        out[key] = Place(position)
    return out


def _ranked(rows: list[tuple[LeaderboardRow, np.ndarray | None]]) -> list[LeaderboardRow]:
    """One table's rows (each with its per-sample errors) with their ranks (module
    docstring), sorted by rank then mean."""
    ordered = sorted(range(len(rows)), key=lambda i: _rank_key(rows[i][0]))
    placed = places(
        ordered,
        {i: rows[i][0].primary.mean if rows[i][0].ranked else None for i in ordered},
        {i: rows[i][1] for i in ordered},
        {i: rows[i][0].fingerprint for i in ordered},
    )
    out = [
        replace(
            rows[i][0],
            rank=placed[i].rank,
            tied=placed[i].tied,
            tested=placed[i].tested,
            interval=placed[i].interval,
        )
        for i in ordered
    ]
    return sorted(out, key=lambda row: (row.rank, _rank_key(row)))
