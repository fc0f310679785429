"""AirfRANS (Bonnet et al. 2022, arXiv:2212.07564): MLP and PointNet on the ``full`` task.

Published numbers (Bonnet et al. 2022, arXiv:2212.07564, the corrected scores of the
dataset's repository): volume and
surface MSE of the pressure in standardised units (the table's ×1e-2 columns, stored here
as values: 0.81 ×1e-2 = 0.0081), relative errors of C_D and C_L (fractions: 6.18 = 618 %)
and Spearman correlations of predicted and true C_D, C_L over the test set. They map onto
the family's scores (:mod:`opbench.data.airfrans.scoring`): ``vol_mse_p``, ``surf_mse_p``,
``cd_rel_err``, ``cl_rel_err``, ``spearman_cd``, ``spearman_cl``; ``vol_mse`` (opbench's
primary metric, the mean over the scored fields) has no published counterpart.

Recipe: the models' ``paper`` presets unchanged (:data:`~opbench.models.mlp.AIRFRANS_TRAIN`:
Adam lr 1e-3, one simulation per batch, 398 epochs, MSE, the reference's one-cycle
schedule).
"""

from __future__ import annotations

from pathlib import Path

from opbench.data.airfrans.files import read_manifest
from opbench.errors import DataError
from opbench.reproduce.recipe import Budget, ModelRecipe, Published, Reproduction, register

TASK = "fields"
SOURCE = "AirfRANS, corrected scores"
COLUMNS = ("vol_mse_p", "surf_mse_p", "cd_rel_err", "cl_rel_err", "spearman_cd", "spearman_cl")
"""The published columns, in the table's order, as opbench metric names."""

PUBLISHED_FULL = {
    "mlp": (0.81e-2, 2.00e-2, 6.18, 0.211, 0.250, 0.9932),
    "pointnet": (2.53e-2, 9.96e-2, 17.39, 0.197, 0.074, 0.9919),
}
"""Full task, per model: vol p, surf p (×1e-2 applied), C_D and C_L relative error,
Spearman C_D and C_L."""


def has_published_data(data_dir: Path, config: str) -> bool:
    """A readable ``data_dir/manifest.json`` that lists the config's training simulations
    (the simulation files themselves are checked when the runs load them)."""
    try:
        manifest = read_manifest(Path(data_dir))
    except DataError:
        return False
    return f"{config}_train" in manifest


REPRODUCTION = register(
    Reproduction(
        name="airfrans",
        title="AirfRANS (Bonnet et al. 2022), RANS around NACA airfoils, full task",
        family="airfrans",
        models=(ModelRecipe("mlp", TASK), ModelRecipe("pointnet", TASK)),
        published=tuple(
            Published("full", TASK, model, metric, value, None, SOURCE)
            for model, values in PUBLISHED_FULL.items()
            for metric, value in zip(COLUMNS, values, strict=True)
        ),
        metrics={TASK: ("vol_mse", *COLUMNS)},
        budgets={
            "tiny": Budget(
                configs=("full",),
                generate={"n_train": 10, "n_test": 3, "n_around": 40, "n_normal": 8},
                train={"epochs": 1},
                description="smoke test: 10 train / 3 test generated simulations on a "
                "40 × 8 mesh (360 nodes), 1 epoch; its numbers say nothing about the paper's",
            ),
            "small": Budget(
                configs=("full",),
                generate={"n_train": 80, "n_test": 20},
                train={"max_minutes": 3},
                description="80 train / 20 test generated simulations at the generator's "
                "default mesh (13 000 nodes), the 398-epoch recipe capped at 3 minutes of "
                "training per run (the schedule follows the wall clock)",
            ),
            "paper": Budget(
                configs=("full",),
                generate={"n_train": 800, "n_test": 200},
                description="the published full split (800 / 200 simulations), or as many "
                "generated at the default mesh, the 398-epoch recipe without a cap",
            ),
        },
        has_published_data=has_published_data,
        caveats=(
            "The generated set is potential flow with a boundary-layer correction, not RANS: "
            "a different (smoother) problem on a coarser mesh (13 000 nodes instead of about "
            "180 000). Compare trends, not digits.",
            "On generated data ν_t is written as zeros and not scored; vol_mse averages "
            "u, v and p there (u, v, p and ν_t on the published data).",
            "Deviation from the reference training: the loss is the MSE over all sampled "
            "nodes, not MSE(volume) + MSE(surface).",
        ),
    )
)
