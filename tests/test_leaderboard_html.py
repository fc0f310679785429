"""The static leaderboard page: content, determinism, escaping, SVG plots, and a headless
Chromium check that it renders and that its sorting script works."""

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

from opbench.results.html import render_html
from opbench.results.leaderboard import leaderboard_rows
from opbench.results.record import validate_record

DATE = datetime.date(2025, 1, 31)
EVIL = "<script>alert(1)</script>\"&'"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#x27;"
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


def _svg(section: str, kind: str) -> str | None:
    match = re.search(rf'<svg class="plot plot-{kind}".*?</svg>', section, re.S)
    return match[0] if match else None


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
    assert "@import" not in page and "url(" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
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
    columns = [
        re.sub(r"<[^>]*>", "", label)
        for label in re.findall(
            r'<th scope="col"[^>]*><button type="button">(.*?)</button>', section
        )
    ]
    assert columns == [
        "rank",
        "model",
        "preset",
        "hparams",
        "rel_l2 (mean ± std)",
        "95 % interval",
        "mse",
        "params",
        "train time",
        "infer ms/sample",
        "speedup",
        "speedup at equal accuracy",
        "seeds",
        "diverged",
        "budget",
        "data",
        "source",
        "device",
        "records",
    ]
    # Rows in rank order, numbers formatted like the Markdown leaderboard, raw values for sorting.
    models = re.findall(r'<span class="swatch"[^>]*></span>([^<]*)</td>', section)
    assert models == ["linear", "fno", "unet", "deeponet", "mean", "lsm"]
    assert '<td class="num" data-value="0.12">0.1200 ± 0.0200</td>' in section
    assert '<td class="num" data-value="250000">250,000</td>' in section
    assert '<td class="num" data-value="">—</td>' in section  # lsm: diverged only


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
    assert "alert(1)</script>" not in page
    assert EVIL_ESCAPED in page
    assert "<img" not in page
    parsed = _tags(page)
    assert parsed.tags.count("script") == 1
    assert "alert" not in parsed.script
    # the table id is sanitised; the run link is URL-encoded, then escaped
    assert re.search(r'<table class="lb" id="condiff-script-alert-1-script-steady">', page)
    assert 'href="records/evil%26run.json"' in page
    # plot labels and tooltips (SVG <text>, <title>, attributes) are escaped too
    section = _section(page, "condiff-script-alert-1-script-steady")
    assert f">{EVIL_ESCAPED}</text>" in _svg(section, "params")
    assert f'data-label="{EVIL_ESCAPED}"' in section


def test_cost_plots_have_one_point_per_row_with_a_positive_cost() -> None:
    section = _section(_page(), MAIN)
    params = _svg(section, "params")
    infer = _svg(section, "infer")
    assert params and infer
    labels = re.findall(r'<g class="point" data-label="([^"]*)">', params)
    assert labels == ["fno", "unet", "deeponet"]
    labels = re.findall(r'<g class="point" data-label="([^"]*)">', infer)
    assert labels == ["linear", "fno", "unet", "deeponet"]
    assert "Not plotted (0 parameters): linear, mean." in section
    assert "Not plotted (no inference time per sample): mean." in section
    assert "Not plotted (no positive rel_l2): lsm." in section
    for svg in (params, infer):
        assert "trainable parameters" in params and "inference ms / sample" in infer
        assert ">test rel_l2</text>" in svg
        assert len(re.findall(r'<text class="tick"', svg)) >= 4
        geometry = re.findall(r' (?:x|y|x1|y1|x2|y2|cx|cy|d|transform)="([^"]*)"', svg)
        assert geometry and not any(re.search(r"\d\.\d{3}", g) for g in geometry)
    # fno has 3 seeds: an error bar; deeponet has one: none
    assert re.search(r'data-label="fno">.*?<path class="err"', params)
    assert not re.search(r'data-label="deeponet"><title>[^<]*</title><path', params)


def test_rollout_plot_only_for_tables_with_rollout_records() -> None:
    page = _page()
    assert _svg(_section(page, MAIN), "rollout") is None
    assert _svg(_section(page, "condiff-advection-steady"), "rollout") is None
    section = _section(page, "cfdbench-cavity-rollout")
    rollout = _svg(section, "rollout")
    assert rollout is not None
    series = re.findall(
        r'<g class="series" data-label="([^"]*)"><title>[^<]*</title><path [^>]* d="([^"]*)"',
        rollout,
    )
    assert [label for label, _ in series] == ["fno", "unet"]
    paths = dict(series)
    # fno: mean of the seeds at every step (step 2 from one seed), so one unbroken line
    assert paths["fno"].count("M") == 1 and paths["fno"].count("L") == 2
    # unet: step 3 is null, so two points
    assert paths["unet"].count("M") == 1 and paths["unet"].count("L") == 1
    assert ">rollout step</text>" in rollout
    assert "Δt = 0.1 s" in section
    # the rollout table still has its two cost plots
    assert _svg(section, "params") and _svg(section, "infer")


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
    """``#sort=<id>:4:desc`` sorts by the primary metric, largest first: numerically
    (2e-05 is smallest, though it sorts first as text) and the diverged row last."""
    page = _write_page(tmp_path)
    url = f"{page.as_uri()}#sort={MAIN}:4:desc"
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
    assert re.search(r'<th [^>]*data-col="4"[^>]*aria-sort="descending"', table)
