"""Distribution-shift tables (opbench.results.shift) on constructed records."""

from __future__ import annotations

import datetime
import re

import numpy as np
from test_leaderboard import board, cells, with_errors
from test_record import make_record

from opbench.results.leaderboard import leaderboard_rows
from opbench.results.publish import render_published
from opbench.results.render import render_markdown
from opbench.results.shift import shift_rows

SHIFTED = "test@cubic0.1_grid64"


def shifted(record: dict, values: np.ndarray, *, recorded: bool = True) -> dict:
    """``record`` with a shifted test: its per-sample errors, their summary, and (unless
    not ``recorded``) the shifted data's fingerprint and an extrapolated input."""
    record = {**record, "metrics": {**record["metrics"]}}
    summary = {**record["metrics"]["test"]["rel_l2"], "mean": float(values.mean())}
    record["metrics"][SHIFTED] = {"rel_l2": {**summary, "n": len(values)}}
    record["per_sample"]["values"][SHIFTED] = list(values)
    if recorded:
        record["test_sets"] = {
            SHIFTED: {
                "config": SHIFTED.removeprefix("test@"),
                "fingerprint": "s" * 12,
                "n": len(values),
                "extrapolated": ["contrast"],
            }
        }
    return record


def _records(recorded: bool = True) -> list[dict]:
    """fno: 0.1 in distribution, 0.5 shifted; unet: 0.2 and 0.3 (3 seeds, 60 samples)."""
    rng = np.random.default_rng(0)
    out = []
    for model, home, away in (("fno", 0.1, 0.5), ("unet", 0.2, 0.3)):
        for seed in range(3):
            noise = np.exp(0.2 * rng.standard_normal((2, 60)))
            record = with_errors(make_record(model, seed, home), home * noise[0])
            out.append(shifted(record, away * noise[1], recorded=recorded))
    return out


def test_a_shift_table_ranks_the_shifted_error_and_shows_the_ratio() -> None:
    rows = shift_rows(board(*_records()))
    assert [(r.model, r.rank_label, r.tested) for r in rows] == [
        ("unet", "1", True),
        ("fno", "2", True),
    ]
    fno = rows[1]
    assert fno.test_config == "cubic0.1_grid64" and fno.extrapolated == ("contrast",)
    assert fno.ratio == fno.shifted.mean / fno.in_distribution.mean
    assert 4 < fno.ratio < 6 and fno.interval[0] < fno.shifted.mean < fno.interval[1]
    # on the board itself fno still ranks first: the shift table is where it loses
    assert [r.model for r in leaderboard_rows(board(*_records()))] == ["fno", "unet"]


def test_the_shift_table_is_on_the_family_page() -> None:
    records = board(*_records())
    text = render_markdown(
        leaderboard_rows(records), "condiff", datetime.date(2025, 1, 31), shift_rows(records)
    )
    assert "## Distribution shift" in text
    assert "### poisson → cubic0.1_grid64 / steady" in text
    assert "Metric: `rel_l2` (ranks tested)." in text
    section = text[text.index("### poisson → cubic0.1_grid64") :]
    table = [cells(line) for line in section.splitlines() if line.startswith("|")]
    assert table[0][:4] == ["rank", "model", "preset", "in-distribution (mean ± std)"]
    assert [row[:2] for row in table[2:]] == [["1", "unet"], ["2", "fno"]]
    assert all(row[7] == "contrast" for row in table[2:])


def test_rows_whose_shifted_data_is_not_recorded_are_not_tested() -> None:
    rows = shift_rows(board(*_records(recorded=False)))
    assert [(r.model, r.rank, r.tested, r.interval) for r in rows] == [
        ("unet", 1, False, None),
        ("fno", 2, False, None),
    ]


def test_no_shifted_tests_no_tables() -> None:
    assert shift_rows(board(make_record("fno", 0, 0.1))) == []
    assert shift_rows([]) == []


def test_the_page_shows_the_shift_tables() -> None:
    files = render_published(board(*_records()), citations=[])
    page = files["index.html"]
    section = page[page.index('<section class="shift"') :]
    assert "<h2>Distribution shift</h2>" in section
    assert "condiff / poisson → cubic0.1_grid64 / steady" in section
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", section)
    assert rows == [("1", "unet"), ("2", "fno")]
    assert "## Distribution shift" in files["condiff.md"]


def test_rows_the_board_does_not_rank_are_not_ranked_here_either() -> None:
    records = _records()
    for record in records:
        if record["model"]["name"] == "unet":
            record["convergence"]["plateau"]["passed"] = False
    rows = shift_rows(board(*records))
    assert [(r.model, r.rank_label) for r in rows] == [("fno", "1"), ("unet", "–")]
    one_seed = [r for r in _records() if r["train"]["seed"] == 0]
    assert {r.rank_label for r in shift_rows(board(*one_seed))} == {"–"}
