"""CFDBench tasks on a published-layout fixture with a closed-form flow: pairs, identity
baseline, rollouts, the non-autoregressive points task, and the divergence metric."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from opbench import run as runner
from opbench.config import parse_set
from opbench.data import DATASETS, load_benchmark
from opbench.data.cfdbench.physics import divergence
from opbench.errors import ConfigError, DataError
from opbench.eval.metrics import METRICS
from opbench.eval.rollout import persistence_curve
from opbench.results.record import validate_record

SHAPE = (6, 8)
FRAMES = 12


def cavity_tree(root: Path, n_cases: int = 10, subset: str = "bc") -> Path:
    """``root/cavity/<subset>/caseNNNN``: u_t = (1 + t)·a·f(x, y), v = 0, f = 1 + x·y on a
    6×8 frame; a = 1 + case/10 (the lid speed). In ``prop`` the viscosity varies too
    (2e-3·(1 + case)); in ``bc`` it is 1e-3."""
    y, x = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    f = 1.0 + x * y
    for i in range(n_cases):
        a = 1.0 + i / 10
        u = np.stack([(1.0 + t) * a * f for t in range(FRAMES)])
        folder = root / "cavity" / subset / f"case{i:04d}"
        folder.mkdir(parents=True)
        np.save(folder / "u.npy", u.astype(np.float32))
        np.save(folder / "v.npy", np.zeros_like(u))
        viscosity = 2e-3 * (1 + i) if subset == "prop" else 1e-3
        case = {"vel_top": a, "density": 1.0, "viscosity": viscosity, "height": 1.0, "width": 1.0}
        (folder / "case.json").write_text(json.dumps(case))
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return cavity_tree(tmp_path / "cfdbench")


def test_autoregressive_benchmark_shapes_and_split(tree):
    benchmark = load_benchmark("cfdbench", "cavity/bc", data_dir=tree)
    task = benchmark.task
    assert task.layout == "grid-timestep" and task.primary_metric == "nmse"
    assert task.input_fields[:3] == ("u", "v", "mask") and task.output_fields == ("u", "v")
    info = benchmark.info.model_dump(mode="json")
    assert (info["split"]["train"], info["split"]["val"], info["split"]["test"]) == (8, 1, 1)
    assert info["source"] == "real" and info["time"]["k"] == 1  # published 0.1 s frames
    train = benchmark.splits["train"].tensors
    assert train["x"].shape == (8 * (FRAMES - 1), 3 + 5, *SHAPE)
    assert train["y"].shape == (8 * (FRAMES - 1), 2, *SHAPE)
    # The lid speed is the only varying parameter: standardised over the training cases.
    speeds = train["x"][:, 3, 0, 0]
    assert abs(float(speeds.mean())) < 1e-5 and float(train["x"][:, 4].abs().max()) == 0.0
    assert benchmark.rollout is not None and benchmark.rollout.targets.shape[:2] == (1, 20)
    assert benchmark.rollout.valid[0].tolist() == [s + 1 < FRAMES for s in range(20)]


def test_k_follows_delta_t_and_frame_spacing(tree):
    benchmark = load_benchmark("cfdbench", "cavity/bc", data_dir=tree, delta_t=0.2)
    assert benchmark.info.time.k == 2
    assert benchmark.splits["train"].tensors["x"].shape[0] == 8 * (FRAMES - 2)
    with pytest.raises(ConfigError, match="shorter than the frame spacing"):
        load_benchmark("cfdbench", "cavity/bc", data_dir=tree, delta_t=0.01)
    with pytest.raises(ConfigError, match="generated data only"):
        load_benchmark("cfdbench", "cavity/bc", data_dir=tree, n_cases=3)


def test_a_shifted_test_is_scaled_as_the_trained_config_and_marks_extrapolation(tree, tmp_path):
    """Trained on bc (viscosity constant), tested on prop (viscosity varies): prop's case
    parameters are standardised with bc's training statistics, not its own, and viscosity
    is marked as extrapolated; the record names the shifted test's data."""
    cavity_tree(tree, subset="prop")
    trained = load_benchmark("cfdbench", "cavity/bc", data_dir=tree)
    assert trained.info.params.constant == ["density", "viscosity", "height", "width"]
    family = DATASETS.get("cfdbench")
    options = family.options_type()
    own = family.load_benchmark("cavity/prop", "autoregressive", options, tree, test_only=True)
    shifted = family.load_benchmark(
        "cavity/prop", "autoregressive", options, tree, test_only=True, scaled_as=trained.info
    )
    assert shifted.info.params.mean == trained.info.params.mean != own.info.params.mean
    assert shifted.info.params.scaled_as == "cavity/bc"
    assert shifted.info.extrapolated == ["viscosity"] and own.info.extrapolated == []
    # the viscosity channel (input 3 + 2) is (ν − 1e-3) / 1 in bc's scaling
    x, case = shifted.splits["test"].tensors["x"], shifted.info.split.test_cases[0]
    number = int(case.removeprefix("prop/case"))
    assert x[0, 5, 0, 0].item() == pytest.approx(2e-3 * (1 + number) - 1e-3, rel=1e-5)
    spec = runner.resolve(
        "identity", "cfdbench", config="cavity/bc", data_dir=tree, test_configs=["cavity/prop"]
    )
    record = runner.run(spec, tmp_path / "runs", progress=False).record.to_json()
    test_set = record["test_sets"]["test@cavity/prop"]
    assert test_set["extrapolated"] == ["viscosity"]
    assert test_set["fingerprint"] == shifted.info.fingerprint
    with pytest.raises(ConfigError, match="case parameters differ"):
        family.load_benchmark(
            "cavity/prop",
            "autoregressive",
            options,
            tree,
            test_only=True,
            scaled_as=load_benchmark("condiff", "poisson_grid8", n_train=4, n_test=2).info,
        )


