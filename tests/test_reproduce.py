"""``opbench.reproduce``: paper baselines re-run with their recipes, beside their numbers."""

import csv
import math
import os

import pytest
import torch

import opbench.reproduce as reproduce_module
from opbench.config import BudgetName, merge
from opbench.data import DATASETS
from opbench.errors import ConfigError
from opbench.eval.metrics import nmse
from opbench.models import MODELS
from opbench.reproduce import REPRODUCTIONS, reproduce
from opbench.reproduce import airfrans as airfrans_reproduction
from opbench.reproduce import cfdbench as cfdbench_reproduction
from opbench.reproduce import condiff as condiff_reproduction
from opbench.run import resolve
from opbench.sweep import plan
from opbench.train.losses import LOSSES


def _rows(result, model, metric):
    return [r for r in result.rows if r.model == model and r.metric == metric]


def _run_dirs(result) -> set[str]:
    return {p.name for p in result.runs_dir.iterdir() if (p / "record.json").is_file()}


def test_condiff_tiny_table_and_resume(tmp_path):
    result = reproduce("condiff", budget="tiny", seeds=[0], out=tmp_path, workers=2)

    assert result.markdown_path == tmp_path / "condiff" / "reproduction-tiny.md"
    text = result.markdown_path.read_text()
    assert text == result.markdown
    assert "published data not found" in text
    assert "using opbench-generated data of the same kind" in text
    assert "0.016 ± 0.005" in text and "0.02 ± 0.007" in text
    assert "float64" in text  # the precision caveat
    assert {r.model for r in result.rows} == {"dilresnet", "unet", "fno"}
    for row in result.rows:
        assert row.config == "poisson_grid64" and row.metric == "rel_l2"
        assert row.opbench.n == 1 and math.isfinite(row.opbench.mean)
        assert row.opbench.std is None  # one seed: no std
        assert row.data.startswith("generated ") and row.recipe_epochs == 2
        assert (row.n_train, row.n_val, row.n_test) == (43, 5, 16)
    (dilresnet,) = _rows(result, "dilresnet", "rel_l2")
    assert dilresnet.published.value == 0.016 and dilresnet.published.std == 0.005
    assert dilresnet.difference == pytest.approx(dilresnet.opbench.mean - 0.016)
    (fno,) = _rows(result, "fno", "rel_l2")
    assert fno.published is None and fno.difference is None
    fno_line = next(line for line in text.splitlines() if "| fno " in line)
    assert [c.strip() for c in fno_line.split("|")[1:5]] == [
        "poisson_grid64 / steady",
        "fno",
        "rel_l2",
        "—",
    ]
    with open(result.csv_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["model"] for r in table] == ["dilresnet", "unet", "fno"]
    assert float(table[1]["published"]) == 0.020 and table[2]["published"] == ""
    data = result.data["poisson_grid64"]
    assert not data.found and data.root.parent == tmp_path / "condiff" / "data"
    first_runs = _run_dirs(result)
    assert len(first_runs) == 3 and len(result.outcomes) == 3

    again = reproduce("condiff", budget="tiny", seeds=[0], out=tmp_path, workers=2)
    assert again.n_skipped == 3 and again.outcomes == []
    assert _run_dirs(again) == first_runs
    assert [r.opbench.mean for r in again.rows] == [r.opbench.mean for r in result.rows]
    assert again.data["poisson_grid64"].message.endswith("; reused")  # not generated again


def test_cfdbench_tiny(tmp_path):
    result = reproduce("cfdbench", budget="tiny", seeds=[0], out=tmp_path, workers=2)
    text = result.markdown_path.read_text()
    assert "published data not found" in text and "two-phase" in text
    (identity,) = _rows(result, "identity", "nmse_u")
    assert identity.published.value == pytest.approx(1.41e-3) and identity.fitted
    for model in ("identity", "fno", "unet"):
        (row,) = _rows(result, model, "nmse")
        assert math.isfinite(row.opbench.mean) and row.data.startswith("generated ")
    (fno,) = _rows(result, "fno", "nmse")
    assert fno.published.value == pytest.approx(0.50e-3) and fno.recipe_epochs == 1
    (deeponet,) = _rows(result, "deeponet", "nmse_u")
    assert deeponet.task == "nonautoregressive"
    assert deeponet.published.value == pytest.approx(0.0647)
    assert result.csv_path.is_file()


