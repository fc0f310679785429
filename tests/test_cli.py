"""The command line end to end: generate → validate → run → leaderboard, and bad inputs."""

import dataclasses
import json
import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from opbench import run as runner
from opbench.cli import app
from opbench.config import parse_set
from opbench.errors import RunInterrupted
from opbench.models import MODELS
from opbench.results.record import read_record

cli = CliRunner()
CONFIG = "cubic0.1_grid16"
OTHER_CONFIG = "cubic0.4_grid16"
TINY_FNO = [
    "--set",
    "model.hidden_channels=8",
    "--set",
    "model.n_modes=[8,8]",
    "--set",
    "train.batch_size=8",
]


def invoke(*args: str):
    return cli.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for config in (CONFIG, OTHER_CONFIG):
        result = invoke(
            "data",
            "generate",
            "condiff",
            "--config",
            config,
            "--n-train",
            30,
            "--n-test",
            8,
            "--seed",
            3,
            "--out",
            root,
            "--workers",
            1,
        )
        assert result.exit_code == 0, result.output
        assert "acceptance rate" in result.output
    return root


def test_list_commands():
    for what, expected in [("models", "fno"), ("datasets", "condiff"), ("metrics", "rel_l2")]:
        result = invoke("list", what)
        assert result.exit_code == 0, result.output
        assert expected in result.output


def test_validate_generated_data(data_root):
    result = invoke("data", "validate", "condiff", "--config", CONFIG, "--data-dir", data_root)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_generate_run_leaderboard(data_root, tmp_path):
    runs = tmp_path / "runs"
    for model, extra in [("fno", TINY_FNO), ("mean", [])]:
        result = invoke(
            "run",
            model,
            "condiff",
            "--config",
            CONFIG,
            "--data-dir",
            data_root,
            "--epochs",
            2,
            "--seed",
            0,
            "--out",
            runs,
            "--quiet",
            "--test-config",
            OTHER_CONFIG,
            *extra,
        )
        assert result.exit_code == 0, result.output
        assert "rel_l2" in result.output
        assert "wrote in " in result.output and "predictions.nc" in result.output
        assert "The board (" in result.output and "This run: rel_l2" in result.output
    records = sorted(runs.glob("*/record.json"))
    assert len(records) == 2
    record = read_record(next(p for p in records if "-fno-" in str(p))).to_json()
    assert record["schema_version"] == 2 and record["role"] == "board"
    assert len(record["per_sample"]["values"]["test"]) == 8
    assert len(record["per_sample"]["values"][f"test@{OTHER_CONFIG}"]) == 8
    assert record["spec"]["hyperparameters"] == record["model"]["hyperparameters"]
    assert record["dataset"]["source"] == "generated"
    assert record["dataset"]["config"] == CONFIG
    assert record["dataset"]["split"]["train"] + record["dataset"]["split"]["val"] == 30
    assert record["dataset"]["split"]["test"] == 8
    assert record["model"]["name"] == "fno"
    assert record["model"]["hyperparameters"]["hidden_channels"] == 8
    assert record["train"]["epochs_run"] == 2
    assert record["train"]["status"] == "ok"
    assert record["train"]["best_epoch"] in (1, 2)
    test = record["metrics"]["test"]
    assert 0 < test["rel_l2"]["mean"] < 2
    assert test["rel_l2"]["n"] == 8
    assert test["residual"]["mean"] > 0
    assert f"test@{OTHER_CONFIG}" in record["metrics"]
    assert record["cost"]["params"] > 0
    assert record["cost"]["solver_ms_per_sample"] > 0
    run_dir = Path(record["run_id"])
    for name in (
        "checkpoints/best.safetensors",
        "loss_curve.png",
        "samples.png",
        "predictions.nc",
        "config.json",
    ):
        assert (runs / run_dir / name).is_file(), name
    assert set(record["files"].values()) == {
        "checkpoints/best.safetensors",
        "loss_curve.png",
        "samples.png",
        "predictions.nc",
        "config.json",
        "dataset.json",
    }
    assert record["train"]["history"][-1]["epoch"] == 2  # epochs count from 1, as the CLI
    assert record["convergence"]["plateau"]["window_epochs"] == 10
    with xr.open_dataset(runs / run_dir / "predictions.nc", engine="h5netcdf") as predictions:
        assert predictions["prediction_u"].dims == ("sample", "x", "y")
        assert predictions["target_u"].attrs["units"] == "1"
        assert {"input_k", "input_f", "rel_l2"} <= set(predictions.data_vars)
        assert predictions["x"].values[0] == pytest.approx(1 / (predictions.sizes["x"] + 1))
        assert predictions.attrs["model"] == "fno"
    fitted = read_record(next(p for p in records if "-mean-" in str(p)))
    assert "loss_curve" not in fitted.files and fitted.convergence is None

    out = tmp_path / "board"
    result = invoke("leaderboard", "--runs", runs, "--root", out)
    assert result.exit_code == 0, result.output
    table = (out / "condiff.md").read_text()
    assert "fno" in table and "mean" in table and CONFIG in table
    assert len((out / "results.csv").read_text().strip().splitlines()) == 3
    assert f'href="records/{record["run_id"]}.json"' in (out / "index.html").read_text()
    assert (out / "records" / f"{record['run_id']}.json").is_file()