def test_identity_run_scores_closed_form_nmse_and_rollout(tree, tmp_path):
    spec = runner.resolve("identity", "cfdbench", config="cavity/bc", data_dir=tree)
    record = runner.run(spec, tmp_path / "runs", progress=False).record.to_json()
    validate_record(record)
    # Pair (t → t+1): error a·f, target (2 + t)·a·f over u and v (v ≡ 0 on both):
    # nmse = 1 / (2 + t)², averaged over t = 0 … 10.
    expected = np.mean([1 / (2 + t) ** 2 for t in range(FRAMES - 1)])
    assert record["metrics"]["test"]["nmse"]["mean"] == pytest.approx(expected, rel=1e-5)
    assert record["metrics"]["test"]["nmse_u"]["mean"] == pytest.approx(expected, rel=1e-5)
    # The record keeps one value per test case (the mean over its pairs), not per pair:
    # the pairs of a case are not independent samples.
    per_case = record["per_sample"]
    assert per_case["unit"] == "case" and len(per_case["values"]["test"]) == 1
    assert per_case["values"]["test"][0] == pytest.approx(expected, rel=1e-5)
    assert record["metrics"]["test"]["nmse"]["n"] == FRAMES - 1
    # Rollout step s predicts frame 0 against frame s: nmse = s² / (1 + s)²; no frame 12+.
    curve = record["rollout"]["curves"]["nmse"]
    for s in range(1, FRAMES):
        assert curve[s - 1] == pytest.approx(s**2 / (1 + s) ** 2, rel=1e-5)
    assert curve[FRAMES - 1 :] == [None] * (20 - FRAMES + 1)
    assert record["rollout"]["n_per_step"][:3] == [1, 1, 1]
    # The reference line drawn in every rollout plot is exactly the identity's curve.
    benchmark = load_benchmark("cfdbench", "cavity/bc", data_dir=tree)
    nmse = METRICS.get("nmse")
    assert persistence_curve(benchmark.rollout, nmse) == pytest.approx(curve)
    run_dir = Path(record["run_id"])
    assert (tmp_path / "runs" / run_dir / "rollout.png").is_file()
    assert (tmp_path / "runs" / run_dir / "samples.png").is_file()