def test_airfrans_tiny(tmp_path):
    result = reproduce("airfrans", budget="tiny", seeds=[0], out=tmp_path, workers=2)
    text = result.markdown_path.read_text()
    assert "published data not found" in text and "not RANS" in text
    (mlp_p,) = _rows(result, "mlp", "vol_mse_p")
    assert mlp_p.published.value == pytest.approx(0.81e-2)
    assert math.isfinite(mlp_p.opbench.mean) and mlp_p.split_unit == "simulation"
    (pointnet_cl,) = _rows(result, "pointnet", "spearman_cl")
    assert pointnet_cl.published.value == pytest.approx(0.9919)
    (vol,) = _rows(result, "mlp", "vol_mse")
    assert vol.published is None

    # the runs are sweep jobs: planning one again in the runs folder finds it done
    reproduction = REPRODUCTIONS.get("airfrans")
    recipe = reproduction.models[0]
    again = plan(
        [recipe.model],
        ["airfrans:full"],
        [0],
        result.runs_dir,
        preset=recipe.preset,
        overrides=merge(recipe.overrides_for("full"), reproduction.budget("tiny").overrides(False)),
        data_dirs=[f"airfrans={result.data['full'].root}"],
        task=recipe.task,
    )
    assert again.jobs == [] and again.n_done == 1


