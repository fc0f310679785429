"""The static leaderboard web page (``leaderboards/index.html``).

:func:`render_html` fills the jinja2 template ``templates/board.html.j2`` (autoescaped:
every text from records, rows and citations is HTML-escaped) with one self-contained HTML5
page: inline CSS and a small inline script (``templates/board.css``, ``board.js``), inline
SVG plots drawn by matplotlib (:mod:`opbench.results.figures`,
:mod:`opbench.results.solver_plot`), no external scripts, fonts or stylesheets. The page
holds

1. what the board is, how its rows were trained and when they count as converged, what
   to read into it, and where and when the runs were made;
2. for every table (family, config, task, data) the columns of the Markdown leaderboard
   (:func:`opbench.results.render.board_columns`, key columns first) plus links to every
   run's ``records/<run_id>.json``; clicking a header sorts by that column (numbers
   numerically, missing values last, a second click reverses), and
   ``#sort=<table-id>:<column>[:desc]`` in the URL sorts a table on load (columns count
   from 0); then its plots: the primary metric against parameters and inference time,
   rollout curves, and the error-against-time figure of the solver comparison;
3. the distribution-shift and resolution-transfer tables, and the citations.

The output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape

from opbench.results.figures import cost_figure, rollout_figure
from opbench.results.leaderboard import (
    COUNTED_STATUSES,
    LeaderboardRow,
    Record,
    TableKey,
    board_records,
    group_tables,
    role_counts,
    table_label,
)
from opbench.results.render import (
    EQUAL_ACCURACY_TEXT,
    PROTOCOL_TEXT,
    RANKING_TEXT,
    READING_TEXT,
    SHIFT_TEXT,
    TRANSFER_TEXT,
    Provenance,
    board_columns,
    curve_cells,
    curve_text,
    ranking_label,
    runs_text,
    shift_tables,
    table_notes,
    table_provenance,
    transfer_tables,
)
from opbench.results.shift import ShiftRow
from opbench.results.solver_plot import EqualAccuracyFigure
from opbench.results.text import plural
from opbench.results.transfer import TransferRow

WHAT_TEXT = (
    "opbench's published leaderboard: neural operators and PDE surrogates trained by one "
    "trainer and scored by one harness on each dataset's test split. Every row links to "
    "the run records it comes from; every run tried (pilots, checks, diverged runs) is "
    "counted under its table."
)
COLUMNS_TEXT = (
    "Each row aggregates the seeds of one model, preset, hyperparameter set (hparams) and "
    "budget on one dataset (data fingerprint): the primary column is the mean ± sample "
    "standard deviation over seeds of each seed's test mean. ↓ marks errors (lower is "
    "better), ↑ scores (higher is better), (value) predicted quantities, which are not "
    "ranked. Costs are means over seeds. Click a column header to sort by it; click again "
    "to reverse."
)

_TEMPLATES = files("opbench.results") / "templates"


def _code(text: str) -> Markup:
    """A shared page text, escaped, with its Markdown `code` spans as <code> elements."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


_ENVIRONMENT = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    loader=jinja2.FunctionLoader(lambda name: (_TEMPLATES / name).read_text(encoding="utf-8")),
)
_ENVIRONMENT.filters["code"] = _code


@dataclass(frozen=True)
class _Figure:
    kind: str
    svg: Markup
    caption: str


def render_html(
    records: Sequence[Record],
    rows: Sequence[LeaderboardRow],
    citations: Sequence[tuple[str, str, str]],
    generated: datetime.date,
    shifts: Sequence[ShiftRow] = (),
    figures: Mapping[TableKey, EqualAccuracyFigure] | None = None,
    transfers: Sequence[TransferRow] = (),
) -> str:
    """The leaderboard page as one self-contained, deterministic HTML5 document.

    Args:
        records: the validated run records (every role) the rows were built from; they
            give the rollout curves, the run statuses and links, each table's count of
            runs tried and where the runs were made.
        rows: ranked rows from :func:`~opbench.results.leaderboard.leaderboard_rows`.
        citations: ``(kind, name, text)`` triples, listed grouped by kind.
        generated: the date stamped on the page.
        shifts, figures, transfers: the distribution-shift rows, the error-against-time
            figures by table and the resolution-transfer rows.
    """
    by_id = {record["run_id"]: record for record in records}
    tables = group_tables(rows)
    ids = _table_ids(list(tables))
    counts = role_counts(records)
    board = board_records(records)
    context: dict[str, Any] = {
        "css": (_TEMPLATES / "board.css").read_text(encoding="utf-8"),
        "js": (_TEMPLATES / "board.js").read_text(encoding="utf-8"),
        "generated": generated.isoformat(),
        "n_board": plural(len(board), "board record"),
        "n_tables": plural(len(tables), "table"),
        "provenance": Provenance.of(board).text() if board else "",
        "what": WHAT_TEXT,
        "protocol": PROTOCOL_TEXT,
        "reading": READING_TEXT,
        "columns": COLUMNS_TEXT,
        "ranking": RANKING_TEXT + " " + EQUAL_ACCURACY_TEXT,
        "tables": [
            _table(key, table, tables, ids[key], by_id, counts, (figures or {}).get(key))
            for key, table in tables.items()
        ],
        "sections": [
            {"id": sid, "heading": heading, "text": text, "tables": subtables}
            for sid, heading, text, subtables in (
                ("distribution-shift", "Distribution shift", SHIFT_TEXT, shift_tables(shifts)),
                (
                    "resolution-transfer",
                    "Resolution transfer",
                    TRANSFER_TEXT,
                    transfer_tables(transfers),
                ),
            )
            if subtables
        ],
        "citations": _citations(citations),
    }
    return _ENVIRONMENT.get_template("board.html.j2").render(context)