def test_nonautoregressive_task_is_a_points_task_on_u(tree):
    benchmark = load_benchmark("cfdbench", "cavity/bc", "nonautoregressive", data_dir=tree)
    task = benchmark.task
    assert task.layout == "points" and task.output_fields == ("u",)
    assert task.coordinate_fields == ("t", "x", "y")
    test = benchmark.splits["test"].tensors
    assert test["x"].shape == (FRAMES, 5 + 3, SHAPE[0] * SHAPE[1])
    # t in seconds (0.1 s frames), x and y at frame cell centres (1 m cavity).
    assert torch.allclose(test["x"][:, 5, 0], 0.1 * torch.arange(FRAMES).float())
    assert float(test["x"][0, 6].min()) == pytest.approx(0.5 / SHAPE[1])
    assert float(test["x"][0, 7].max()) == pytest.approx(1 - 0.5 / SHAPE[0])


def test_nonautoregressive_task_leaves_out_frames_at_rest(tree):
    """A generated case starts from rest: u = 0 in the fluid, NMSE 0/0, nothing to learn."""
    for folder in sorted((tree / "cavity" / "bc").iterdir()):
        u = np.load(folder / "u.npy")
        u[0] = 0.0
        np.save(folder / "u.npy", u)
    benchmark = load_benchmark("cfdbench", "cavity/bc", "nonautoregressive", data_dir=tree)
    test = benchmark.splits["test"].tensors
    assert test["x"].shape[0] == FRAMES - 1
    assert torch.allclose(test["x"][:, 5, 0], 0.1 * torch.arange(1, FRAMES).float())


def test_divergence_of_closed_form_fields():
    height, width = 10, 12
    y, x = torch.meshgrid(torch.arange(height) * 0.5, torch.arange(width) * 0.25, indexing="ij")
    batch = {
        "spacing": torch.tensor([[0.25, 0.5]], dtype=torch.float64),
        "mask": torch.ones(1, 1, height, width),
    }
    free = torch.stack([x, -y])[None]  # ∇·(x, −y) = 0
    expanding = torch.stack([3 * x, y])[None]  # ∇·(3x, y) = 4
    assert float(divergence(free, batch)) == pytest.approx(0.0, abs=1e-12)
    assert float(divergence(expanding, batch)) == pytest.approx(4.0)


def test_missing_problem_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no cavity/ folder"):
        load_benchmark("cfdbench", "cavity/bc", data_dir=tmp_path)


@pytest.mark.parametrize("model", ["deeponet", "multionet"])
def test_branch_trunk_nets_run_the_nonautoregressive_task(model, tree, tmp_path):
    spec = runner.resolve(
        model,
        "cfdbench",
        config="cavity/bc",
        task="nonautoregressive",
        data_dir=tree,
        epochs=2,
        overrides=parse_set(["model.width=16"]),
    )
    record = runner.run(spec, tmp_path / "runs", progress=False).record.to_json()
    validate_record(record)
    assert record["primary_metric"] == "nmse_u" and record["rollout"] is None
    assert record["metrics"]["test"]["nmse_u"]["n"] == FRAMES
    run_dir = tmp_path / "runs" / record["run_id"]
    assert (run_dir / "samples.png").is_file() and (run_dir / "predictions.nc").is_file()


def test_grid_models_refuse_the_points_task_and_spectral_the_timestep_task(tree):
    with pytest.raises(ConfigError, match="points"):
        runner.prepare(runner.resolve("fno", "cfdbench", task="nonautoregressive", data_dir=tree))
    with pytest.raises(ConfigError, match="grid-timestep"):
        runner.prepare(runner.resolve("spectral", "cfdbench", data_dir=tree))
