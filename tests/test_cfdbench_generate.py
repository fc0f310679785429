"""opbench's CFDBench-style generator: the published layout, every problem, determinism,
and a run on generated data through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from opbench.cli import app
from opbench.config import validated
from opbench.data import DATASETS, load_benchmark
from opbench.data.cfdbench.configs import parse_config
from opbench.data.cfdbench.design import DESIGNS
from opbench.data.cfdbench.generate import GenerationOptions, generate
from opbench.data.cfdbench.problems import PROBLEMS
from opbench.errors import ConfigError

TINY = {"frames": 6, "frame_size": 16}
CELLS = {"cavity": 16, "tube": 16, "dam": 32, "cylinder": 28}
"""Solver cells across the height: the coarsest that still resolves each geometry."""


@pytest.mark.parametrize("problem", ["cavity", "tube", "dam", "cylinder"])
def test_generated_cases_are_in_the_published_layout(problem, tmp_path):
    options = GenerationOptions(n_cases=2, solver_cells=CELLS[problem], **TINY)
    report = generate(parse_config(f"{problem}/geo"), tmp_path, options, workers=1)
    assert report.n_cases == 2 and len(report.case_seconds) == 2
    folder = tmp_path / problem / "geo"
    assert sorted(p.name for p in folder.iterdir()) == ["case0000", "case0001", "opbench.json"]
    case = json.loads((folder / "case0001" / "case.json").read_text())
    assert set(PROBLEMS.get(problem).json_keys) <= set(case) and case["case_no"] == 1.0
    u, v = (np.load(folder / "case0001" / f"{n}.npy") for n in ("u", "v"))
    assert u.shape == v.shape == (6, 16, 16) and u.dtype == np.float32
    assert np.isfinite(u).all() and np.abs(u).max() > 0
    sidecar = json.loads((folder / "opbench.json").read_text())
    assert sidecar["frame_dt"] == DESIGNS.get(problem).frame_dt
    assert sidecar["label"].startswith("cfdbench-style, single-phase")
    low, high = sidecar["reynolds_range"]
    assert all(0.5 * low <= c["reynolds"] <= 1.5 * high for c in sidecar["cases"])
    assert all(c["max_divergence"] < 1e-6 for c in sidecar["cases"])
    # Solid cells of the loader's mask carry no velocity in the generated frames.
    fluid = PROBLEMS.get(problem).obstacle(PROBLEMS.get(problem).derive(case), (16, 16))
    assert np.all(u[:, fluid] == 0) and np.all(v[:, fluid] == 0)


def test_generation_is_deterministic_and_independent_of_workers(tmp_path):
    options = GenerationOptions(n_cases=3, solver_cells=16, **TINY)
    generate(parse_config("cavity/prop"), tmp_path / "a", options, workers=1)
    generate(parse_config("cavity/prop"), tmp_path / "b", options, workers=2)
    fewer = GenerationOptions(n_cases=2, solver_cells=16, **TINY)
    generate(parse_config("cavity/prop"), tmp_path / "c", fewer, workers=1)
    for name in ("case0000", "case0001"):
        for root in ("b", "c"):
            for f in ("u.npy", "v.npy", "case.json"):
                a = (tmp_path / "a" / "cavity" / "prop" / name / f).read_bytes()
                assert a == (tmp_path / root / "cavity" / "prop" / name / f).read_bytes()
    # prop varies density and viscosity, at the standard lid speed
    cases = [
        json.loads((tmp_path / "a/cavity/prop" / f"case000{i}/case.json").read_text())
        for i in range(3)
    ]
    assert len({c["density"] for c in cases}) == 3 and {c["vel_top"] for c in cases} == {1.0}


def test_bad_generation_options_are_refused():
    with pytest.raises(ConfigError, match="frames=1"):
        validated(GenerationOptions, {"frames": 1}, "")
    with pytest.raises(ConfigError, match="solver_cells=4"):
        validated(GenerationOptions, {"solver_cells": 4}, "")


def test_cli_generates_and_runs_fno_on_generated_cavity(tmp_path):
    cli = CliRunner()
    root = tmp_path / "data"
    result = cli.invoke(
        app,
        [
            "data",
            "generate",
            "cfdbench",
            "--config",
            "cavity/bc",
            "--n-cases",
            "8",
            "--frames",
            "6",
            "--frame-size",
            "16",
            "--solver-cells",
            "16",
            "--out",
            str(root),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "8 cases × 6 frames" in result.output
    wrong = cli.invoke(
        app, ["data", "generate", "cfdbench", "--config", "cavity/bc", "--n-train", "3"]
    )
    assert wrong.exit_code == 2 and "--n-cases" in wrong.output
    result = cli.invoke(
        app,
        [
            "run",
            "fno",
            "cfdbench",
            "--config",
            "cavity/bc",
            "--data-dir",
            str(root),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            "--set",
            "model.n_modes=[4,4]",
            "--set",
            "model.hidden_channels=8",
        ],
    )
    assert result.exit_code == 0, result.output
    record_path = next((tmp_path / "runs").glob("*/record.json"))
    record = json.loads(record_path.read_text())
    assert record["dataset"]["source"] == "generated"
    assert record["dataset"]["split"]["train"] == 6
    assert record["primary_metric"] == "nmse" and record["rollout"]["steps"] == 20
    assert record["cost"]["solver_ms_per_sample"] > 0
    # 6 frames with k = 1: rollout steps 1–5 have a target frame, the rest do not.
    assert record["rollout"]["n_per_step"] == [1] * 5 + [0] * 15


def test_loader_reads_generated_cylinder_with_frame_spacing_from_the_sidecar(tmp_path):
    options = GenerationOptions(n_cases=8, solver_cells=28, frames=5, frame_size=16)
    generate(parse_config("cylinder/bc"), tmp_path, options)
    benchmark = load_benchmark("cfdbench", "cylinder/bc", data_dir=tmp_path)
    info = benchmark.info.model_dump(mode="json")
    assert info["time"] == {
        "frame_dt": 0.05,
        "frame_dt_source": "generator sidecar",
        "k": 2,
        "delta_t": pytest.approx(0.1),
    }
    assert benchmark.task.spatial_shape == (18, 17)
    assert benchmark.splits["train"].tensors["x"].shape[1:] == (3 + 8, 18, 17)
    assert DATASETS.get("cfdbench").validate("cylinder/bc", tmp_path).ok


def test_validate_flags_transposed_frames_by_their_divergence(tmp_path):
    options = GenerationOptions(n_cases=2, solver_cells=16, frames=6, frame_size=16)
    generate(parse_config("cavity/bc"), tmp_path, options, workers=1)
    family = DATASETS.get("cfdbench")
    good = family.validate("cavity/bc", tmp_path).summary["max_relative_divergence"]
    for case in (tmp_path / "cavity" / "bc").glob("case*"):
        u = np.load(case / "u.npy")
        np.save(case / "u.npy", np.ascontiguousarray(u.transpose(0, 2, 1)))  # y and x swapped
    bad = family.validate("cavity/bc", tmp_path).summary["max_relative_divergence"]
    assert good < 0.01 < bad


def test_generated_files_are_readable_by_others(tmp_path):
    options = GenerationOptions(n_cases=1, solver_cells=16, frames=3, frame_size=8)
    generate(parse_config("cavity/bc"), tmp_path, options, workers=1)
    mode = (tmp_path / "cavity" / "bc" / "case0000" / "u.npy").stat().st_mode
    assert mode & 0o444 == 0o444  # not mkstemp's 0600
