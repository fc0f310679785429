"""The static leaderboard page: content, determinism, escaping, its matplotlib figures, and
a headless Chromium check that it renders and that its sorting script works."""

from __future__ import annotations

import copy
import datetime
import os
import random
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat
from test_record import make_record

from opbench.results.figures import mean_curve
from opbench.results.html import render_html
from opbench.results.leaderboard import leaderboard_rows
from opbench.results.record import validate_record

DATE = datetime.date(2025, 1, 31)
EVIL = "<script>alert(1)</script>\"&'"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&amp;&#39;"
MAIN = "condiff-poisson-steady"
CITATIONS = [
    ("model", "fno", "Li et al. Fourier neural operator. ICLR 2021."),
    ("dataset", "condiff", "Author et al. ConDiff. 2024."),
    ("model", "unet", "Ronneberger et al. U-Net. MICCAI 2015."),
]


def _with_cost(record: dict[str, Any], params: int, infer: float | None) -> dict[str, Any]:
    record["model"]["params"] = record["cost"]["params"] = params
    record["cost"]["infer_ms_per_sample"] = infer
    return record


def _rollout(record: dict[str, Any], curve: list[float | None]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    steps = len(curve)
    record["rollout"] = {
        "steps": steps,
        "delta_t": 0.1,
        "k": 1,
        "n_cases": 2,
        "n_per_step": [2] * steps,
        "curves": {"rel_l2": curve},
    }
    return record


def _records() -> list[dict[str, Any]]:
    """Three tables. condiff/poisson/steady: fno and unet (3 seeds), deeponet, the fitted
    baselines linear and mean (0 parameters; mean without inference time), lsm (diverged
    only). condiff/advection/steady: fno and unet. cfdbench/cavity/rollout: fno and unet
    with rollout curves (with nulls)."""
    records = [
        make_record("fno", seed, value, extra_metrics={"mse": mse})
        for seed, value, mse in [(0, 0.10, 1.0), (1, 0.12, 2.0), (2, 0.14, 3.0)]
    ]
    records += [
        _with_cost(make_record("unet", seed, value), 250_000, 1.2)
        for seed, value in [(0, 0.20), (1, 0.25), (2, 0.33)]
    ]
    records.append(_with_cost(make_record("deeponet", 0, 0.5), 900, 0.05))
    records.append(_with_cost(make_record("linear", 0, 2e-5, preset="fit"), 0, 0.01))
    records.append(_with_cost(make_record("mean", 0, 1.0, preset="fit"), 0, None))
    records.append(make_record("lsm", 0, None, status="diverged"))
    records += [make_record(m, 0, v, config="advection") for m, v in [("fno", 0.3), ("unet", 0.2)]]
    cavity = {"family": "cfdbench", "config": "cavity", "task": "rollout"}
    records += [
        _rollout(make_record("fno", 0, 0.05, **cavity), [0.05, 0.1, 0.2]),
        _rollout(make_record("fno", 1, 0.07, **cavity), [0.07, None, 0.4]),
        _rollout(make_record("unet", 0, 0.08, **cavity), [0.08, 0.3, None]),
    ]
    for record in records:
        validate_record(record)
    return records


def _page(records: list[dict[str, Any]] | None = None, citations=CITATIONS) -> str:
    records = _records() if records is None else records
    return render_html(records, leaderboard_rows(records), citations, DATE)


def _section(page: str, table_id: str) -> str:
    match = re.search(rf'<section class="board" id="sec-{table_id}">(.*?)</section>', page, re.S)
    assert match, f"no section for table {table_id}"
    return match[1]


def _figure(section: str, kind: str) -> str | None:
    """The ``<figure class="plot-<kind>">`` of a section (matplotlib's SVG and caption)."""
    match = re.search(rf'<figure class="plot-{kind}">(.*?)</figure>', section, re.S)
    return match[1] if match else None


def _models(section: str) -> list[str]:
    """The model column of a board table, in row order."""
    return re.findall(
        r'<tr data-order="\d+"[^>]*>\n<td [^>]*>[^<]*</td><td class="text" data-value="([^"]*)"',
        section,
    )


class _Tags(HTMLParser):
    """Start tags in document order, and the text inside <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script += data


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def test_page_is_deterministic_whatever_the_input_order() -> None:
    records = _records()
    page = _page(records)
    assert page == _page(records)
    shuffled = copy.deepcopy(records)
    random.Random(0).shuffle(shuffled)
    citations = list(reversed(CITATIONS))
    assert render_html(shuffled, leaderboard_rows(shuffled), citations, DATE) == page
    assert "2025-01-31" in page
    assert page.startswith("<!DOCTYPE html>\n")


def test_page_is_self_contained() -> None:
    page = _page()
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page)  # only references inside an SVG
    assert "http://" not in page.replace("http://www.w3.org/", "")
    assert "https://" not in page
    assert _tags(page).tags.count("script") == 1


def test_one_sortable_table_per_dataset_in_sorted_order() -> None:
    page = _page()
    ids = re.findall(r'<table class="lb" id="([a-z0-9-]+)">', page)
    assert ids == ["cfdbench-cavity-rollout", "condiff-advection-steady", MAIN]
    headings = re.findall(r"<h2>([^<]*/[^<]*)</h2>", page)
    assert headings == [
        "cfdbench / cavity / rollout",
        "condiff / advection / steady",
        "condiff / poisson / steady",
    ]
    section = _section(page, MAIN)
    assert "Primary metric: <code>rel_l2</code>" in section
    columns = re.findall(r'<th scope="col"[^>]*><button type="button">(.*?)</button>', section)
    assert columns == [
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
        "params",
        "train time",
        "infer ms/sample",
        "speedup at equal accuracy",
        "speedup",
        "preset",
        "hparams",
        "records",
    ]
    # Ranked rows (three converged seeds) first, then the others (one seed; lsm diverged
    # only) by mean, with rank –; numbers formatted like the
    # Markdown leaderboard, raw values for sorting.
    assert _models(section) == ["fno", "unet", "linear", "deeponet", "mean", "lsm"]
    assert '<td class="num" data-value="0.12">0.1200 ± 0.020</td>' in section
    assert '<td class="num" data-value="250000">250,000</td>' in section
    assert '<td class="num" data-value="">–</td>' in section  # lsm: rank –
    assert 'class="unranked"' in section


def test_the_page_says_what_the_board_is_and_how_rows_were_trained() -> None:
    page = _page()
    about = page[page.index('<section class="about"') : page.index("</section>")]
    for text in ("How rows were trained", "What to read into it", "not ranked"):
        assert text in about
    assert "Runs made 2025-01-31 on" in page
    assert "data: generated" in page


def test_every_run_links_to_its_record() -> None:
    records = _records()
    page = _page(records)
    for record in records:
        run_id, seed = record["run_id"], record["train"]["seed"]
        assert re.search(rf'<a href="records/{re.escape(run_id)}\.json"[^>]*>s{seed}</a>', page)
    # the diverged run is marked as such
    assert re.search(r'href="records/condiff-poisson-lsm-small-e25-s0\.json" class="bad"', page)


def test_citations_are_listed_by_kind() -> None:
    page = _page()
    citations = page[page.index('<section id="citations">') :]
    assert citations.index(">dataset</h3>") < citations.index(">model</h3>")
    assert citations.index("<dt>fno</dt>") < citations.index("<dt>unet</dt>")
    for _, name, text in CITATIONS:
        assert f"<dt>{name}</dt><dd>{text}</dd>" in citations


def test_text_from_records_and_citations_is_escaped() -> None:
    records = _records()
    evil = make_record(EVIL, 0, 0.3, config=EVIL, run_id="evil&run")
    evil["cost"]["device"] = evil["environment"]["device"] = EVIL
    evil["environment"]["device_name"] = EVIL
    evil["model"]["hyperparameters"] = {"act": EVIL}
    validate_record(evil)
    records.append(evil)
    page = _page(records, [*CITATIONS, ("model", EVIL, EVIL), (EVIL, "x", "y")])
    assert "alert(1)</script>" not in page and "<script>alert" not in page
    assert EVIL_ESCAPED in page
    assert "<img" not in page
    parsed = _tags(page)
    assert parsed.tags.count("script") == 1
    assert "alert" not in parsed.script
    # the table id is sanitised; the run link is URL-encoded, then escaped
    assert re.search(r'<table class="lb" id="condiff-script-alert-1-script-steady">', page)
    assert 'href="records/evil%26run.json"' in page
    # the plot's legend (matplotlib's SVG text) is escaped too
    section = _section(page, "condiff-script-alert-1-script-steady")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _figure(section, "cost")


def test_cost_figure_shows_each_row_with_a_mean_and_a_positive_cost() -> None:
    section = _section(_page(), MAIN)
    cost = _figure(section, "cost")
    assert cost is not None and "<svg" in cost
    labels = ["fno", "unet", "deeponet (not ranked)", "linear (not ranked)"]
    for label in labels:  # linear: no parameters, but timed
        assert f">{label}</text>" in cost, label
    assert ">mean</text>" not in cost  # no parameters and no inference time
    assert "lsm" not in cost  # diverged: no mean
    assert "trainable parameters" in cost and "inference time per sample (ms)" in cost


def test_rollout_figure_only_for_tables_with_rollout_records() -> None:
    page = _page()
    assert _figure(_section(page, MAIN), "rollout") is None
    assert _figure(_section(page, "condiff-advection-steady"), "rollout") is None
    rollout = _figure(_section(page, "cfdbench-cavity-rollout"), "rollout")
    assert rollout is not None
    assert ">rollout step</text>" in rollout
    assert ">fno (not ranked)</text>" in rollout and ">unet (not ranked)</text>" in rollout


def test_mean_rollout_curve_skips_missing_steps() -> None:
    runs = [
        _rollout(make_record("fno", s, 0.1), c) for s, c in enumerate([[1.0, 2.0], [3.0, None]])
    ]
    assert mean_curve(runs, "rel_l2") == [2.0, 2.0]


def test_empty_leaderboard_renders() -> None:
    page = render_html([], [], [], DATE)
    assert "No runs yet." in page and "<table" not in page


# --- headless Chromium ---------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "no Chromium binary (chromium, chromium-browser, google-chrome) on PATH"
    if os.environ.get("OPBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(f"{message}; apt-get install chromium")


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _write_page(tmp_path: Path) -> Path:
    path = tmp_path / "index.html"
    path.write_text(_page(), encoding="utf-8")
    return path


def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = _write_page(tmp_path)
    screenshot = tmp_path / "index.png"
    result = _run_chromium(
        tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri()
    )
    assert screenshot.exists(), result.stderr
    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 2000)
        colours = rgb.getcolors(maxcolors=1 << 24)
        assert colours is not None and len(colours) > 200, "the page looks blank"
        assert max(ImageStat.Stat(rgb).stddev) > 10, "the page looks blank"


def test_hash_sorts_the_table_in_headless_chromium(tmp_path: Path) -> None:
    """``#sort=<id>:2:desc`` sorts by the primary metric, largest first: numerically
    (2e-05 is smallest, though it sorts first as text) and the diverged row last."""
    page = _write_page(tmp_path)
    url = f"{page.as_uri()}#sort={MAIN}:2:desc"
    result = _run_chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", url)
    assert result.returncode == 0, result.stderr
    match = re.search(rf'<table class="lb" id="{MAIN}"(.*?)</table>', result.stdout, re.S)
    assert match, result.stdout[:2000]
    table = match[1]
    body = table[table.index("<tbody>") :]
    order = re.findall(
        r'<tr data-order="\d+"[^>]*>.*?href="records/condiff-poisson-(\w+)-', body, re.S
    )
    assert order == ["mean", "deeponet", "unet", "fno", "linear", "lsm"]
    assert re.search(r'<th [^>]*data-col="2"[^>]*aria-sort="descending"', table)