def _table(
    key: TableKey,
    rows: list[LeaderboardRow],
    tables: Mapping[TableKey, Any],
    tid: str,
    by_id: dict[str, Record],
    counts: Mapping[TableKey, Mapping[str, int]],
    solver: EqualAccuracyFigure | None,
) -> dict[str, Any]:
    """The template's view of one table."""
    columns = board_columns(rows)
    return {
        "id": tid,
        "title": f"{key[0]} / {table_label(key, tables)}",
        "notes": table_notes(key, rows),
        "metric": rows[0].primary_metric,
        "ranking": ranking_label(rows[0].tested),
        "provenance": table_provenance(list(by_id.values()), key),
        "runs": runs_text(counts[key]) if key in counts else "",
        "n_rows": plural(len(rows), "row"),
        "n_ranked": sum(row.ranked for row in rows),
        "columns": [
            *({"header": c.header, "tip": c.tip, "kind": c.kind} for c in columns),
            {"header": "records", "tip": "the record of every run, by seed", "kind": "text"},
        ],
        "rows": [
            {
                "ranked": row.ranked,
                "cells": [
                    {
                        "text": c.text(row),
                        "value": _value(c.value(row)),
                        "kind": c.kind,
                        "title": _cell_title(c.header, row, by_id),
                    }
                    for c in columns
                ],
                "links": _links(row, by_id),
            }
            for row in rows
        ],
        "figures": _figures(rows, by_id),
        "solver": _solver(solver) if solver is not None else None,
    }


def _cell_title(header: str, row: LeaderboardRow, by_id: dict[str, Record]) -> str | None:
    """Hover text: the hyperparameters on the hparams cell, the full fingerprint on the
    data cell."""
    if header == "hparams" and row.run_ids:
        return json.dumps(by_id[row.run_ids[0]]["model"]["hyperparameters"], sort_keys=True)
    if header == "data":
        return row.fingerprint
    return None


def _links(row: LeaderboardRow, by_id: dict[str, Record]) -> list[dict[str, Any]]:
    links = []
    for seed, run_id in zip(row.seeds, row.run_ids, strict=True):
        status = by_id[run_id]["train"]["status"]
        links.append(
            {
                "href": quote(run_id, safe=""),
                "seed": seed,
                "title": f"{run_id} ({status})",
                "bad": status not in COUNTED_STATUSES,
            }
        )
    return links


def _figures(rows: Sequence[LeaderboardRow], by_id: dict[str, Record]) -> list[_Figure]:
    metric = rows[0].primary_metric
    out = []
    if (svg := cost_figure(rows)) is not None:
        out.append(
            _Figure(
                "cost",
                Markup(svg),
                f"Test {metric} against trainable parameters and inference time per sample "
                "(log–log; error bars ± std over seeds). Rows without a positive cost (fitted "
                "baselines with no parameters) are left out of that panel; hollow markers are "
                "rows that are not ranked.",
            )
        )
    if (svg := rollout_figure(rows, by_id)) is not None:
        out.append(
            _Figure(
                "rollout",
                Markup(svg),
                f"Rollout: test {metric} per autoregressive step from each test case's first "
                "frame, mean over seeds (log scale).",
            )
        )
    return out


def _solver(figure: EqualAccuracyFigure) -> dict[str, Any]:
    curve = figure.curve
    return {
        "svg": Markup(figure.svg),
        "caption": f"Error against time: test {curve.metric} per model (mean over seeds) and "
        f"the numerical solver's settings; the line is its lower envelope. {curve_text(curve)}",
        "header": list(curve_cells(curve.points[0])),
        "rows": [list(curve_cells(point).values()) for point in curve.points],
        "skipped": "; ".join(
            f"{name}: {why}" for name, why in sorted(curve.not_applicable.items())
        ),
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _table_ids(keys: Sequence[TableKey]) -> dict[TableKey, str]:
    """``family-config-task`` sanitised to [a-z0-9-] (with the data fingerprint where a
    config and task have several); clashes get ``-2``, ``-3``, ..."""
    ids: dict[TableKey, str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        base = "-".join(_slug(part) for part in key[:3])
        if sum(1 for k in keys if k[:3] == key[:3]) > 1:
            base += f"-{_slug(key[3][:8])}"
        tid, n = base, 1
        while tid in used:
            n += 1
            tid = f"{base}-{n}"
        used.add(tid)
        ids[key] = tid
    return ids


def _value(value: float | int | str | None) -> str:
    """A cell's ``data-value``: the raw number or text, empty when missing."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # validated records hold no NaN or infinity
    return str(value)


def _citations(citations: Sequence[tuple[str, str, str]]) -> list[tuple[str, list]]:
    """The citations grouped by kind, kinds and entries in sorted order."""
    by_kind: dict[str, set[tuple[str, str]]] = {}
    for kind, name, text in citations:
        by_kind.setdefault(kind, set()).add((name, text))
    return [(kind, sorted(by_kind[kind])) for kind in sorted(by_kind)]
