"""The published leaderboard directory, `opbench submit`, and the committed leaderboard."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_record import make_record
from typer.testing import CliRunner

from opbench.cli import app
from opbench.config import TrainConfig
from opbench.data import DATASETS
from opbench.errors import DataError
from opbench.io import write_json_atomic
from opbench.models import MODELS
from opbench.results import publish
from opbench.results.record import read_record, validate_record, write_record
from opbench.results.submit import submission_problems, submit
from opbench.sweep import record_key

REPO = Path(__file__).resolve().parents[1]
CITATION = "Author. A paper. 2025."


def _record(model: str = "fno", seed: int = 0, value: float = 0.1, **kwargs) -> dict:
    """A record as the board reads it (validated, JSON form), cited, std 0."""
    record = make_record(model, seed, value, **kwargs)
    record["model"]["citation"] = CITATION
    for summary in record["metrics"]["test"].values():
        summary["std"] = 0.0
    return validate_record(record).to_json()


def _board(tmp_path: Path, records: list[dict]) -> Path:
    root = tmp_path / "board"
    publish.add_records(records, root)
    return root


def test_publish_writes_every_file_and_check_sees_changes(tmp_path: Path) -> None:
    records = [_record("fno", s, 0.1 + s / 100) for s in range(3)]
    records.append(_record("fno", 0, 0.3, family="cfdbench", config="cavity"))
    root = _board(tmp_path, records)
    paths = publish.publish(root)
    assert sorted(p.name for p in paths) == [
        "cfdbench.md",
        "condiff.md",
        "index.html",
        "results.csv",
    ]
    assert "Generated on 2025-01-31 from 3 board records." in (root / "condiff.md").read_text()
    assert len((root / "results.csv").read_text().splitlines()) == len(records) + 1
    assert (
        'href="records/condiff-poisson-fno-small-e25-s1.json"' in (root / "index.html").read_text()
    )
    assert publish.stale_files(root) == []

    (root / "condiff.md").write_text("edited by hand\n")
    (root / "old.md").write_text("left over\n")
    assert publish.stale_files(root) == ["condiff.md", "old.md"]
    publish.publish(root)
    assert publish.stale_files(root) == []
    assert not (root / "old.md").exists()


def test_add_records_refuses_duplicates(tmp_path: Path) -> None:
    root = _board(tmp_path, [_record("fno", 0)])
    publish.add_records([_record("fno", 0)], root)  # the same record again: nothing changes
    assert len(list((root / "records").glob("*.json"))) == 1
    with pytest.raises(DataError, match=r"another run .* is already on the leaderboard"):
        publish.add_records([_record("fno", 0, 0.5)], root)
    with pytest.raises(DataError, match="all seed 0"):
        publish.add_records([_record("fno", 0, run_id="another-run")], root)


def test_a_refused_batch_writes_nothing(tmp_path: Path) -> None:
    """Two runs of one seed in one batch: refused, and neither is copied."""
    root = tmp_path / "board"
    batch = [_record("unet", 1), _record("fno", 0), _record("fno", 0, 0.2, run_id="rerun")]
    with pytest.raises(DataError, match="all seed 0"):
        publish.add_records(batch, root)
    assert not list((root / "records").glob("*.json"))


def test_leaderboard_runs_with_a_repeated_seed_copies_no_record(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for run_id, value in (("a", 0.1), ("b", 0.2)):
        write_record(runs / run_id, validate_record(make_record("fno", 0, value, run_id=run_id)))
    root = tmp_path / "board"
    result = CliRunner().invoke(app, ["leaderboard", "--runs", str(runs), "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert "all seed 0" in result.output
    assert not list((root / "records").glob("*.json"))


def test_a_writer_waits_for_the_board_lock(tmp_path: Path) -> None:
    """Check-then-write runs under the root's lock: while another process holds it, adding
    a record waits; afterwards the later writer sees the earlier one's records."""
    root = tmp_path / "board"
    root.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
            "lock.acquire(); print('held', flush=True); time.sleep(2)",
            str(root / publish.LOCK_FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    writer = threading.Thread(target=publish.add_records, args=([_record("fno", 0)], root))
    writer.start()
    writer.join(timeout=1.0)
    assert writer.is_alive(), "add_records wrote while another process held the board's lock"
    assert not list((root / "records").glob("*.json"))
    holder.wait(timeout=10)
    writer.join(timeout=10)
    assert len(list((root / "records").glob("*.json"))) == 1
    with pytest.raises(DataError, match="all seed 0"):
        publish.add_records([_record("fno", 0, 0.3, run_id="concurrent")], root)
    publish.publish(root)  # the board still builds


def test_records_must_be_named_by_run_id(tmp_path: Path) -> None:
    root = _board(tmp_path, [_record("fno", 0)])
    (path,) = (root / "records").glob("*.json")
    path.rename(path.with_name("renamed.json"))
    with pytest.raises(DataError, match="name it by its run_id"):
        publish.read_published_records(root)


def _accepting_board(tmp_path: Path) -> Path:
    root = tmp_path / "board"
    root.mkdir()
    known = publish.with_dataset({}, _record(), "opbench data generate condiff ...")
    publish.write_known_datasets(known, root)
    return root


def _problems(record: dict, root: Path) -> list[str]:
    return submission_problems(record, publish.read_known_datasets(root))


def test_submission_of_a_good_record(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    source = tmp_path / "record.json"
    write_json_atomic(source, _record("unet", 0, 0.2))
    assert submit([source], root) == [root / "records" / "condiff-poisson-unet-small-e25-s0.json"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["dataset"].update(fingerprint="0" * 16), "not a known condiff/poisson"),
        (lambda r: r["dataset"].update(config="cubic"), "no dataset 'condiff/cubic'"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(median=None), "missing median"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(n=7), "n: 7 samples, the test split"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(mean=-0.5), "outside \\[0, 1000\\]"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(mean=5e3), "outside \\[0, 1000\\]"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(std=-1.0), "std: -1.0 is negative"),
        (lambda r: r["metrics"]["test"]["rel_l2"].update(max=0.05), "not within \\[min, max\\]"),
        (lambda r: r["train"].update(epochs_run=99), "train.epochs_run: 99"),
        (lambda r: r["cost"].update(infer_ms_per_sample=0.0), "infer_ms_per_sample: 0.0"),
        (lambda r: r["model"].update(citation=None), "model.citation"),
    ],
)
def test_submission_refuses(tmp_path: Path, change, message: str) -> None:
    root = _accepting_board(tmp_path)
    record = copy.deepcopy(_record())
    change(record)
    problems = _problems(record, root)
    assert any(re.search(message, p) for p in problems), problems
    source = tmp_path / "record.json"
    write_json_atomic(source, record)
    good = tmp_path / "good.json"
    write_json_atomic(good, _record("unet", 1))
    with pytest.raises(DataError):
        submit([good, source], root)
    assert not (root / "records").exists()  # the good record waits for the whole batch


