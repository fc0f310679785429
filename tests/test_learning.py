"""Trained models learn: on a small generated diffusion config they beat the mean baseline."""

import pytest

from opbench import runner

CONFIG = "cubic0.1_grid16"
DATA = ["data.n_train=96", "data.n_test=16"]


def run_rel_l2(model, tmp_path, overrides, epochs):
    spec = runner.resolve(
        model, "condiff", config=CONFIG, epochs=epochs, overrides=[*DATA, *overrides]
    )
    return runner.run(spec, tmp_path / model, progress=False).record["metrics"]["test"]["rel_l2"][
        "mean"
    ]


@pytest.mark.parametrize(
    ("model", "overrides"),
    [
        ("fno", ["model.hidden_channels=16", "model.n_modes=[8,8]", "train.lr=3e-3"]),
        ("unet", ["model.width=8", "train.lr=3e-3"]),
    ],
)
def test_trained_model_beats_the_mean_field(model, overrides, tmp_path):
    mean = run_rel_l2("mean", tmp_path, [], None)
    trained = run_rel_l2(model, tmp_path, overrides, 40)
    assert mean > 0.9  # u has mean ≈ 0: the mean field explains almost nothing
    assert trained < 0.5 * mean
