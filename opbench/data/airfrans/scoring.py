"""AirfRANS scores (Bonnet et al. 2022, §4 and the repository's corrected scores): field
MSEs in standardised units over
volume and surface nodes, force coefficients from the **predicted** fields, their relative
errors and Spearman correlations across the test set.

- ``vol_mse_<f>``, ``surf_mse_<f>``: mean over a simulation's volume (off-wall) or surface
  (wall) nodes of ((P_f − Y_f) / σ_f)², σ_f the training standard deviation of field f.
  ``vol_mse`` / ``surf_mse``: their mean over the scored fields (the primary metric is
  ``vol_mse``). ν_t is not scored on generated data (it is written as zeros).
- ``cd``, ``cl``: C_D and C_L of the prediction by :func:`~.forces.force_coefficients`
  (pressure plus wall shear, ½U∞²c), with the predicted wall velocity set to zero first, as
  the reference's ``Infer_test`` does (no-slip is known). ``cd_rel_err``, ``cl_rel_err``:
  |C_pred − C_true| / |C_true|, C_true from the simulation's own fields by the same routine.
- ``spearman_cd``, ``spearman_cl``: Spearman rank correlation of predicted and true
  coefficients over the test simulations (a split-level value; null where undefined, e.g.
  constant predictions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import Tensor

from opbench.data.airfrans.forces import WallStencil, force_coefficients
from opbench.data.airfrans.samples import OUTPUTS
from opbench.data.base import Batch, MetricFn, SetMetric


def _field_mse(field: int, std: float, region: str) -> MetricFn:
    def metric(prediction: Tensor, batch: Batch) -> Tensor:
        surface = batch["surface"][:, 0] > 0
        nodes = (batch["valid"][:, 0] > 0) & (surface if region == "surf" else ~surface)
        error = ((prediction[:, field] - batch["y"][:, field]).double() / std).square()
        return (error * nodes).sum(dim=1) / nodes.sum(dim=1).clamp_min(1)

    return metric


def _mean_of(metrics: Sequence[MetricFn]) -> MetricFn:
    def metric(prediction: Tensor, batch: Batch) -> Tensor:
        return torch.stack([m(prediction, batch) for m in metrics]).mean(dim=0)

    return metric


def field_metrics(std: Tensor, scored: Sequence[str]) -> dict[str, MetricFn]:
    """``vol_mse``, ``surf_mse`` and per-field ``vol_mse_<f>``, ``surf_mse_<f>``."""
    metrics: dict[str, MetricFn] = {}
    for region in ("vol", "surf"):
        per_field = {
            f"{region}_mse_{name}": _field_mse(OUTPUTS.index(name), float(std[i]), region)
            for i, name in enumerate(OUTPUTS)
            if name in scored
        }
        metrics[f"{region}_mse"] = _mean_of(list(per_field.values()))
        metrics.update(per_field)
    return metrics


class Forces:
    """Force coefficients of predicted fields; ``stencils``, ``n_nodes``, ``u_inf`` and
    ``aoa_deg`` are indexed by a batch's ``sim``."""

    def __init__(
        self,
        stencils: Sequence[WallStencil],
        n_nodes: Sequence[int],
        u_inf: Sequence[float],
        aoa_deg: Sequence[float],
        true: np.ndarray,
    ) -> None:
        self.stencils, self.n_nodes = stencils, n_nodes
        self.u_inf, self.aoa_deg = u_inf, aoa_deg
        self.true = true  # (S, 2): C_D, C_L of every simulation from its own fields

    def coefficients(self, prediction: Tensor, batch: Batch) -> np.ndarray:
        """(B, 2): C_D, C_L of each predicted simulation."""
        out = np.zeros((len(prediction), 2))
        for b, sim in enumerate(batch["sim"].tolist()):
            n = self.n_nodes[sim]
            fields = prediction[b, :, :n].double().numpy()
            wall = batch["surface"][b, 0, :n].numpy() > 0
            velocity = np.where(wall[:, None], 0.0, fields[:2].T)
            out[b] = force_coefficients(
                self.stencils[sim], velocity, fields[2], self.u_inf[sim], self.aoa_deg[sim]
            )
        return out

    def metrics(self) -> dict[str, MetricFn]:
        def coefficient(column: int, relative: bool) -> MetricFn:
            def metric(prediction: Tensor, batch: Batch) -> Tensor:
                value = self.coefficients(prediction, batch)[:, column]
                if not relative:
                    return torch.from_numpy(value)
                true = self.true[batch["sim"].numpy(), column]
                return torch.from_numpy(np.abs(value - true) / np.abs(true))

            return metric

        return {
            "cd": coefficient(0, False),
            "cl": coefficient(1, False),
            "cd_rel_err": coefficient(0, True),
            "cl_rel_err": coefficient(1, True),
        }

    def set_metrics(self, test_sims: Sequence[int]) -> dict[str, SetMetric]:
        """Spearman correlations of predicted and true C_D, C_L over the test split."""

        def spearman(name: str, column: int) -> SetMetric:
            def metric(per_sample: dict[str, Tensor]) -> float | None:
                """ρ_s, or None where it is undefined (constant predictions, one sample)."""
                true = self.true[list(test_sims), column]
                rho = float(spearmanr(per_sample[name].numpy(), true).statistic)
                return rho if np.isfinite(rho) else None

            return metric

        return {"spearman_cd": spearman("cd", 0), "spearman_cl": spearman("cl", 1)}
