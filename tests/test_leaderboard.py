"""Leaderboard aggregation, ranking and the Markdown / CSV renderers."""

from __future__ import annotations

import csv
import datetime
import io
import math
import re

import numpy as np
import pytest
from test_record import make_record

from opbench.errors import ConfigError, DataError
from opbench.io import stable_hash
from opbench.results.leaderboard import budget_label, leaderboard_rows, record_frame, role_counts
from opbench.results.record import validate_record
from opbench.results.render import render_csv, render_markdown
from opbench.results.text import mean_std, percent, plural

DATE = datetime.date(2025, 1, 31)


def board(*records: dict) -> list[dict]:
    """Records as the board reads them: validated, in JSON form."""
    return [validate_record(record).to_json() for record in records]


def cells(line: str) -> list[str]:
    """The stripped cells of one Markdown table line."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def _records() -> list[dict]:
    """fno: 3 seeds; unet: 3 seeds; deeponet: 1 seed; lsm: diverged only."""
    records = [
        make_record("fno", seed, value, extra_metrics={"mse": mse})
        for seed, value, mse in [(0, 0.10, 1.0), (1, 0.12, 2.0), (2, 0.14, 3.0)]
    ]
    records += [make_record("unet", seed, v) for seed, v in [(0, 0.20), (1, 0.25), (2, 0.33)]]
    records.append(make_record("deeponet", 0, 0.5))
    records.append(make_record("lsm", 0, None, status="diverged"))
    return board(*records)


def _row(rows, model):
    (match,) = [row for row in rows if row.model == model]
    return match


def test_three_seeds_mean_and_sample_std() -> None:
    rows = leaderboard_rows(_records())
    fno = _row(rows, "fno")
    assert fno.n == 3
    assert fno.n_diverged == 0
    assert fno.seeds == (0, 1, 2)
    assert fno.primary_metric == "rel_l2"
    assert fno.primary.mean == pytest.approx(0.12)
    assert fno.primary.std == pytest.approx(0.02)  # sqrt((0.02² + 0 + 0.02²) / 2)
    assert fno.metrics["mse"].mean == pytest.approx(2.0)
    assert fno.metrics["mse"].std == pytest.approx(1.0)
    unet = _row(rows, "unet")
    assert unet.primary.mean == pytest.approx(0.26)
    assert unet.primary.std == pytest.approx(math.sqrt((0.06**2 + 0.01**2 + 0.07**2) / 2))
    assert fno.params == 12345
    assert fno.train_seconds == pytest.approx(30.0)
    assert fno.infer_ms_per_sample == pytest.approx(0.5)
    assert fno.speedup == pytest.approx(10.0)
    assert fno.source == "generated"
    assert fno.device == "cpu, 2 threads"


def test_single_seed_has_no_std() -> None:
    deeponet = _row(leaderboard_rows(_records()), "deeponet")
    assert deeponet.n == 1
    assert deeponet.primary.mean == pytest.approx(0.5)
    assert deeponet.primary.std is None


def test_diverged_run_is_counted_not_averaged() -> None:
    records = [
        make_record("fno", 0, 0.1),
        make_record("fno", 1, 0.3),
        make_record("fno", 2, None, status="diverged"),
        make_record("fno", 3, 0.2, status="budget"),
    ]
    (row,) = leaderboard_rows(board(*records))
    assert row.n == 3
    assert row.n_diverged == 1
    assert row.seeds == (0, 1, 2, 3)
    assert row.primary.mean == pytest.approx(0.2)
    assert row.primary.std == pytest.approx(0.1)


def test_budgets_fingerprints_and_hyperparameters_split_rows() -> None:
    records = [
        make_record("fno", 0, 0.1),
        make_record("fno", 1, 0.1, epochs=50),
        make_record("fno", 2, 0.1, epochs=25, max_minutes=10),
        make_record("fno", 3, 0.1, fingerprint="other"),
        make_record("fno", 4, 0.1, hyperparameters={"width": 64}),
        make_record("fno", 5, 0.1, preset="paper"),
        make_record("fno", 6, 0.1, config="helmholtz"),
    ]
    rows = leaderboard_rows(board(*records))
    assert len(rows) == 7
    assert all(row.n == 1 for row in rows)
    assert {row.budget for row in rows} == {
        "25 epochs, lr 0.001",
        "50 epochs, lr 0.001",
        "25 epochs, lr 0.001, ≤ 10 min",
    }


def _train(epochs: int, max_minutes: float | None = None, lr: float = 1e-3) -> dict:
    return {"budget": {"epochs": epochs, "max_minutes": max_minutes}, "config": {"lr": lr}}


def test_budget_label() -> None:
    assert budget_label(_train(25)) == "25 epochs, lr 0.001"
    assert budget_label(_train(25, 10.0, 3e-4)) == "25 epochs, lr 0.0003, ≤ 10 min"
    assert budget_label(_train(1, 2.5)) == "1 epoch, lr 0.001, ≤ 2.5 min"
    assert budget_label(_train(0)) == "fitted"


def test_learning_rates_split_rows() -> None:
    slow = make_record("fno", 0, 0.2)
    slow["train"]["config"]["lr"] = 3e-4
    rows = leaderboard_rows(board(make_record("fno", 0, 0.1), slow))
    assert sorted(row.budget for row in rows) == ["25 epochs, lr 0.0003", "25 epochs, lr 0.001"]


def test_ranking_by_primary_metric_diverged_last() -> None:
    records = _records()[::-1]  # input order must not matter
    records += board(make_record("fno", 0, 0.9, config="helmholtz"))
    rows = leaderboard_rows(records)
    poisson = [(row.rank, row.model) for row in rows if row.config == "poisson"]
    assert poisson == [(1, "fno"), (2, "unet"), (3, "deeponet"), (4, "lsm")]
    helmholtz = [(row.rank, row.model) for row in rows if row.config == "helmholtz"]
    assert helmholtz == [(1, "fno")]
    assert [row.config for row in rows] == ["helmholtz"] + ["poisson"] * 4


def test_repeated_seed_in_one_row_raises() -> None:
    records = [make_record("fno", 0, 0.1), make_record("fno", 0, 0.2, run_id="rerun")]
    with pytest.raises(DataError, match="are all seed 0 of fno"):
        leaderboard_rows(board(*records))


def test_disagreeing_primary_metric_raises() -> None:
    other = make_record("unet", 0, 0.1, extra_metrics={"mse": 1.0})
    other["primary_metric"] = "mse"
    with pytest.raises(DataError, match="disagree on the primary metric"):
        leaderboard_rows(board(make_record("fno", 0, 0.1), other))


def test_record_frame_flattens_records_with_dotted_columns() -> None:
    frame = record_frame(_records())
    assert list(frame["model.name"]) == ["fno"] * 3 + ["unet"] * 3 + ["deeponet", "lsm"]
    assert {"metrics.test.rel_l2.mean", "dataset.config", "hparams", "budget"} <= set(frame)
    assert list(frame["counted"]) == [True] * 7 + [False]
    assert math.isnan(frame.loc[3, "metrics.test.mse.mean"])  # unet reports no mse


def test_markdown_rows_and_header() -> None:
    text = render_markdown(leaderboard_rows(_records()), "condiff", date=DATE)
    lines = text.splitlines()
    assert lines[0] == "# condiff leaderboard"
    assert "Generated on 2025-01-31 from 8 board records." in lines
    assert "## poisson / steady" in lines
    table = [cells(line) for line in lines if line.startswith("|")]
    hparams = stable_hash({"width": 32, "modes": [12, 12]}, length=8)
    assert table[0][:10] == [
        "rank",
        "model",
        "rel_l2 ↓ (mean ± std)",
        "95 % interval",
        "convergence",
        "budget",
        "seeds",
        "data",
        "device",
        "mse ↓",
    ]
    converged = "converged: plateau 3/3 (≤ 0.1 %), 2× budget 0.1 % lower"
    assert [
        "1", "fno", "0.1200 ± 0.020", "—", converged, "25 epochs, lr 0.001", "3",
        "generated ffffffff", "cpu, 2 threads", "2.000", "12,345", "30 s", "0.500", "—", "10.0×",
        "small", hparams,
    ] in table  # fmt: skip
    assert any(
        line.startswith("Primary metric: `rel_l2` (ranked by mean, untested).") for line in lines
    )
    deeponet = next(row for row in table if row[1] == "deeponet")
    assert deeponet[0] == "–" and deeponet[2] == "0.5000"  # one seed: no std, not ranked
    lsm = next(row for row in table if row[1] == "lsm")
    assert lsm[0] == "–"  # diverged only: not ranked
    assert lsm[2:4] == ["—", "—"] and lsm[6] == "0 (+1 diverged)"


def test_markdown_escapes_pipes_and_is_deterministic() -> None:
    records = [make_record("fno", 0, 0.1, preset="wide|deep")]
    text = render_markdown(leaderboard_rows(board(*records)), "condiff", date=DATE)
    assert "wide\\|deep" in text
    assert cells(text.splitlines()[-1])[-2] == "wide\\|deep"
    shuffled = render_markdown(leaderboard_rows(_records()[::-1]), "condiff", date=DATE)
    assert shuffled == render_markdown(leaderboard_rows(_records()), "condiff", date=DATE)


def test_markdown_unknown_family() -> None:
    with pytest.raises(ConfigError, match="unknown dataset family 'condif'"):
        render_markdown(leaderboard_rows(_records()), "condif", date=DATE)


def test_csv_one_row_per_record() -> None:
    records = _records()
    text = render_csv(records[::-1])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(records)
    header = text.splitlines()[0].split(",")
    assert header[:4] == ["run_id", "dataset.family", "dataset.config", "dataset.task"]
    assert {"metrics.test.rel_l2.mean", "dataset.config", "train.status"} <= set(header)
    assert [(r["model.name"], r["train.seed"]) for r in rows][:4] == [
        ("deeponet", "0"),
        ("fno", "0"),
        ("fno", "1"),
        ("fno", "2"),
    ]
    lsm = next(r for r in rows if r["model.name"] == "lsm")
    assert lsm["metrics.test.rel_l2.mean"] == ""
    assert lsm["train.status"] == "diverged"
    assert next(r for r in rows if r["model.name"] == "unet")["metrics.test.mse.mean"] == ""
    assert text == render_csv(records)
    fno = next(r for r in rows if r["model.name"] == "fno")
    assert fno["model.hyperparameters.modes"] == "[12,12]"
    assert fno["dataset.files.train.sha256"] == "0" * 64
    assert not any(key.startswith(("train.history", "spec", "per_sample")) for key in header)


def test_a_config_that_is_not_published_says_so() -> None:
    record = make_record("fno", 0, 0.1, config="cubic0.1_grid63")
    record["dataset"]["published"] = False
    text = render_markdown(leaderboard_rows(board(record)), "condiff", date=DATE)
    assert "## cubic0.1_grid63 / steady\n\nNot a published config." in text


def test_rows_without_convergence_evidence_are_listed_but_not_ranked() -> None:
    records = [make_record("fno", s, 0.1, converged=False) for s in range(3)]
    records += [make_record("unet", s, 0.2) for s in range(3)]
    records += [make_record("deeponet", s, 0.05, converged=None) for s in range(3)]
    for seed in range(3):
        records.append(make_record("mean", seed, 1.0, epochs=0, converged=None))
        records[-1]["train"]["epochs_run"] = 0
    rows = leaderboard_rows(board(*records))
    assert [(r.model, r.rank_label, r.convergence) for r in rows] == [
        ("unet", "1", "converged"),
        ("mean", "2", "fitted"),
        ("deeponet", "–", "no evidence"),
        ("fno", "–", "not converged"),
    ]
    fno = rows[-1]
    assert (fno.plateau_passed, fno.plateau_improvement, fno.doubling_improvement) == (0, 0.2, 0.2)
    text = render_markdown(rows, "condiff", date=DATE)
    assert "not converged: plateau 0/3 (≤ 20 %), 2× budget 20 % lower" in text
    assert "fitted, not trained" in text
    # rank 1 is not the lowest error on this table: the caption says which rows beat it
    assert (
        "Unranked rows of deeponet, fno have a lower mean rel_l2 than the best ranked row "
        "(unet)" in text
    )


def test_no_warning_when_unranked_rows_score_worse_than_rank_one() -> None:
    records = [make_record("unet", s, 0.1) for s in range(3)]
    records += [make_record("fno", s, 0.2, converged=False) for s in range(3)]
    rows = leaderboard_rows(board(*records))
    assert [r.rank_label for r in rows] == ["1", "–"]
    assert "Unranked rows" not in render_markdown(rows, "condiff", date=DATE)


def test_one_failed_seed_leaves_the_row_unconverged() -> None:
    records = [make_record("fno", s, 0.1, converged=s != 2) for s in range(3)]
    (row,) = leaderboard_rows(board(*records))
    assert (row.convergence, row.plateau_passed, row.ranked) == ("not converged", 2, False)


def test_pilot_and_check_records_are_counted_not_rows() -> None:
    pilot = {**make_record("fno", 0, 0.3, epochs=10), "role": "pilot"}
    check = {**make_record("fno", 0, 0.1, epochs=50), "role": "check"}
    records = board(make_record("fno", 0, 0.1), pilot, check)
    (row,) = leaderboard_rows(records)
    assert row.budget == "25 epochs, lr 0.001"
    (tried,) = role_counts(records).values()
    assert tried.counts == {"board": 1, "pilot": 1, "check": 1}
    assert tried.epochs == {"board": {25}, "pilot": {10}, "check": {50}}
    text = render_markdown([row], "condiff", date=DATE, records=records)
    expected = "1 board run (25 epochs), 1 pilot (10 epochs), 1 check (50 epochs); 0 diverged."
    assert f"Runs tried: {expected}" in text


def test_mean_std_formatting() -> None:
    assert mean_std(0.06269, 0.0) == "0.06269 ± 0"
    assert mean_std(0.12, 0.02) == "0.1200 ± 0.020"
    assert mean_std(0.12, 3.1e-6) == "0.1200 ± 3.1e-06"
    assert mean_std(0.5, None) == "0.5000"
    assert plural(1, "record") == "1 record" and plural(2, "record") == "2 records"
    assert plural(2, "process") == "2 processes"
    assert (percent(0.0), percent(0.0019), percent(0.052)) == ("0 %", "0.19 %", "5.2 %")


def test_metric_columns_say_how_they_read() -> None:
    record = make_record(
        "mlp", 0, 0.1, family="airfrans", config="full", task="fields",
        extra_metrics={"spearman_cd": 0.9, "cd": 0.02},
    )  # fmt: skip
    text = render_markdown(leaderboard_rows(board(record)), "airfrans", date=DATE)
    header = next(cells(line) for line in text.splitlines() if line.startswith("| "))
    assert {"spearman_cd ↑", "cd (value)", "rel_l2 ↓ (mean ± std)"} <= set(header)


def test_coarse_condiff_tables_say_they_are_another_problem() -> None:
    record = make_record("fno", 0, 0.1, config="cubic2.0_grid32")
    text = render_markdown(leaderboard_rows(board(record)), "condiff", date=DATE)
    assert "At 32² the coefficient's correlation length (0.05) spans 1.65 cells" in text


def with_errors(record: dict, values: np.ndarray) -> dict:
    """``record`` as version 2 would keep it: the per-sample test errors of the primary
    metric, whose mean is the record's test mean."""
    record = {**record, "per_sample": {"metric": "rel_l2", "values": {"test": list(values)}}}
    record["metrics"]["test"]["rel_l2"] = {**record["metrics"]["test"]["rel_l2"]}
    record["metrics"]["test"]["rel_l2"].update(mean=float(np.mean(values)), n=len(values))
    return record


