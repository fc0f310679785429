"""Resolution transfer: bicubic resampling, the paired ConDiff variant, the run option and
the board's table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_leaderboard import board
from test_record import make_record

from opbench.data import DATASETS
from opbench.data.condiff import fv, paired
from opbench.data.condiff.configs import parse_config
from opbench.data.condiff.family import ConDiffOptions
from opbench.data.condiff.generate import draw_sample
from opbench.errors import ConfigError
from opbench.ops.resample import resample
from opbench.results.publish import render_published
from opbench.results.transfer import transfer_rows
from opbench.run import resolve
from opbench.run import run as run_spec


def _vertices(grid: int) -> np.ndarray:
    return np.arange(1, grid + 1) / (grid + 1)


def test_resampling_vertex_grids_keeps_shared_vertices_and_is_third_order():
    coarse = 15
    x = _vertices(coarse)
    field = np.sin(np.pi * x)[:, None] * np.sin(np.pi * x)[None, :]
    values = torch.from_numpy(field)[None, None]
    fine = resample(values, (31, 31), "vertex", boundary="zero")[0, 0].numpy()
    np.testing.assert_allclose(paired.restrict(fine, coarse), field, atol=1e-12)
    xf = _vertices(31)
    exact = np.sin(np.pi * xf)[:, None] * np.sin(np.pi * xf)[None, :]
    assert np.abs(fine - exact).max() < 1e-4  # a cubic spline: fourth order (8e-6 here)
    back = resample(torch.from_numpy(fine)[None, None], (15, 15), "vertex", "zero")
    np.testing.assert_allclose(back[0, 0].numpy(), paired.restrict(fine, coarse), atol=1e-12)


def test_resampling_cell_centres_is_exact_for_a_linear_field_inside():
    n = 16
    centres = (np.arange(n) + 0.5) / n
    field = torch.from_numpy(np.add.outer(centres, 2 * centres))[None, None]
    out = resample(field, (32, 32), "cell")[0, 0].numpy()
    fine = (np.arange(32) + 0.5) / 32
    np.testing.assert_allclose(
        out[4:-4, 4:-4], np.add.outer(fine, 2 * fine)[4:-4, 4:-4], atol=1e-12
    )


def test_paired_grids_hold_the_same_fields_at_nested_points():
    samples = {}
    for grid in (15, 31):
        config = parse_config(f"cubic0.4_paired_grid{grid}")
        samples[grid] = draw_sample(config, np.random.default_rng([0, 1, 3]), 10**5)
    (k15, f15, used15), (k31, f31, used31) = samples[15], samples[31]
    assert used15 == used31  # the same proposals: the same sample
    np.testing.assert_array_equal(
        fv.vector_to_grid(f15, 15), paired.restrict(fv.vector_to_grid(f31, 31), 15)
    )
    assert k15.shape == (16, 16) and k31.shape == (32, 32)


def test_paired_configs_refuse_grids_that_do_not_nest():
    with pytest.raises(ConfigError, match="paired variant's grids"):
        parse_config("cubic0.1_paired_grid64")


def test_the_discretisation_gap_shrinks_with_the_grid():
    options = ConDiffOptions(n_train=4, n_test=4)
    family = DATASETS.get("condiff")
    loads = {
        g: family.load_benchmark(f"poisson_paired_grid{g}", "steady", options) for g in (15, 31, 63)
    }
    from opbench.eval.transfer import discretisation_gap

    coarse = discretisation_gap(loads[31], loads[15], 4)
    fine = discretisation_gap(loads[63], loads[31], 4)
    assert 0 < fine < coarse / 2  # second order: about a quarter


def _run(tmp_path, model: str, seed: int = 0):
    spec = resolve(
        model,
        "condiff",
        config="cubic0.1_paired_grid15",
        epochs=1,
        seed=seed,
        overrides={"data": {"n_train": 8, "n_test": 4}},
        transfer_configs=["cubic0.1_paired_grid31"],
    )
    return run_spec(spec, tmp_path, progress=False).record


def test_a_run_scores_transfer_directly_and_through_the_yardstick(tmp_path):
    record = _run(tmp_path, "fno")
    score = record.transfer["cubic0.1_paired_grid31"]
    assert score.shape == [31, 31] and score.trained_shape == [15, 15]
    assert score.direct is not None and score.yardstick is not None
    assert len(score.direct_values) == len(score.yardstick_values) == 4
    assert score.gap is not None and score.gap > 0
    linear = _run(tmp_path, "linear").transfer["cubic0.1_paired_grid31"]
    assert linear.direct is None and "sine mode" in linear.not_applicable
    assert linear.yardstick is not None


def test_transfer_needs_the_same_samples_at_another_grid():
    # resolve checks names only; the samples are compared when the data are loaded
    from opbench.run import prepare

    with pytest.raises(ConfigError, match="not the trained config's at another resolution"):
        prepare(
            resolve(
                "fno",
                "condiff",
                config="cubic0.1_paired_grid15",
                overrides={"data": {"n_train": 4, "n_test": 2}},
                transfer_configs=["cubic0.4_paired_grid31"],
            )
        )


def _with_transfer(record: dict, direct: list[float] | None, yardstick: list[float]) -> dict:
    score = {
        "config": "g31", "fingerprint": "x", "shape": [31, 31], "trained_shape": [15, 15],
        "n": len(yardstick), "metric": "rel_l2",
        "direct": None if direct is None else float(np.mean(direct)),
        "yardstick": float(np.mean(yardstick)), "gap": 0.01,
        "not_applicable": None if direct is not None else "fixed grid",
        "direct_values": direct, "yardstick_values": yardstick,
    }  # fmt: skip
    return {**record, "transfer": {"g31": score}}


def test_the_transfer_table_tests_direct_against_the_yardstick():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.2, 50)
    records = board(
        *(_with_transfer(make_record("fno", s), list(base * 0.5), list(base)) for s in (0, 1)),
        *(_with_transfer(make_record("unet", s), list(base), list(base)) for s in (0, 1)),
        _with_transfer(make_record("linear", 0), None, list(base)),
    )
    rows = {row.model: row for row in transfer_rows(records)}
    assert rows["fno"].verdict == "beats the yardstick"
    assert rows["unet"].verdict == "tie"
    assert rows["linear"].not_applicable == "fixed grid" and rows["linear"].verdict == "—"
    markdown = render_published(records, citations=[])["condiff.md"]
    assert "## Resolution transfer" in markdown
    assert "### poisson (15×15) → g31 (31×31) / steady" in markdown


def test_cfdbench_frames_of_another_size_are_the_same_cases(tmp_path):
    data = {"n_cases": 10, "frames": 4, "frame_size": 8, "solver_cells": 16}
    spec = resolve(
        "fno",
        "cfdbench",
        config="cavity/bc",
        epochs=1,
        overrides={"data": data, "model": {"n_modes": [2, 2], "hidden_channels": 8}},
        transfer_configs=["cavity/bc@4", "cavity/bc@16"],
    )
    record = run_spec(spec, tmp_path, progress=False).record
    for name, size in (("cavity/bc@4", 4), ("cavity/bc@16", 16)):
        score = record.transfer[name]
        assert score.shape == [size, size] and score.trained_shape == [8, 8]
        assert score.direct is not None and score.yardstick is not None
        assert len(score.yardstick_values) == 1  # one value per test case, not per pair
        assert score.gap is not None and score.gap > 0
    with pytest.raises(ConfigError, match="frame size of at least"):
        resolve("fno", "cfdbench", config="cavity/bc@x")
