"""Every trainable model learns: a short run on small generated **diffusion** data (not
Poisson, which the linear baseline solves exactly) reaches at most half the `mean`
baseline's validation rel_l2.

Global-branch models (DeepONet, MultiONet) and the windowed transformer cannot learn the
white-noise-forced problem from ~90 samples at 16² (measured: 0.6–0.7 × mean); they get
800 samples, which makes their runs slow.
"""

from dataclasses import dataclass

import pytest

from opbench import run as runner
from opbench.config import parse_set
from opbench.models import MODELS

CONFIG = "cubic0.1_grid16"


@dataclass(frozen=True)
class Recipe:
    n_train: int = 96
    epochs: int = 40
    overrides: tuple[str, ...] = ()
    slow: bool = False


RECIPES = {
    "fno": Recipe(overrides=("model.hidden_channels=16", "model.n_modes=[8,8]", "train.lr=3e-3")),
    "unet": Recipe(overrides=("model.width=8", "train.lr=3e-3")),
    "dilresnet": Recipe(overrides=("model.width=8", "train.lr=3e-3")),
    "deeponet": Recipe(n_train=800, slow=True),
    "multionet": Recipe(n_train=800, slow=True),
    "scot": Recipe(n_train=800, slow=True),
    # patch 1: a 16² grid needs no padding (patch 4 pads it to 64²), three times faster
    "lsm": Recipe(
        overrides=("model.patch_size=1", "model.width=8", "model.heads=4", "train.lr=3e-3"),
        slow=True,
    ),
    "spectral": Recipe(),
}
TRAINABLE = [name for name, e in MODELS.items() if not e.fitted and "grid" in e.layouts]
"""Every trainable grid model; points-only models (mlp, pointnet) have their learning check
in tests/test_pointmodels.py."""


def best_val(model: str, recipe: Recipe, tmp_path) -> float:
    """Best validation rel_l2 of ``model`` (the fitted ``mean`` takes no model options)."""
    fitted = MODELS.get(model).fitted
    overrides = [f"data.n_train={recipe.n_train}", "data.n_test=16"]
    spec = runner.resolve(
        model,
        "condiff",
        config=CONFIG,
        epochs=None if fitted else recipe.epochs,
        overrides=parse_set(overrides if fitted else [*overrides, *recipe.overrides]),
    )
    return runner.run(spec, tmp_path / model, progress=False).record.to_json()["train"]["best_val"]


def test_every_trainable_model_has_a_learning_recipe():
    assert sorted(RECIPES) == sorted(TRAINABLE)


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(name, marks=[pytest.mark.slow] if RECIPES[name].slow else [])
        for name in TRAINABLE
        if name in RECIPES
    ],
)
def test_trained_model_reaches_half_the_mean_baseline(model, tmp_path):
    recipe = RECIPES[model]
    mean = best_val("mean", recipe, tmp_path)
    assert mean > 0.9  # u has mean ≈ 0: the mean field explains almost nothing
    assert best_val(model, recipe, tmp_path) <= 0.5 * mean
