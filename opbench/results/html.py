"""The static leaderboard web page (``leaderboards/index.html``).

:func:`render_html` turns validated run records and their leaderboard rows into one
self-contained HTML5 page: inline CSS, a small inline vanilla script, inline SVG plots, no
external scripts, fonts or stylesheets. The page holds

1. a title, the generation date and a paragraph on how rows are aggregated;
2. a list of the tables, then for every (family, config, task) in sorted order a heading,
   the primary metric and a sortable table with the columns of the Markdown leaderboard
   (:mod:`opbench.results.render`) plus links to every run's ``records/<run_id>.json``;
   clicking a header sorts by that column (numbers numerically, missing values last,
   a second click reverses), and ``#sort=<table-id>:<column>[:desc]`` in the URL sorts
   a table on load (columns count from 0);
3. under each table, SVG plots drawn here: the primary metric against parameter count
   and against inference time per sample (log-log, error bars ± std over seeds), and,
   where the table's records have a ``rollout`` section, the primary metric against
   rollout step, one line per row;
4. the citations, grouped by kind.

The output is deterministic: the same inputs give the same bytes (everything is sorted,
SVG coordinates are rounded, the only date is ``generated``), so CI can regenerate the
page and compare it with the committed one. All text from records, rows and citations is
HTML-escaped; no record text is placed inside the script.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from opbench.results.leaderboard import (
    COUNTED_STATUSES,
    LeaderboardRow,
    Record,
    Stat,
    TableKey,
    group_tables,
    table_label,
)
from opbench.results.render import (
    EQUAL_ACCURACY_TEXT,
    RANKING_TEXT,
    SHIFT_TEXT,
    TRANSFER_TEXT,
    SubTable,
    _duration,
    _mean_std,
    _number,
    _speedup,
    curve_cells,
    curve_text,
    equal_accuracy_text,
    interval_text,
    ranking_label,
    shift_tables,
    transfer_tables,
)
from opbench.results.shift import ShiftRow
from opbench.results.solver_plot import EqualAccuracyFigure
from opbench.results.transfer import TransferRow

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#9c755f",
    "#ff9da7",
    "#edc948",
    "#bab0ac",
)
"""Row colours in rank order (Tableau 10), shared by the table swatches and the plots."""


# SVG geometry of one plot: size and the margins around the plot area.
_W, _H = 420, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 16, 14, 46
_CHAR_W = 6.2  # estimated width of one 11px character, for label placement


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
        records: the validated run records the rows were built from; they give the
            rollout curves, the hyperparameters shown on hover and the run statuses.
        rows: ranked rows from :func:`~opbench.results.leaderboard.leaderboard_rows`.
        citations: ``(kind, name, text)`` triples, e.g. ``("model", "fno", "Li et al.")``,
            listed grouped by kind.
        generated: the date stamped on the page.
        shifts: distribution-shift rows from :func:`~opbench.results.shift.shift_rows`.
        figures: error-against-time figures by table, from
            :func:`~opbench.results.solver_plot.equal_accuracy_figures`.
        transfers: resolution-transfer rows from
            :func:`~opbench.results.transfer.transfer_rows`.

    Returns:
        The page text (UTF-8 characters such as ``±`` are used as is).
    """
    by_id = {record["run_id"]: record for record in records}
    tables = group_tables(rows)
    ids = _table_ids(list(tables))
    titles = {key: f"{key[0]} / {table_label(key, tables)}" for key in tables}
    n_runs = sum(len(row.run_ids) for row in rows)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="opbench">',
        "<title>opbench leaderboard</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>opbench leaderboard</h1>",
        f'<p class="meta">Generated {escape(generated.isoformat())} from {n_runs} '
        f"run{'s' if n_runs != 1 else ''} in {len(tables)} "
        f"table{'s' if len(tables) != 1 else ''}.</p>",
        "</header>",
        "<main>",
        f'<p class="intro">{_INTRO}</p>',
    ]
    if tables:
        parts.append('<nav aria-label="tables"><h2>Tables</h2><ul>')
        for key, table in tables.items():
            parts.append(
                f'<li><a href="#sec-{ids[key]}">{escape(titles[key])}</a> '
                f'<span class="muted">({len(table)} row{"s" if len(table) != 1 else ""}, '
                f"{escape(table[0].primary_metric)})</span></li>"
            )
        parts.append("</ul></nav>")
    else:
        parts.append('<p class="empty">No runs yet.</p>')
    for key, table in tables.items():
        parts.append(_section(titles[key], ids[key], table, by_id, (figures or {}).get(key)))
    sections = (
        _sections("distribution-shift", "Distribution shift", SHIFT_TEXT, shift_tables(shifts)),
        _sections(
            "resolution-transfer", "Resolution transfer", TRANSFER_TEXT, transfer_tables(transfers)
        ),
    )
    parts += [text for text in sections if text]
    parts.append(_citations(citations))
    parts += [
        "</main>",
        "<footer><p>Generated by opbench. Each run is described in full by its record "
        "under <code>records/</code>.</p></footer>",
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


_INTRO = (
    "Each row aggregates the seeds of one model, preset, hyperparameter set (hparams, a "
    "short hash) and training budget on one dataset (data fingerprint). The primary column "
    "is the mean ± sample standard deviation over seeds of the test metric, where each seed "
    "contributes its mean over the test samples; <strong>lower is better</strong>, and the "
    "std needs two seeds. Every run's checkpoint was chosen on the validation split, never "
    "on test. Diverged runs are counted, not averaged. Costs are means over seeds: "
    "training time, batched inference time per sample and speedup over the numerical "
    "solver. The training budget, data source and the device the costs were measured on "
    "are given per row, and the record links open each run's full record. Click a column "
    "header to sort by it; click again to reverse. "
    + escape(RANKING_TEXT)
    + " "
    + escape(EQUAL_ACCURACY_TEXT)
)


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


def _value(value: float | int | None) -> str:
    """A cell's ``data-value``: the raw number, empty when missing."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return repr(float(value))  # validated records hold no NaN or infinity


def _labels(rows: Sequence[LeaderboardRow]) -> list[str]:
    """Plot labels: the model name, with preset and then rank where names repeat."""
    labels = [row.model for row in rows]
    if len(set(labels)) < len(labels):
        labels = [
            f"{row.model} ({row.preset})" if labels.count(row.model) > 1 else row.model
            for row in rows
        ]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{row.rank}" for label, row in zip(labels, rows, strict=True)]
    return labels


@dataclass(frozen=True)
class _Cell:
    """One table cell: escaped HTML content, raw sort value and CSS class."""

    html: str
    value: str
    kind: str = "num"
    title: str | None = None


def _section(
    title: str,
    tid: str,
    rows: list[LeaderboardRow],
    by_id: dict[str, Record],
    figure: EqualAccuracyFigure | None,
) -> str:
    """Heading, sortable table and plots of one table (family, config, task, data)."""
    primary = rows[0].primary_metric
    others = sorted({m for row in rows for m in row.metrics} - {primary})
    # (label as HTML, CSS class, tooltip)
    headers = [
        (
            "rank",
            "num",
            f"1 + rows significantly better by {primary} (2= : shared)"
            if rows[0].tested
            else f"position by {primary} mean (untested)",
        ),
        ("model", "text sticky", "model registry name"),
        ("preset", "text", "model preset"),
        ("hparams", "text", "short hash of the model hyperparameters (hover a cell for them)"),
        (
            f'{escape(primary)} <span class="nw">(mean ± std)</span>',
            "num",
            "mean ± sample std over seeds of the test mean; lower is better",
        ),
        ("95 % interval", "num", "of the mean, over seeds and test samples (tested tables)"),
        *((escape(m), "num", f"test {m}, mean over seeds") for m in others),
        ("params", "num", "trainable parameters"),
        ("train time", "num", "training wall time, mean over seeds"),
        ("infer ms/sample", "num", "batched inference time per sample, mean over seeds"),
        ("speedup", "num", "full-accuracy direct solve (one core) / inference time"),
        (
            "speedup at equal accuracy",
            "num",
            "solver time at the model's error on its cost–accuracy curve / inference time, "
            "same cores",
        ),
        ("seeds", "num", "runs that count (status ok or budget)"),
        ("diverged", "num", "runs that diverged (not averaged)"),
        ("budget", "text", "training budget"),
        ("data", "text", "data fingerprint (first 8 characters; hover for all)"),
        ("source", "text", "generated or real data"),
        ("device", "text", "where costs were measured"),
        ("records", "text", "the record of every run, by seed"),
    ]
    title += "" if rows[0].published else " (not a published config)"
    out = [
        f'<section class="board" id="sec-{tid}">',
        f"<h2>{escape(title)}</h2>",
        f'<p class="primary">Primary metric: <code>{escape(primary)}</code> on the test '
        f"split, lower is better; "
        f"{ranking_label(rows[0].tested)}. "
        f"Table id <code>{tid}</code>.</p>",
        '<div class="scroll">',
        f'<table class="lb" id="{tid}">',
        f"<caption>{escape(title)}: ranked by {escape(primary)}</caption>",
        "<thead><tr>",
    ]
    for col, (label, kind, tip) in enumerate(headers):
        out.append(
            f'<th scope="col" class="{kind}" data-col="{col}" title="{escape(tip)}">'
            f'<button type="button">{label}</button></th>'
        )
    out.append("</tr></thead>")
    out.append("<tbody>")
    for index, row in enumerate(rows):
        cells = _cells(row, others, by_id, PALETTE[index % len(PALETTE)])
        dead = ' class="diverged"' if row.n == 0 else ""
        out.append(f'<tr data-order="{index}"{dead}>')
        for cell in cells:
            title_attr = f' title="{escape(cell.title)}"' if cell.title else ""
            out.append(
                f'<td class="{cell.kind}" data-value="{escape(cell.value)}"{title_attr}>'
                f"{cell.html}</td>"
            )
        out.append("</tr>")
    out += ["</tbody>", "</table>", "</div>", _plots(rows, by_id)]
    if figure is not None:
        out.append(_equal_accuracy_figure(figure))
    out.append("</section>")
    return "\n".join(out)


def _equal_accuracy_figure(figure: EqualAccuracyFigure) -> str:
    """The error-against-time figure (matplotlib's SVG, inline) and the solver settings."""
    curve = figure.curve
    svg = figure.svg[figure.svg.index("<svg") :]
    header = "".join(f'<th scope="col">{escape(c)}</th>' for c in curve_cells(curve.points[0]))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in curve_cells(point).values()) + "</tr>"
        for point in curve.points
    )
    skipped = "; ".join(f"{name}: {why}" for name, why in sorted(curve.not_applicable.items()))
    return (
        '<div class="equal-accuracy">'
        + _figure(
            f'<div class="mpl">{svg}</div>',
            f"Error against time: test {escape(curve.metric)} per model (mean over seeds) and "
            f"the numerical solver's settings; the line is its lower envelope. "
            f"{escape(curve_text(curve))}",
        )
        + f'<div class="scroll"><table class="curve"><thead><tr>{header}</tr></thead>'
        + f"<tbody>{body}</tbody></table></div>"
        + (f'<p class="muted">Not applicable here: {escape(skipped)}.</p>' if skipped else "")
        + "</div>"
    )