def test_interrupted_run_resumes_to_the_same_result(data_root, tmp_path):
    overrides = parse_set(TINY_FNO[1::2])
    options = {"config": CONFIG, "data_dir": data_root, "epochs": 3, "overrides": overrides}
    full = runner.run(
        runner.resolve("fno", "condiff", **options), tmp_path / "full", progress=False
    )

    def interrupt(epoch, trainer):
        if epoch == 0:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as interrupted:
        runner.run(
            runner.resolve("fno", "condiff", **options),
            tmp_path / "cut",
            progress=False,
            callbacks=[interrupt],
            checkpoint_every=0,
        )
    run_dir = interrupted.value.run_dir
    assert "--resume" in str(interrupted.value)
    assert not (run_dir / "record.json").exists()
    assert (run_dir / "checkpoints" / "last.safetensors").is_file()

    result = invoke("run", "fno", "condiff", "--resume", run_dir, "--quiet")
    assert result.exit_code == 0, result.output
    resumed = json.loads((run_dir / "record.json").read_text())
    assert resumed["train"]["epochs_run"] == 3
    assert resumed["train"]["best_val"] == full.record.to_json()["train"]["best_val"]
    assert (
        resumed["metrics"]["test"]["rel_l2"] == full.record.to_json()["metrics"]["test"]["rel_l2"]
    )

    result = invoke("run", "fno", "condiff", "--resume", run_dir, "--quiet")
    assert result.exit_code == 2
    assert "complete" in result.output


def corrupt_copy(data_root: Path, tmp_path: Path, change) -> Path:
    root = tmp_path / "bad"
    (root / CONFIG).mkdir(parents=True)
    for split in ("train", "test"):
        source = data_root / CONFIG / f"{CONFIG}_{split}.h5"
        target = root / CONFIG / source.name
        with h5py.File(source) as f:
            arrays = {key: f[key][()] for key in f}
        change(split, arrays)
        with h5py.File(target, "w") as f:
            for key, value in arrays.items():
                f[key] = value
    return root


def nan_in_x(split, arrays):
    if split == "train":
        arrays["x"][2, 5] = np.nan


def drop_rhs(split, arrays):
    arrays.pop("rhs")


def float32_k(split, arrays):
    arrays["k"] = arrays["k"].astype(np.float32)


def wrong_shape(split, arrays):
    arrays["x"] = arrays["x"][:, :-1]


@pytest.mark.parametrize(
    ("change", "message"),
    [(nan_in_x, "non-finite"), (drop_rhs, "rhs"), (float32_k, "float32"), (wrong_shape, "shape")],
)
def test_bad_data_gives_a_clear_error_and_no_record(data_root, tmp_path, change, message):
    root = corrupt_copy(data_root, tmp_path, change)
    runs = tmp_path / "runs"
    result = invoke(
        "run",
        "fno",
        "condiff",
        "--config",
        CONFIG,
        "--data-dir",
        root,
        "--epochs",
        1,
        "--out",
        runs,
        "--quiet",
    )
    assert result.exit_code == 2
    assert message in result.output
    assert CONFIG in result.output  # the message names the file
    assert not list(runs.glob("*/record.json"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "fn0", "condiff"], "Did you mean 'fno'"),
        (["run", "fno", "condif"], "Did you mean 'condiff'"),
        (["run", "fno", "condiff", "--config", "cubic0.1_grid6x"], "cubic0.1_grid64"),
        (["run", "fno", "condiff", "--preset", "huge"], "preset"),
        (["run", "fno", "condiff", "--set", "train.lr=-1"], "train.lr"),
        (["run", "fno", "condiff", "--set", "model.widht=3"], "widht"),
        (["run", "fno", "condiff", "--set", "data.k_to_vertex=middle"], "k_to_vertex"),
        (["run", "fno", "condiff", "--device", "tpu"], "--device"),
        (["run", "fno", "condiff", "--data-dir", "/nonexistent/dir"], "not a directory"),
        (
            ["data", "validate", "condiff", "--config", CONFIG, "--data-dir", "/nonexistent"],
            "not found",
        ),
    ],
)
def test_bad_options_are_clear_errors(args, message, tmp_path):
    result = invoke(*args, "--out", tmp_path / "runs") if args[0] == "run" else invoke(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_compiled_run_computes_what_the_eager_run_does(data_root, tmp_path, monkeypatch):
    """``--compile`` is recorded in the spec, leaves the run's identity alone, and changes
    the result by float reordering only (dilresnet, declared faster compiled for the test:
    it compiles in seconds)."""
    entry = MODELS.get("dilresnet")
    flags = dataclasses.replace(entry.flags, compile_faster=True)
    monkeypatch.setitem(MODELS._entries, "dilresnet", dataclasses.replace(entry, flags=flags))
    options = {"config": CONFIG, "data_dir": data_root, "epochs": 1}
    overrides = parse_set(["model.width=4", "model.cells=1"])
    specs = [
        runner.resolve("dilresnet", "condiff", overrides=overrides, compile=flag, **options)
        for flag in (False, True)
    ]
    eager, compiled = (runner.run(spec, tmp_path, progress=False).record for spec in specs)
    assert (eager.spec["compile"], compiled.spec["compile"]) == (False, True)
    assert eager.run_hash == compiled.run_hash
    a, b = (r.metrics["test"]["rel_l2"].mean for r in (eager, compiled))
    assert b == pytest.approx(a, rel=1e-4)


def test_compile_leaves_a_model_not_measured_faster_eager(data_root, caplog):
    """``--compile`` compiles only models declaring ``compile_faster``; another runs eager
    and the run says so."""
    assert not MODELS.get("dilresnet").flags.compile_faster
    spec = runner.resolve(
        "dilresnet", "condiff", config=CONFIG, data_dir=data_root, epochs=1, compile=True
    )
    with caplog.at_level(logging.INFO, logger="opbench"):
        prepared = runner.prepare(spec)
    assert getattr(prepared.surrogate.net, "_compiled_call_impl", None) is None
    assert "--compile: dilresnet runs eager" in caplog.text