def test_unknown_name_budget_and_empty_seeds(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'condiff'"):
        reproduce("condif", out=tmp_path)
    with pytest.raises(ConfigError, match="Did you mean 'small'"):
        reproduce("condiff", budget="smal", out=tmp_path)
    with pytest.raises(ConfigError, match="--seeds is empty"):
        reproduce("condiff", budget="tiny", seeds=[], out=tmp_path)
    with pytest.raises(ConfigError, match="seed"):
        reproduce("condiff", budget="tiny", seeds=[-1], out=tmp_path)
    assert not (tmp_path / "condiff").exists()  # nothing generated or run


@pytest.mark.parametrize("name", REPRODUCTIONS.names())
def test_every_recipe_resolves(name):
    """Every model × config × budget resolves (names, presets and --set keys are valid),
    and every published number belongs to a model, task and shown metric of the table."""
    reproduction = REPRODUCTIONS.get(name)
    assert set(reproduction.budgets) == {b.value for b in BudgetName}
    for budget_name in BudgetName:
        budget = reproduction.budget(budget_name)
        for recipe, config in reproduction.groups(budget):
            fitted = MODELS.get(recipe.model).fitted
            overrides = merge(recipe.overrides_for(config), budget.overrides(fitted))
            spec = resolve(
                recipe.model,
                reproduction.family,
                config=config,
                task=recipe.task,
                preset=recipe.preset,
                overrides=overrides,
            )
            if budget_name == "paper" and not fitted:
                assert spec.train.max_minutes is None  # the paper budget is uncapped
    tasks = {r.model: r.task for r in reproduction.models}
    for entry in reproduction.published:
        assert tasks[entry.model] == entry.task
        assert entry.metric in reproduction.metrics[entry.task]
        DATASETS.get(reproduction.family).check_config(entry.config)


def test_recipes_follow_references():
    """The recipes as the papers state them (ConDiff notebooks, CFDBench §4)."""
    condiff = {
        r.model: resolve(r.model, "condiff", preset=r.preset, overrides=r.overrides_for(c))
        for r in REPRODUCTIONS.get("condiff").models
        for c in ("poisson_grid64",)
    }
    for model, batch in (("dilresnet", 8), ("unet", 16), ("fno", 4)):
        train = condiff[model].train
        assert (train.optimizer, train.lr, train.weight_decay) == ("adamw", 1e-3, 1e-2)
        assert (train.epochs, train.gamma, train.loss, train.batch_size) == (
            400,
            0.5,
            "abs_l2",
            batch,
        )
        assert [m * 400 for m in train.milestones] == [50, 100, 150, 200, 250, 300, 350]
    assert condiff["fno"].hyperparameters["hidden_channels"] == 48  # F-FNO width on Poisson
    fno = REPRODUCTIONS.get("cfdbench").models[1]
    spec = resolve("fno", "cfdbench", preset=fno.preset, overrides=fno.overrides)
    train = spec.train
    assert (train.optimizer, train.lr, train.epochs, train.batch_size) == ("adam", 1e-3, 100, 128)
    assert (train.gamma, train.loss, [m * 100 for m in train.milestones]) == (
        0.9,
        "nmse",
        [20, 40, 60, 80],
    )
    assert spec.hyperparameters["n_modes"] == [24, 24]  # 12×12 modes


def test_published_data_detection(tmp_path):
    """The published layouts are recognised (generated files have the same layout)."""
    assert not condiff_reproduction.has_published_data(tmp_path, "poisson_grid64")
    DATASETS.get("condiff").generate("poisson_grid64", tmp_path / "cd", n_train=2, n_test=1)
    assert condiff_reproduction.has_published_data(tmp_path / "cd", "poisson_grid64")
    assert not condiff_reproduction.has_published_data(tmp_path / "cd", "cubic0.1_grid64")

    assert not cfdbench_reproduction.has_published_data(tmp_path, "cavity")
    options = {"n_cases": 1, "frames": 3, "frame_size": 8, "solver_cells": 16, "workers": 1}
    DATASETS.get("cfdbench").generate("cavity/bc", tmp_path / "cfd", **options)
    assert cfdbench_reproduction.has_published_data(tmp_path / "cfd", "cavity/bc")
    assert cfdbench_reproduction.has_published_data(tmp_path / "cfd" / "cavity", "cavity/bc")
    assert not cfdbench_reproduction.has_published_data(tmp_path / "cfd", "cavity")  # no prop

    assert not airfrans_reproduction.has_published_data(tmp_path, "full")
    options = {"n_train": 2, "n_test": 1, "n_around": 40, "n_normal": 8, "workers": 1}
    DATASETS.get("airfrans").generate("full", tmp_path / "af", **options)
    assert airfrans_reproduction.has_published_data(tmp_path / "af", "full")


def test_published_data_is_used_when_found(tmp_path, monkeypatch):
    """With the published files under data_dir, the runs read them (no generation) and
    the message says so; the plan's runs point at data_dir."""
    import opbench.reproduce as library

    DATASETS.get("condiff").generate("poisson_grid64", tmp_path / "pub", n_train=48, n_test=16)
    captured = {}

    def no_sweep(sweep_plan, out, **kwargs):
        captured["jobs"] = sweep_plan.jobs
        return []

    monkeypatch.setattr(library, "sweep", no_sweep)
    result = reproduce(
        "condiff", budget="tiny", seeds=[0, 1], data_dir=tmp_path / "pub", out=tmp_path / "out"
    )
    source = result.data["poisson_grid64"]
    assert source.found and source.root == (tmp_path / "pub").resolve()
    assert "published layout found" in source.message
    assert not (tmp_path / "out" / "condiff" / "data").exists()
    assert len(captured["jobs"]) == 6  # 3 models × 2 seeds
    assert {job.spec.data_dir for job in captured["jobs"]} == {str(source.root)}
    assert all(row.opbench.n == 0 for row in result.rows)  # nothing ran: no numbers
    assert "— (no run)" in result.markdown


def test_nmse_loss_closed_form():
    """mean((P − Y)²) / mean(Y²) over the whole batch; one sample: the nmse metric."""
    loss = LOSSES.get("nmse")
    target = torch.tensor([[[1.0, 2.0]], [[0.0, 0.0]]])  # (B, C, N); sample 2 at rest
    prediction = torch.tensor([[[2.0, 2.0]], [[1.0, 0.0]]])
    # squared errors 1, 0, 1, 0 → mean 0.5; squares of Y 1, 4, 0, 0 → mean 1.25
    assert loss(prediction, target).item() == pytest.approx(0.5 / 1.25)
    one = loss(prediction[:1], target[:1])
    assert one.item() == pytest.approx(0.5 / 2.5)
    assert one.item() == pytest.approx(nmse(prediction[:1], target[:1]).item())
    assert loss(target, target).item() == 0.0


def test_a_gpu_reproduction_runs_every_run_at_once(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert reproduce_module.concurrent_runs("cuda", 18) == 16
    assert reproduce_module.concurrent_runs("cuda", 6) == 6
    assert reproduce_module.concurrent_runs("cpu", 18) == 16