def _code_spans(html: str) -> str:
    """Markdown's `code` spans of a shared page text as HTML <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)


def _sections(section_id: str, heading: str, text: str, tables: Sequence[SubTable]) -> str:
    """A section of sub-tables (none: empty)."""
    if not tables:
        return ""
    out = [
        f'<section class="shift" id="{section_id}">',
        f"<h2>{escape(heading)}</h2>",
        f'<p class="primary">{_code_spans(escape(text))}</p>',
    ]
    for table in tables:
        ranking = f"; {escape(table.ranking)}" if table.ranking else ""
        out += [
            f"<h3>{escape(f'{table.family} / {table.title}')}</h3>",
            f'<p class="primary">Metric: <code>{escape(table.metric)}</code>{ranking}.</p>',
            '<div class="scroll"><table class="lb">',
            "<thead><tr>",
            *(f'<th scope="col">{escape(label)}</th>' for label in table.cells[0]),
            "</tr></thead><tbody>",
            *(
                "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in cells.values()) + "</tr>"
                for cells in table.cells
            ),
            "</tbody></table></div>",
        ]
    out.append("</section>")
    return "\n".join(out)


def _cells(
    row: LeaderboardRow, others: Sequence[str], by_id: dict[str, Record], colour: str
) -> list[_Cell]:
    """The cells of one row, in the order of the header."""
    runs = [by_id[run_id] for run_id in row.run_ids if run_id in by_id]
    hparams = (
        json.dumps(runs[0]["model"]["hyperparameters"], sort_keys=True, default=str)
        if runs
        else None
    )
    primary = row.primary
    metric_cells = [
        _Cell(
            escape(_number(row.metrics[m].mean if m in row.metrics else None)),
            _value(row.metrics[m].mean if m in row.metrics else None),
        )
        for m in others
    ]
    links = []
    for seed, run_id in zip(row.seeds, row.run_ids, strict=True):
        status = by_id[run_id]["train"]["status"] if run_id in by_id else "unknown"
        css = ' class="bad"' if status not in COUNTED_STATUSES else ""
        links.append(
            f'<a href="records/{escape(quote(run_id, safe=""))}.json"{css} '
            f'title="{escape(f"{run_id} ({status})")}">s{seed}</a>'
        )
    return [
        _Cell(escape(row.rank_label), str(row.rank)),
        _Cell(
            f'<span class="swatch" style="background:{colour}"></span>{escape(row.model)}',
            row.model,
            "text sticky",
        ),
        _Cell(escape(row.preset), row.preset, "text"),
        _Cell(f"<code>{escape(row.hparams)}</code>", row.hparams, "text", hparams),
        _Cell(escape(_mean_std(primary.mean, primary.std)), _value(primary.mean)),
        _Cell(
            escape(interval_text(row.interval)),
            _value(row.interval[0] if row.interval else None),
        ),
        *metric_cells,
        _Cell(f"{row.params:,}", str(row.params)),
        _Cell(escape(_duration(row.train_seconds)), _value(row.train_seconds)),
        _Cell(escape(_number(row.infer_ms_per_sample, 3)), _value(row.infer_ms_per_sample)),
        _Cell(escape(_speedup(row.speedup)), _value(row.speedup)),
        _Cell(escape(equal_accuracy_text(row)), _value(row.equal_speedup)),
        _Cell(str(row.n), str(row.n)),
        _Cell(str(row.n_diverged), str(row.n_diverged)),
        _Cell(escape(row.budget), row.budget, "text"),
        _Cell(
            f"<code>{escape(row.fingerprint[:8])}</code>", row.fingerprint, "text", row.fingerprint
        ),
        _Cell(escape(row.source), row.source, "text"),
        _Cell(escape(row.device), row.device, "text device"),
        _Cell(" ".join(links), str(len(links)), "text runs"),
    ]


# --- SVG plots -----------------------------------------------------------------------------


def _f(value: float) -> str:
    """An SVG coordinate: two decimals, trailing zeros dropped, no ``-0``."""
    text = f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _tick_label(value: float) -> str:
    """Short tick text: ``0.05``, ``1.5k``, ``2M``, ``1e-5``."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    text = f"{value:.4g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", text)


@dataclass(frozen=True)
class _Axis:
    """Maps data values in [lo, hi] (log10 when ``log``) to pixels in [p0, p1]; an
    ``integer`` linear axis (rollout steps) gets whole-number ticks from 1."""

    lo: float
    hi: float
    log: bool
    p0: float
    p1: float
    integer: bool = False

    def __call__(self, value: float) -> float:
        if self.log:
            a, b, v = math.log10(self.lo), math.log10(self.hi), math.log10(value)
        else:
            a, b, v = self.lo, self.hi, value
        return self.p0 + (v - a) / (b - a) * (self.p1 - self.p0)

    def ticks(self) -> list[float]:
        if self.log:
            return _log_ticks(self.lo, self.hi)
        return _linear_ticks(self.lo, self.hi, self.integer)


def _log_range(values: Sequence[float]) -> tuple[float, float]:
    """A padded range in log space covering the positive ``values``."""
    a, b = math.log10(min(values)), math.log10(max(values))
    if b - a < 0.2:
        middle = (a + b) / 2
        a, b = middle - 0.1, middle + 0.1
    pad = 0.08 * (b - a)
    return 10 ** (a - pad), 10 ** (b + pad)


def _linear_ticks(lo: float, hi: float, integer: bool = False) -> list[float]:
    """About five round ticks in [lo, hi]; with ``integer``, whole numbers from 1."""
    raw = (hi - lo) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    if integer:  # rollout steps: whole numbers from 1
        step = max(1.0, float(round(step)))
        lo = max(lo, 1.0)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi * (1 + 1e-9) + 1e-12:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Decades, or 1-2-5, or 1…9 per decade, whichever first gives three ticks in [lo, hi];
    round linear ticks for ranges narrower than that."""
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        ticks = [
            m * 10.0**e if e >= 0 else m / 10.0**-e for e in range(e0, e1 + 1) for m in mantissas
        ]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 3:
            stride = math.ceil(len(ticks) / 9)
            return ticks[::stride]
    return [t for t in _linear_ticks(lo, hi) if t > 0]


def _axes(x: _Axis, y: _Axis, x_title: str, y_title: str) -> list[str]:
    """Grid, frame, tick labels (thinned where they would overlap) and axis titles."""
    out = ['<g class="axes">']
    last_right = -math.inf
    for tick in x.ticks():
        px = x(tick)
        out.append(f'<line class="grid" x1="{_f(px)}" y1="{y.p1}" x2="{_f(px)}" y2="{y.p0}"/>')
        text = _tick_label(tick)
        half = len(text) * _CHAR_W / 2
        if px - half > last_right + 4:
            out.append(
                f'<text class="tick" x="{_f(px)}" y="{_f(y.p0 + 16)}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
            last_right = px + half
    last_top = math.inf
    for tick in y.ticks():
        py = y(tick)
        out.append(f'<line class="grid" x1="{x.p0}" y1="{_f(py)}" x2="{x.p1}" y2="{_f(py)}"/>')
        if py + 6 < last_top - 4:
            out.append(
                f'<text class="tick" x="{_f(x.p0 - 6)}" y="{_f(py + 4)}" '
                f'text-anchor="end">{escape(_tick_label(tick))}</text>'
            )
            last_top = py - 6
    out.append(
        f'<rect class="frame" x="{x.p0}" y="{y.p1}" width="{x.p1 - x.p0}" height="{y.p0 - y.p1}"/>'
    )
    out.append(
        f'<text class="title" x="{_f((x.p0 + x.p1) / 2)}" y="{_H - 8}" '
        f'text-anchor="middle">{escape(x_title)}</text>'
    )
    out.append(
        f'<text class="title" transform="translate(14 {_f((y.p0 + y.p1) / 2)}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_title)}</text>'
    )
    out.append("</g>")
    return out


def _svg_open(kind: str, label: str) -> str:
    return (
        f'<svg class="plot plot-{kind}" xmlns="http://www.w3.org/2000/svg" width="{_W}" '
        f'height="{_H}" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )


@dataclass(frozen=True)
class _Point:
    label: str
    colour: str
    x: float
    y: float
    std: float | None


Box = tuple[float, float, float, float]


def _overlaps(box: Box, boxes: Sequence[Box]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in boxes)


def _place_label(px: float, py: float, text: str, taken: list[Box]) -> tuple[float, float, str]:
    """A position for a point's label: right, left, above or below, the first that
    overlaps no earlier label and stays inside the plot; right when none does."""
    width, height = len(text) * _CHAR_W, 11.0
    options = [
        (px + 7, py + 4, "start", (px + 6, py - 7, px + 7 + width, py + 5)),
        (px - 7, py + 4, "end", (px - 7 - width, py - 7, px - 6, py + 5)),
        (px, py - 9, "middle", (px - width / 2, py - 9 - height, px + width / 2, py - 8)),
        (px, py + 17, "middle", (px - width / 2, py + 7, px + width / 2, py + 18)),
    ]
    inside = [
        option
        for option in options
        if option[3][0] >= _LEFT + 1
        and option[3][2] <= _W - _RIGHT - 1
        and option[3][1] >= _TOP
        and option[3][3] <= _H - _BOTTOM
    ]
    for x, y, anchor, box in inside:
        if not _overlaps(box, taken):
            taken.append(box)
            return x, y, anchor
    x, y, anchor, box = (inside or options)[0]
    taken.append(box)
    return x, y, anchor


def _scatter(kind: str, points: Sequence[_Point], x_title: str, y_title: str) -> str:
    """A log-log scatter of labelled points with ± std error bars."""
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    ys += [p.y + p.std for p in points if p.std]
    ys += [p.y - p.std for p in points if p.std and p.y - p.std > 0]
    x = _Axis(*_log_range(xs), True, _LEFT, _W - _RIGHT)
    y = _Axis(*_log_range(ys), True, _H - _BOTTOM, _TOP)
    out = [_svg_open(kind, f"{y_title} against {x_title}"), *_axes(x, y, x_title, y_title)]
    taken: list[Box] = [(x(p.x) - 5, y(p.y) - 5, x(p.x) + 5, y(p.y) + 5) for p in points]
    labels = []
    for p in points:
        px, py = x(p.x), y(p.y)
        out.append(f'<g class="point" data-label="{escape(p.label)}">')
        tip = f"{p.label}: {y_title} {_mean_std(p.y, p.std)}, {x_title} {_number(p.x, 3)}"
        out.append(f"<title>{escape(tip)}</title>")
        if p.std:
            top = y(min(p.y + p.std, y.hi))
            low = y(p.y - p.std) if p.y - p.std > y.lo else y.p0
            out.append(
                f'<path class="err" stroke="{p.colour}" d="M{_f(px)} {_f(top)}V{_f(low)}'
                f'M{_f(px - 3)} {_f(top)}h6M{_f(px - 3)} {_f(low)}h6"/>'
            )
        out.append(f'<circle cx="{_f(px)}" cy="{_f(py)}" r="4.5" fill="{p.colour}" stroke="#fff"/>')
        out.append("</g>")
        labels.append((px, py, p.label))
    # Labels last so that they sit on top of every point and bar.
    for px, py, text in sorted(labels, key=lambda item: (item[1], item[0], item[2])):
        lx, ly, anchor = _place_label(px, py, text, taken)
        out.append(
            f'<text class="label" x="{_f(lx)}" y="{_f(ly)}" '
            f'text-anchor="{anchor}">{escape(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def _not_plotted(reason: str, labels: Sequence[str]) -> str:
    if not labels:
        return ""
    return f' <span class="note">Not plotted ({reason}): {escape(", ".join(labels))}.</span>'


def _cost_plot(
    kind: str,
    rows: Sequence[LeaderboardRow],
    labels: Sequence[str],
    x_of: Callable[[LeaderboardRow], float | None],
    x_title: str,
    what: str,
    zero_reason: str,
) -> str:
    """The primary metric against one cost, log-log; rows without a positive cost or a
    finite metric are named in the caption instead."""
    primary = rows[0].primary_metric
    points, no_metric, no_x, zero_x = [], [], [], []
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        mean, std, cost = row.primary.mean, row.primary.std, x_of(row)
        if mean is None or mean <= 0:
            no_metric.append(label)
        elif cost is None:
            no_x.append(label)
        elif cost <= 0:
            zero_x.append(label)
        else:
            points.append(_Point(label, PALETTE[index % len(PALETTE)], cost, mean, std))
    caption = (
        f"Test {escape(primary)} (mean ± std over seeds) against {what}; log-log, "
        "lower left is better."
    )
    caption += _not_plotted(zero_reason, zero_x)
    caption += _not_plotted(f"no {what}", no_x)
    caption += _not_plotted(f"no positive {escape(primary)}", no_metric)
    if not points:
        return _figure(f'<p class="noplot">Nothing to plot against {what}.</p>', caption)
    return _figure(_scatter(kind, points, x_title, f"test {primary}"), caption)


def _mean_curve(runs: Sequence[Record], metric: str) -> list[float | None]:
    """Per-step mean over runs of a rollout curve, skipping nulls."""
    curves = [run["rollout"]["curves"].get(metric) or [] for run in runs]
    length = max((len(curve) for curve in curves), default=0)
    return [
        Stat.of(curve[step] for curve in curves if step < len(curve)).mean for step in range(length)
    ]


def _rollout_plot(
    rows: Sequence[LeaderboardRow], labels: Sequence[str], by_id: dict[str, Record]
) -> str:
    """The primary metric against rollout step, one line per row; empty when no run of
    the table has a rollout curve of the primary metric."""
    primary = rows[0].primary_metric
    series = []
    delta_ts, ks = set(), set()
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        runs = [
            by_id[run_id]
            for run_id in row.run_ids
            if run_id in by_id
            and by_id[run_id].get("rollout") is not None
            and by_id[run_id]["train"]["status"] in COUNTED_STATUSES
        ]
        curve = _mean_curve(runs, primary)
        if any(v is not None and v > 0 for v in curve):
            series.append((label, PALETTE[index % len(PALETTE)], curve))
            delta_ts |= {run["rollout"]["delta_t"] for run in runs}
            ks |= {run["rollout"]["k"] for run in runs}
    if not series:
        return ""
    steps = max(len(curve) for _, _, curve in series)
    values = [v for _, _, curve in series for v in curve if v is not None and v > 0]
    pad = 0.5 if steps == 1 else 0.04 * (steps - 1)
    x_lo, x_hi = 1 - pad, steps + pad
    x = _Axis(x_lo, x_hi, False, _LEFT, _W - _RIGHT, integer=True)
    y = _Axis(*_log_range(values), True, _H - _BOTTOM, _TOP)
    x_title, y_title = "rollout step", f"test {primary}"
    out = [_svg_open("rollout", f"{y_title} against {x_title}"), *_axes(x, y, x_title, y_title)]
    markers = steps <= 30
    for label, colour, curve in series:
        out.append(f'<g class="series" data-label="{escape(label)}">')
        out.append(f"<title>{escape(label)}</title>")
        path, pen_down = [], False
        for step, v in enumerate(curve, start=1):
            if v is None or v <= 0:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{_f(x(step))} {_f(y(v))}")
            pen_down = True
        out.append(f'<path class="line" stroke="{colour}" d="{"".join(path)}"/>')
        if markers:
            for step, v in enumerate(curve, start=1):
                if v is not None and v > 0:
                    out.append(
                        f'<circle cx="{_f(x(step))}" cy="{_f(y(v))}" r="2.5" fill="{colour}"/>'
                    )
        out.append("</g>")
    out.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>'
        f"{escape(label)}</span>"
        for label, colour, _ in series
    )
    dt = " / ".join(f"{v:g}" for v in sorted(delta_ts))
    k = " / ".join(str(v) for v in sorted(ks))
    caption = (
        f"Rollout: test {escape(primary)} per autoregressive step (Δt = {escape(dt)} s, "
        f"k = {escape(k)} frame{'s' if ks != {1} else ''} per step), mean over seeds; log "
        f'scale. <span class="legend">{legend}</span>'
    )
    return _figure("".join(out), caption)


def _plots(rows: Sequence[LeaderboardRow], by_id: dict[str, Record]) -> str:
    labels = _labels(rows)
    figures = [
        _cost_plot(
            "params",
            rows,
            labels,
            lambda row: row.params,
            "trainable parameters",
            "parameter count",
            "0 parameters",
        ),
        _cost_plot(
            "infer",
            rows,
            labels,
            lambda row: row.infer_ms_per_sample,
            "inference ms / sample",
            "inference time per sample",
            "0 ms per sample",
        ),
        _rollout_plot(rows, labels, by_id),
    ]
    return '<div class="plots">' + "".join(f for f in figures if f) + "</div>"


# --- citations -----------------------------------------------------------------------------


def _citations(citations: Sequence[tuple[str, str, str]]) -> str:
    """The citations grouped by kind, kinds and entries in sorted order."""
    out = ['<section id="citations">', "<h2>Citations</h2>"]
    if not citations:
        out.append('<p class="muted">No citations.</p>')
    by_kind: dict[str, set[tuple[str, str]]] = {}
    for kind, name, text in citations:
        by_kind.setdefault(kind, set()).add((name, text))
    for kind in sorted(by_kind):
        out.append(f'<h3 class="kind">{escape(kind)}</h3>')
        out.append("<dl>")
        for name, text in sorted(by_kind[kind]):
            out.append(f"<dt>{escape(name)}</dt><dd>{escape(text)}</dd>")
        out.append("</dl>")
    out.append("</section>")
    return "\n".join(out)


# --- inline CSS and script -----------------------------------------------------------------

_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--head:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main,footer{max-width:1480px;margin:0 auto;padding:0 24px}
header{padding-top:20px}
h1{font-size:26px;margin:0}
h2{font-size:19px;margin:36px 0 6px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.meta,.muted,.primary{color:var(--muted)}
.meta{margin:2px 0 12px}
.intro{max-width:920px}
nav h2{font-size:15px;border:0;margin:18px 0 2px}
nav ul{margin:0;padding-left:20px}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table.lb{border-collapse:collapse;font-size:12.5px;min-width:100%}
table.lb caption{position:absolute;left:-9999px}
table.lb th,table.lb td{padding:5px 6px;border-bottom:1px solid var(--line);
white-space:nowrap;text-align:left;vertical-align:top}
table.lb th{white-space:normal;vertical-align:bottom;line-height:1.25}
table.lb tbody tr:last-child td{border-bottom:0}
table.lb .num{text-align:right;font-variant-numeric:tabular-nums}
table.lb thead th{background:var(--head);font-weight:600}
table.lb th button{font:inherit;color:inherit;background:none;border:0;padding:0;
cursor:pointer;text-align:inherit}
table.lb th button::after{content:"\\2195";color:#aab2bb;margin-left:3px;font-size:11px}
table.lb th[aria-sort=ascending] button::after{content:"\\25B2";color:var(--fg)}
table.lb th[aria-sort=descending] button::after{content:"\\25BC";color:var(--fg)}
table.lb tbody tr{background:#fff}
table.lb tbody tr:nth-child(even){background:#f8f9fb}
table.lb tbody tr:hover{background:#eef4fb}
table.lb .sticky{position:sticky;left:0;background:inherit;z-index:1;
box-shadow:inset -1px 0 0 var(--line)}
table.lb thead .sticky{background:var(--head)}
table.lb .nw{white-space:nowrap}
table.lb tr.diverged td{color:var(--muted)}
table.lb td.device{white-space:normal;min-width:11em;max-width:18em}
table.lb td.runs a{margin-right:4px}
table.lb td.runs a.bad{color:#cf222e;text-decoration:line-through}
.swatch{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px;
margin-top:14px}
figure{margin:0;max-width:560px;border:1px solid var(--line);border-radius:6px;padding:8px}
figure svg{display:block;width:100%;height:auto}
.equal-accuracy figure{max-width:760px}
table.curve{font-size:12px;margin-bottom:8px}
figcaption{font-size:12px;color:var(--muted);margin-top:4px}
figcaption .note{color:#9a6700}
figcaption .key{display:inline-block;margin-right:10px;color:var(--fg)}
.noplot{color:var(--muted);font-size:13px;margin:8px}
svg text{font-size:11px;fill:#3d444d;font-family:inherit}
svg text.title{font-size:12px;fill:var(--fg)}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .frame{fill:none;stroke:#8c959f;stroke-width:1}
svg .err{stroke-width:1.3;fill:none}
svg .line{fill:none;stroke-width:1.8}
svg text.label{fill:var(--fg);paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round}
#citations dl{margin:0}
#citations dt{font-weight:600;margin-top:6px}
#citations dd{margin:0 0 0 18px}
h3.kind{text-transform:capitalize}
footer{color:var(--muted);font-size:12px;margin-top:36px;padding-bottom:24px}
"""

_JS = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-value");
    return v === null ? cell.textContent : v;
  }
  function sortTable(table, col, desc) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    if (!body || col < 0 || col >= heads.length) return;
    var items = Array.prototype.map.call(body.rows, function (row) {
      return {row: row, k: key(row.cells[col]), o: Number(row.getAttribute("data-order"))};
    });
    var numeric = items.every(function (it) {
      return it.k === "" || isFinite(Number(it.k));
    });
    items.sort(function (a, b) {
      var am = a.k === "", bm = b.k === "";
      if (am || bm) return am === bm ? a.o - b.o : (am ? 1 : -1);
      var c = numeric ? Number(a.k) - Number(b.k) : (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);
      if (desc) c = -c;
      return c || a.o - b.o;
    });
    items.forEach(function (it) { body.appendChild(it.row); });
    for (var i = 0; i < heads.length; i++) {
      if (i === col) heads[i].setAttribute("aria-sort", desc ? "descending" : "ascending");
      else heads[i].removeAttribute("aria-sort");
    }
    table.setAttribute("data-sort", col + (desc ? ":desc" : ""));
  }
  function fromHash() {
    var m = /^#sort=([a-z0-9-]+):(\\d+)(:desc)?$/.exec(window.location.hash);
    if (!m) return;
    var table = document.getElementById(m[1]);
    if (table && table.classList.contains("lb")) sortTable(table, Number(m[2]), !!m[3]);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.lb"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.querySelector("button").addEventListener("click", function () {
        var desc = th.getAttribute("aria-sort") === "ascending";
        sortTable(table, col, desc);
        var hash = "#sort=" + table.id + ":" + col + (desc ? ":desc" : "");
        try { history.replaceState(null, "", hash); } catch (e) { /* file: URLs */ }
      });
    });
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
"""
