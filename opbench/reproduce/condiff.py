"""ConDiff (Trifonov et al. 2024, arXiv:2406.04709): DilResNet, U-Net and FNO on grid 64.

Published numbers: test relative L2, mean ± std, from the final outputs of the official
notebooks (Trifonov et al. 2024, arXiv:2406.04709): DilResNet 0.016 ± 0.005
(poisson_grid64) and 0.071 ± 0.02 (cubic0.1_grid64), U-Net 0.020 ± 0.007 (poisson_grid64).
The paper reports F-FNO, not FNO: opbench's FNO rows have no published number.

Recipe (the notebooks, :data:`~opbench.models.base.CONDIFF_NOTEBOOK_TRAIN`): AdamW lr 1e-3,
weight decay 1e-2, 400 epochs, lr ×0.5 every 50 epochs, loss = batch mean of the absolute
L2 norm of the error; U-Net depth 3, width 32, batch 16 and DilResNet 4 cells, width 32,
batch 8 are the models' ``paper`` presets unchanged. FNO takes the F-FNO settings (4
layers, 12 modes, width 48 on Poisson and 32 on diffusion, batch 4) with the same
optimiser and schedule, overriding its Darcy ``paper`` preset.
"""

from __future__ import annotations

from pathlib import Path

from opbench.data.condiff.files import split_path
from opbench.models.base import CONDIFF_NOTEBOOK_TRAIN
from opbench.reproduce.recipe import Budget, ModelRecipe, Published, Reproduction, register

POISSON, CUBIC = "poisson_grid64", "cubic0.1_grid64"
SOURCE = "ConDiff notebooks"


def has_published_data(data_dir: Path, config: str) -> bool:
    """Both files of the published layout: ``data_dir/<config>/<config>_{train,test}.h5``."""
    folder = Path(data_dir) / config
    return all(split_path(folder, config, split).is_file() for split in ("train", "test"))


FNO_CONDIFF = {"train": {**CONDIFF_NOTEBOOK_TRAIN, "batch_size": 4}}
"""The notebooks' optimiser and schedule at F-FNO's batch size 4 (FNO's ``paper`` preset is
the Darcy recipe: Adam, ×0.5 every 100 of 500 epochs, batch 20)."""

REPRODUCTION = register(
    Reproduction(
        name="condiff",
        title="ConDiff (Trifonov et al. 2024), steady diffusion and Poisson on grid 64",
        family="condiff",
        models=(
            ModelRecipe("dilresnet", "steady"),
            ModelRecipe("unet", "steady"),
            ModelRecipe(
                "fno",
                "steady",
                overrides=FNO_CONDIFF,
                config_overrides={
                    POISSON: {"model": {"hidden_channels": 48}},
                    CUBIC: {"model": {"hidden_channels": 32}},
                },
                note="Deviation: ConDiff reports F-FNO (factorised Fourier layers); opbench "
                "runs neuraloperator's FNO with F-FNO's sizes, so its rows have no published "
                "number.",
            ),
        ),
        published=(
            Published(POISSON, "steady", "dilresnet", "rel_l2", 0.016, 0.005, SOURCE),
            Published(CUBIC, "steady", "dilresnet", "rel_l2", 0.071, 0.02, SOURCE),
            Published(POISSON, "steady", "unet", "rel_l2", 0.020, 0.007, SOURCE),
        ),
        metrics={"steady": ("rel_l2",)},
        budgets={
            "tiny": Budget(
                configs=(POISSON,),
                generate={"n_train": 48, "n_test": 16},
                train={"epochs": 2},
                data={"n_train": 48, "n_test": 16},
                description="smoke test: poisson_grid64 only, 48 train / 16 test samples, "
                "2 epochs of the recipe's networks (about a minute on a CPU); its numbers say "
                "nothing about the paper's",
            ),
            "small": Budget(
                configs=(POISSON, CUBIC),
                generate={"n_train": 1000, "n_test": 200},
                train={"max_minutes": 3},
                data={"n_train": 1000, "n_test": 200},
                description="both configs, 1000 train / 200 test samples (the published "
                "sizes), the full 400-epoch recipe capped at 3 minutes of training per run "
                "(the schedule follows the wall clock): far fewer epochs than the paper, "
                "so expect higher errors",
            ),
            "paper": Budget(
                configs=(POISSON, CUBIC),
                generate={"n_train": 1000, "n_test": 200},
                description="both configs, every sample of the files (1000 / 200 when "
                "generated), the full 400-epoch recipe without a cap (hours per seed on a "
                "CPU: a GPU job; with --device cuda all runs share one GPU at once). No bf16 "
                "mixed precision: the recipe trained in float64, and opbench keeps float32",
            ),
        },
        has_published_data=has_published_data,
        caveats=(
            "Precision: the published models were trained in float64; opbench trains in float32.",
            "Poisson data has exactly the published distribution (white-noise right-hand "
            "side, k ≡ 1), so an opbench-generated poisson_grid64 is statistically the same "
            "problem and its numbers compare directly; a generated cubic0.1_grid64 comes from "
            "opbench's own Gaussian-random-field sampler for the published covariance and "
            "contrast window.",
            "FNO is not F-FNO: no published number on these configs.",
            "opbench holds out 10 % of the training samples as a validation split for "
            "checkpoint selection, so it trains on 90 % of them.",
        ),
    )
)
