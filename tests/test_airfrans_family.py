"""AirfRANS-style generated data end to end: the official package reads it unchanged and
agrees on forces, the family's splits and point sampling, and runs through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from opbench.cli import app
from opbench.data import DATASETS, load_benchmark
from opbench.data.airfrans.files import read_manifest, read_simulation
from opbench.data.airfrans.forces import force_coefficients
from opbench.data.airfrans.generate import GenerationOptions, generate
from opbench.errors import ConfigError, DataError

airfrans = pytest.importorskip("airfrans")  # a test dependency: `pip install -e ".[test]"`


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("airfrans")
    options = GenerationOptions(n_train=10, n_test=3, n_around=80, n_normal=16)
    generate(root, options, workers=1)
    return root


def test_official_package_reads_generated_data_unchanged(root):
    data, names = airfrans.dataset.load(str(root), "full", train=True)
    assert names == read_manifest(root)["full_train"]
    for columns, name in zip(data, names, strict=True):
        ours = read_simulation(root, name).columns()
        assert np.array_equal(columns, ours)
        surface = columns[:, 11] > 0
        assert np.all(columns[surface, 7:9] == 0) and np.all(columns[~surface, 7] != 0)
        assert np.all(columns[:, 10] == 0)  # ν_t is written as zeros


def test_force_coefficients_agree_with_the_official_routine(root):
    name = read_manifest(root)["full_test"][0]
    ours = read_simulation(root, name)
    official = airfrans.Simulation(str(root), name)
    (cd, _, _), (cl, _, _) = official.force_coefficient()
    ours_cd, ours_cl = force_coefficients(
        ours.stencil(), ours.velocity, ours.pressure, ours.u_inf, ours.aoa_deg, nu=official.NU
    )
    assert ours_cd == pytest.approx(cd, abs=1e-6) and ours_cl == pytest.approx(cl, abs=1e-6)


def test_written_fields_keep_the_panel_lift_and_a_friction_drag(root):
    sidecar = json.loads((root / "opbench.json").read_text())
    assert sidecar["label"] == "airfrans-style: potential flow with boundary-layer correction"
    for simulation in sidecar["simulations"]:
        # Lift recomputed from the written fields = the panel method's, to the mesh.
        assert simulation["cl_true"] == pytest.approx(simulation["cl_panel"], rel=5e-3, abs=2e-3)
        assert simulation["cl_panel"] == pytest.approx(
            simulation["cl_kutta_joukowski"], rel=0.01, abs=1e-3
        )
        # Potential flow carries no pressure drag: the fields' drag is the skin friction,
        # below the Squire–Young profile drag and of its order.
        assert 0.3 * simulation["cd_squire_young"] < simulation["cd_true"]
        assert simulation["cd_true"] < 1.2 * simulation["cd_squire_young"]


def test_manifest_follows_the_airfrans_split_rules(root):
    manifest = read_manifest(root)
    sidecar = json.loads((root / "opbench.json").read_text())
    by_name = {s["name"]: s for s in sidecar["simulations"]}
    assert manifest["scarce_train"] == manifest["full_train"][:2]
    for name in manifest["reynolds_train"]:
        assert 3e6 <= by_name[name]["reynolds"] <= 5e6
    for name in manifest["aoa_test"]:
        assert not -2.5 <= by_name[name]["aoa_deg"] <= 12.5
    assert sorted(manifest["aoa_train"] + manifest["aoa_test"]) == sorted(by_name)


def test_benchmark_splits_padding_and_node_sampling(root):
    benchmark = load_benchmark("airfrans", "full", data_dir=root, n_points=500)
    info = benchmark.info.model_dump(mode="json")
    assert (info["split"]["train"], info["split"]["val"], info["split"]["test"]) == (9, 1, 3)
    assert info["source"] == "generated" and info["scored_fields"] == ["u", "v", "p"]
    test = benchmark.splits["test"].tensors
    assert test["x"].shape == (3, 7, 80 * 17) and test["y"].shape == (3, 4, 80 * 17)  # ring × 17
    assert torch.equal(test["x"][:, :2], test["pos"])
    batch = next(benchmark.splits["train"].batches(4, shuffle=True))
    assert batch["x"].shape == (4, 7, 500) and bool((batch["valid"] == 1).all())
    assert benchmark.task.primary_metric == "vol_mse"
    with pytest.raises(ConfigError, match="full"):
        load_benchmark("airfrans", "fulll", data_dir=root)


def test_a_config_with_an_empty_split_is_a_clear_error(root, tmp_path):
    manifest = read_manifest(root)
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "reynolds_test": []}))
    with pytest.raises(DataError, match="every split needs one"):
        load_benchmark("airfrans", "reynolds", data_dir=tmp_path)
    del manifest["aoa_test"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="aoa_test"):
        load_benchmark("airfrans", "aoa", data_dir=tmp_path)


@pytest.mark.parametrize("model", ["mlp", "pointwise_linear"])
def test_cli_runs_a_point_model_on_generated_airfrans(model, root, tmp_path):
    """A trained network and the fitted baseline (which fits on every node of the node-sampled
    training split) run end to end and are scored with the AirfRANS metrics."""
    result = CliRunner().invoke(
        app,
        [
            "run",
            model,
            "airfrans",
            "--config",
            "full",
            "--data-dir",
            str(root),
            "--epochs",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
            "--set",
            "data.n_points=400",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(next(tmp_path.glob("*/record.json")).read_text())
    test = record["metrics"]["test"]
    for name in ("vol_mse", "surf_mse_p", "cd_rel_err", "cl_rel_err", "spearman_cl"):
        assert name in test
    assert test["spearman_cd"]["n"] == 3 and -1 <= test["spearman_cd"]["mean"] <= 1
    assert "vol_mse_nut" not in test  # ν_t is zero in generated data: not scored


def test_wall_shear_recomputed_from_the_fields_is_the_boundary_layers():
    from opbench.data.airfrans.forces import wall_shear_stress, wall_stencil
    from opbench.data.airfrans.generate import draw_case, simulate

    case = draw_case(np.random.default_rng([0, 3]))
    sim = simulate(case, GenerationOptions(n_around=120, n_normal=24))
    mesh, wall = sim["mesh"], sim["wall"]
    stencil = wall_stencil(mesh.points, mesh.quads, wall.nodes, wall.segments, wall.normals)
    recomputed = np.hypot(*wall_shear_stress(stencil, sim["fields"]["U"]).T)
    layer = sim["layer"].wall_shear[: len(wall.nodes)]
    # Away from the stagnation point and the trailing edge (where the layer's τ_w → 0 or
    # is held), the mesh-recomputed shear matches the integral boundary layer's.
    attached = layer > 0.2 * np.median(layer)
    ratio = recomputed[attached] / layer[attached]
    assert attached.mean() > 0.8
    assert np.median(np.abs(ratio - 1)) < 0.02 and np.percentile(np.abs(ratio - 1), 90) < 0.1


def test_without_data_dir_the_data_is_generated_once_into_the_cache():
    options = {"n_train": 10, "n_test": 2, "n_around": 40, "n_normal": 8}
    first = load_benchmark("airfrans", "full", **options)
    second = load_benchmark("airfrans", "full", **options)
    assert first.info.source == "generated"
    assert first.info.fingerprint == second.info.fingerprint
    assert first.info.split.test == 2
    with pytest.raises(ConfigError, match="generated data only"):
        load_benchmark("airfrans", "full", data_dir=".", n_train=10)


def test_a_table_on_generated_data_says_it_is_not_rans():
    """The board's caption note: generated data are potential flow with a boundary layer;
    a table of real AirfRANS data needs no note."""
    family = DATASETS.get("airfrans")
    assert "not the published RANS fields" in family.table_note("full", generated=True)
    assert family.table_note("full", generated=False) is None
