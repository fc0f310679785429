"""Bad input, tried as an attacker would: every case ends in a one-line error with exit
status 2, leaves no run directory or partial file behind, and loses nothing recorded
before. (Leaderboard and submit writes: tests/test_publish.py; killed generation:
tests/test_generation_cache.py; crafted checkpoints: tests/test_checkpoint.py; NaN under a
mask: tests/test_metrics.py; the AirfRANS freestream file: tests/test_airfrans_freestream.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from opbench import run as runner
from opbench.cli import app
from opbench.data import DATASETS
from opbench.errors import RunInterrupted

CONFIG = "poisson_grid8"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    DATASETS.get("condiff").generate(CONFIG, root, n_train=12, n_test=4, workers=1)
    return root


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def run(data_root: Path, out: Path, *options) -> tuple[int, str]:
    return invoke(
        "run", "unet", "condiff", "--config", CONFIG, "--data-dir", data_root, "--out", out,
        "--epochs", 1, "--quiet", *options,
    )  # fmt: skip


def assert_refused(code: int, output: str, *phrases: str) -> None:
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    for phrase in phrases:
        assert phrase in lines[0], output


@pytest.mark.parametrize(
    ("options", "phrases"),
    [
        (["--set", "train.lr=Infinity"], ["train.lr=inf", "a finite number > 0"]),
        (["--set", "train.lr=1e400"], ["train.lr=inf"]),
        (["--set", "train.lr=NaN"], ["train.lr=nan"]),
        (["--seed", "-1"], ["seed=-1", ">= 0 and <= 4294967295"]),
        (["--seed", str(2**64)], [f"seed={2**64}"]),
        (["--set", "data.seed=-3"], ["data.seed=-3"]),
        (["--set", "model.width=0"], ["model.width=0", "an integer >= 1"]),
        (["--set", "model.depth=-2"], ["model.depth=-2"]),
        (["--set", "data.val_fraction=0"], ["data.val_fraction=0", "> 0 and < 1"]),
        (["--set", "train.batch_size=0"], ["train.batch_size=0"]),
        (["--set", "train.optimizer=sgd"], ["unknown optimizer 'sgd'"]),
        (["--set", "model.widht=8"], ["Did you mean 'width'"]),
    ],
)
def test_values_that_would_break_the_run_are_refused_first(data_root, tmp_path, options, phrases):
    out = tmp_path / "runs"
    assert_refused(*run(data_root, out, *options), *phrases)
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "dataset", "task"),
    [
        ("mlp", "condiff", "steady"),
        ("unet", "airfrans", "fields"),
        ("pointnet", "cfdbench", "autoregressive"),
        ("unet", "cfdbench", "nonautoregressive"),
    ],
)
def test_a_model_that_cannot_read_the_layout_is_refused_before_any_data_is_made(
    tmp_path, model, dataset, task
):
    layout = DATASETS.get(dataset).tasks()[task]
    out = tmp_path / "runs"
    code, output = invoke("run", model, dataset, "--task", task, "--out", out, "--quiet")
    assert_refused(code, output, f"model {model!r} supports the layouts", f"{layout!r} layout")
    assert not out.exists()
    assert not (Path(os.environ["OPBENCH_HOME"]) / "data").exists()  # nothing generated


def _zero_sample_copy(data_root: Path, root: Path, split: str) -> Path:
    """A copy of the data whose ``split`` file is valid but holds no samples."""
    (root / CONFIG).mkdir(parents=True)
    for name in ("train", "test"):
        target = root / CONFIG / f"{CONFIG}_{name}.h5"
        if name == split:
            with h5py.File(target, "w") as f:
                f["rhs"], f["x"] = np.zeros((0, 64)), np.zeros((0, 64))
        else:
            target.write_bytes((data_root / CONFIG / target.name).read_bytes())
    return root


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_data_file_with_zero_samples_is_invalid_and_refused(data_root, tmp_path, split):
    empty = _zero_sample_copy(data_root, tmp_path / "empty", split)
    code, output = invoke("data", "validate", "condiff", "--config", CONFIG, "--data-dir", empty)
    assert code == 1 and "INVALID" in output and "holds no samples" in output
    out = tmp_path / "runs"
    assert_refused(*run(data_root=empty, out=out), "holds no samples")
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused_before_the_data_load(data_root, tmp_path):
    (tmp_path / "file").write_text("keep me")
    for out in (tmp_path / "file", tmp_path / "file" / "runs"):
        assert_refused(*run(data_root, out), "not a directory")
    assert (tmp_path / "file").read_text() == "keep me"


@pytest.fixture
def unwritable_dir(tmp_path) -> Path:
    """A directory this process cannot create files in: a read-only one for a normal user;
    for root (whom permissions do not stop) a sysfs directory, which refuses new files."""
    if os.geteuid() != 0:
        path = tmp_path / "read-only"
        path.mkdir(mode=0o555)
        return path
    return Path("/sys/kernel")


def test_a_read_only_out_is_refused_before_the_data_load(data_root, tmp_path, unwritable_dir):
    assert_refused(*run(data_root, unwritable_dir / "runs"), "cannot write in")


@pytest.fixture
def unreadable_dir(tmp_path) -> Path:
    if os.geteuid() != 0:
        path = tmp_path / "unreadable"
        path.mkdir(mode=0o000)
        return path
    path = Path("/proc/1/map_files")  # refuses listing even to root without CAP_SYS_ADMIN
    try:
        os.listdir(path)
    except PermissionError:
        return path
    pytest.skip("no directory here that root cannot read")


def test_an_unreadable_data_dir_is_refused(tmp_path, unreadable_dir):
    assert_refused(*run(unreadable_dir, tmp_path / "runs"), "is not readable")


def interrupted_run(data: Path, out: Path, epochs: int) -> Path:
    """The directory of a unet run stopped (as by Ctrl-C) after its first epoch."""

    def stop(epoch, trainer):
        raise KeyboardInterrupt

    spec = runner.resolve("unet", "condiff", config=CONFIG, data_dir=data, epochs=epochs)
    with pytest.raises(RunInterrupted) as interrupted:
        runner.run(spec, out, progress=False, callbacks=[stop], checkpoint_every=0)
    return interrupted.value.run_dir


def test_resume_refuses_when_the_data_changed(data_root, tmp_path):
    data = tmp_path / "data"
    DATASETS.get("condiff").generate(CONFIG, data, n_train=12, n_test=4, workers=1)
    run_dir = interrupted_run(data, tmp_path / "runs", epochs=3)
    checkpoint = (run_dir / "checkpoints" / "last.safetensors").read_bytes()
    DATASETS.get("condiff").generate(CONFIG, data, n_train=12, n_test=4, seed=7, workers=1)
    code, output = invoke("run", "unet", "condiff", "--resume", run_dir, "--quiet")
    assert_refused(code, output, "the data have changed since the run started", "fingerprint")
    assert (run_dir / "checkpoints" / "last.safetensors").read_bytes() == checkpoint
    assert not (run_dir / "record.json").exists()


def test_a_config_that_is_not_published_is_noticed_and_recorded(data_root, tmp_path):
    root = tmp_path / "data"
    DATASETS.get("condiff").generate("poisson_grid7", root, n_train=6, n_test=2, workers=1)
    code, output = invoke(
        "run", "mean", "condiff", "--config", "poisson_grid7", "--data-dir", root,
        "--out", tmp_path / "runs", "--quiet",
    )  # fmt: skip
    assert code == 0, output
    assert "note: poisson_grid7 is not a published condiff config" in output
    (record,) = (tmp_path / "runs").glob("*/record.json")
    assert json.loads(record.read_text())["dataset"]["published"] is False


def test_a_diverged_record_lists_only_files_that_exist(data_root, tmp_path):
    spec = runner.resolve(
        "unet",
        "condiff",
        config=CONFIG,
        data_dir=data_root,
        epochs=2,
        overrides={"train": {"lr": 1e30, "grad_clip": None}},
    )
    result = runner.run(spec, tmp_path / "runs", progress=False)
    assert result.record.train.status == "diverged"
    for name in result.record.files.values():
        assert (result.run_dir / name).is_file(), name


def test_a_run_started_before_dataset_json_resumes_and_lists_what_exists(data_root, tmp_path):
    """Run directories of earlier versions hold no dataset.json: they resume (nothing to
    compare the data with) and their record does not claim the file."""
    run_dir = interrupted_run(data_root, tmp_path / "runs", epochs=2)
    (run_dir / runner.DATASET_FILE).unlink()
    record = runner.resume(run_dir, progress=False).record
    assert record.train.epochs_run == 2 and "dataset" not in record.files
    for name in record.files.values():
        assert (run_dir / name).is_file(), name


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["run", "fno", "condiff", "--preset", "smal"], "'smal' is not one of 'small', 'paper'"),
        (["run", "fno", "condiff", "--epochs", "-1"], "Invalid value for '--epochs'"),
        (["sweep", "--models", "fno", "--datasets", "condiff", "--engine", "rya"], "'rya'"),
        (["runn"], "Did you mean 'run'?"),
    ],
)
def test_usage_errors_of_the_command_line_are_one_line_too(args, phrase):
    """Through the `opbench` entry point (``python -m opbench``), errors the command line
    catches itself (choices, ranges, unknown commands) are one line with exit status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "opbench", *args], capture_output=True, text=True, timeout=60
    )
    assert_refused(result.returncode, result.stdout + result.stderr, phrase)