def test_only_the_primary_metric_has_an_upper_bound(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    record = _record(extra_metrics={"mse": 3.5e5})  # e.g. pressure in Pa²
    assert _problems(record, root) == []


def test_family_quantities_may_be_negative(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    record = _record(extra_metrics={"cl": -0.2})  # AirfRANS: the predicted lift coefficient
    assert _problems(record, root) == []


def test_mean_of_equal_values_may_round_past_them(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    record = _record()
    record["metrics"]["test"]["rel_l2"] |= {"mean": 0.017562019636525306, "min": 0.0175620196365253}
    record["metrics"]["test"]["rel_l2"] |= {"median": 0.0175620196365253, "max": 0.0175620196365253}
    assert _problems(record, root) == []


def test_split_of_cases_counts_samples_by_metric(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    record = _record(extra_metrics={"mse": 0.2})
    record["dataset"]["split"] |= {"unit": "case", "test": 2}  # 10 pairs from 2 cases
    assert _problems(record, root) == []
    record["metrics"]["test"]["mse"]["n"] = 9
    assert _problems(record, root) == ["metrics.test: n differs across metrics {9, 10}"]


def test_spearman_is_a_split_level_correlation(tmp_path: Path) -> None:
    root = _accepting_board(tmp_path)
    record = _record(extra_metrics={"spearman_cl": -0.4})
    record["metrics"]["test"]["spearman_cl"] |= {"std": None, "median": None}
    assert _problems(record, root) == []
    record["metrics"]["test"]["spearman_cl"]["mean"] = 1.5
    assert _problems(record, root) == ["metrics.test.spearman_cl.mean: 1.5 is outside [-1, 1]"]


def test_submit_and_leaderboard_commands(tmp_path: Path) -> None:
    root = tmp_path / "board"
    source = tmp_path / "record.json"
    write_json_atomic(source, _record())
    runner = CliRunner()
    refused = runner.invoke(app, ["submit", str(source), "--root", str(root)])
    assert refused.exit_code == 2
    assert "no dataset 'condiff/poisson'" in refused.output
    bad = tmp_path / "bad.json"
    write_json_atomic(bad, {**_record(), "model": {**_record()["model"], "citation": None}})
    refused = runner.invoke(
        app, ["submit", str(bad), "--root", str(root), "--accept-dataset", "generated"]
    )
    assert refused.exit_code == 2 and "model.citation" in refused.output
    assert not (root / publish.DATASETS_FILE).exists()  # all or nothing: no dataset accepted
    accepted = runner.invoke(
        app, ["submit", str(source), "--root", str(root), "--accept-dataset", "generated"]
    )
    assert accepted.exit_code == 0, accepted.output
    assert (root / "index.html").is_file()
    check = runner.invoke(app, ["leaderboard", "--root", str(root), "--check"])
    assert check.exit_code == 0, check.output
    (root / "results.csv").write_text("")
    check = runner.invoke(app, ["leaderboard", "--root", str(root), "--check"])
    assert check.exit_code == 1
    assert "results.csv" in check.output


def test_committed_leaderboard_matches_its_records() -> None:
    """CI: the published tables are generated from leaderboards/records, never by hand."""
    assert publish.stale_files(REPO / "leaderboards") == []


def test_every_committed_record_loads_with_its_config() -> None:
    """The committed records read as typed records: their trainer settings
    validate, their hyperparameters pass their model's declared ones, their dataset
    section passes its family's metadata model, and each gets a run key, which is how
    `opbench sweep --records leaderboards/records` knows them."""
    paths = sorted((REPO / "leaderboards" / publish.RECORDS_DIR).glob("*.json"))
    assert paths
    keys = set()
    for path in paths:
        record = read_record(path)
        assert isinstance(record.train.config, TrainConfig)
        MODELS.get(record.model.name).check_hyperparameters(record.model.hyperparameters)
        DATASETS.get(record.dataset.family).info_type.model_validate(
            record.dataset.model_dump(mode="json")
        )
        keys.add((record_key(record), record.role))
    # no two records of one role count as the same run (a check run copied as the next
    # rung's seed-0 board run shares its key with that copy, under another role)
    assert len(keys) == len(paths)


def test_committed_records_are_on_known_datasets() -> None:
    root = REPO / "leaderboards"
    for record in publish.read_published_records(root):
        assert _problems(record, root) == [], record["run_id"]


def test_citations_cover_the_registries() -> None:
    """Every dataset and trained model cites its source by arXiv id or DOI, and
    CITATION.cff lists that source; fitted baselines are opbench's own."""
    from opbench.models import MODELS

    citation_file = (REPO / "CITATION.cff").read_text()
    for kind, name, text in publish.registry_citations():
        assert text, f"{kind} {name} has no citation"
        if kind == "model" and MODELS.get(name).fitted:
            continue
        identifiers = _identifiers(text)
        assert identifiers, f"{kind} {name}: its citation names no arXiv id or DOI"
        assert any(key in citation_file for key in identifiers), (kind, name, identifiers)


def _identifiers(text: str) -> list[str]:
    """arXiv ids and DOIs in a citation string."""
    return re.findall(r"\d{4}\.\d{4,5}|10\.\d{4,9}/[^\s,;)]+", text)