def _tested(levels: dict[str, float], spread: float = 0.3) -> list[dict]:
    """Three seeds per model of 50 per-sample errors around each model's level."""
    rng = np.random.default_rng(0)
    return [
        with_errors(
            make_record(model, seed, level), level * np.exp(spread * rng.standard_normal(50))
        )
        for model, level in levels.items()
        for seed in range(3)
    ]


def test_tables_with_per_sample_errors_get_tested_ranks_and_intervals() -> None:
    rows = leaderboard_rows(board(*_tested({"fno": 0.1, "unet": 0.2, "mean": 1.0})))
    assert [(r.model, r.rank_label, r.tested) for r in rows] == [
        ("fno", "1", True),
        ("unet", "2", True),
        ("mean", "3", True),
    ]
    for row in rows:
        low, high = row.interval
        assert low < row.primary.mean < high
    text = render_markdown(rows, "condiff", date=DATE)
    assert "Primary metric: `rel_l2` (ranks tested)." in text
    table = [cells(line) for line in text.splitlines() if line.startswith("|")]
    fno = next(row for row in table if row[1] == "fno")
    low, high = rows[0].interval
    assert fno[3] == f"[{low:#.4g}, {high:#.4g}]"  # 4 significant digits, as the means


def test_a_lone_ranked_row_still_gets_its_interval() -> None:
    """Only fno has three seeds: it ranks first alone, and its interval is still shown
    (a lone row was once called untested and showed none)."""
    records = _tested({"fno": 0.1, "unet": 0.05})
    two_seeds = [r for r in records if (r["model"]["name"], r["train"]["seed"]) != ("unet", 2)]
    rows = leaderboard_rows(board(*two_seeds))
    assert [(r.model, r.rank_label, r.tested) for r in rows] == [
        ("fno", "1", True),
        ("unet", "–", False),
    ]
    low, high = rows[0].interval
    assert low < rows[0].primary.mean < high and rows[1].interval is None


def test_rows_within_noise_share_a_rank() -> None:
    """fno and unet differ by 1 % with a 30 % spread over 50 samples: a tie, shown 1=."""
    rows = leaderboard_rows(board(*_tested({"fno": 0.100, "unet": 0.101, "mean": 1.0})))
    labels = {r.model: r.rank_label for r in rows}
    assert labels == {"fno": "1=", "unet": "1=", "mean": "3"}
    text = render_markdown(rows, "condiff", date=DATE)
    table = [cells(line) for line in text.splitlines() if line.startswith("|")]
    assert ["1=", "fno"] in [row[:2] for row in table]


def test_fewer_than_three_seeds_are_not_ranked() -> None:
    records = [make_record("fno", s, 0.1) for s in range(2)]
    records += [make_record("unet", s, 0.2) for s in range(3)]
    rows = leaderboard_rows(board(*records))
    assert [(r.model, r.rank_label) for r in rows] == [("unet", "1"), ("fno", "–")]


def test_a_table_with_a_version_1_row_is_ranked_by_mean_untested() -> None:
    records = [*_tested({"fno": 0.1, "unet": 0.2})]
    records += [make_record("deeponet", s, 0.15) for s in range(3)]
    rows = leaderboard_rows(board(*records))
    assert [(r.model, r.rank, r.tested, r.interval) for r in rows] == [
        ("fno", 1, False, None),
        ("deeponet", 2, False, None),
        ("unet", 3, False, None),
    ]


def test_a_table_never_mixes_data_fingerprints() -> None:
    records = board(
        make_record("fno", 0, 0.1, fingerprint="a" * 16),
        make_record("unet", 0, 0.2, fingerprint="a" * 16),
        make_record("fno", 0, 0.3, fingerprint="b" * 16),
    )
    rows = leaderboard_rows(records)
    assert [(row.fingerprint[0], row.model, row.rank) for row in rows] == [
        ("a", "fno", 1),
        ("a", "unet", 2),
        ("b", "fno", 1),  # ranked in its own table, not below the other data's rows
    ]
    text = render_markdown(rows, "condiff", date=DATE)
    assert "## poisson / steady · data aaaaaaaa" in text
    assert "## poisson / steady · data bbbbbbbb" in text


def test_a_table_without_ranked_rows_says_why() -> None:
    one_seed = [make_record("fno", 0, 0.1), make_record("unet", 0, 0.2)]
    text = render_markdown(leaderboard_rows(board(*one_seed)), "condiff", date=DATE)
    assert (
        "No row is ranked: a rank needs 3 seeds and, for a trained model, convergence "
        "evidence; no row here has more than 1 seed. The rows are ordered by mean only."
    ) in text
    unconverged = [make_record("fno", s, 0.1, converged=False) for s in range(3)]
    text = render_markdown(leaderboard_rows(board(*unconverged)), "condiff", date=DATE)
    assert "the rows here with 3 seeds lack that evidence." in text
    ranked = [make_record("fno", s, 0.1) for s in range(3)]
    assert "No row is ranked" not in render_markdown(
        leaderboard_rows(board(*ranked)), "condiff", date=DATE
    )
