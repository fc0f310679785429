"""Bicubic resampling between grids of the unit square: the interpolation yardstick of
resolution transfer and the coarse-grid solver's way back to the fine grid.

Both layouts are read by bicubic spline interpolation (``scipy.interpolate.
RectBivariateSpline``, degree 3, s = 0: it passes through the samples and is fourth-order
accurate for smooth fields; torch's ``bicubic`` is Keys' kernel with a = −0.75, which does
not even reproduce a linear ramp) from the source grid extended by two points beyond each
end of each axis:

* **vertex** (ConDiff): g×g interior vertices of an (g+1)-cell grid, at (i + 1)/(g + 1).
  The cubic kernel next to the boundary needs two points beyond the last interior one, so
  each axis is extended by the boundary point b and a ghost point e: b = 0 for a
  zero-Dirichlet field, else the linear extrapolation 2v₁ − v₂; e = 2b − v₁ (linear through
  the boundary, which makes a zero-Dirichlet field odd about it). Then ``F.grid_sample``
  (bicubic, ``align_corners=True``) reads the extended grid at the target's vertices.
  Shared vertices keep their values exactly.
* **cell** (CFDBench frames): n cell centres at (i + ½)/n, extended by two ghost centres
  per end: the odd reflection about the wall (−v₀, −v₁) for a field that vanishes there
  (``zero``), else the linear extrapolation (2v₀ − v₁, 3v₀ − 2v₁).
"""

from typing import Literal

import numpy as np
import torch
from scipy.interpolate import RectBivariateSpline
from torch import Tensor

Layout = Literal["vertex", "cell"]
Boundary = Literal["zero", "edge"]


def resample(
    values: Tensor, shape: tuple[int, int], layout: Layout, boundary: Boundary = "edge"
) -> Tensor:
    """(B, C, H, W) values on one grid → (B, C, *shape) on another, bicubic (module doc);
    ``boundary``: ``zero`` for a field that vanishes on the boundary, else ``edge``."""
    if tuple(values.shape[-2:]) == tuple(shape):
        return values
    extended = _extend(_extend(values, -2, layout, boundary), -1, layout, boundary)
    rows, cols = (
        _extended_index(n_out, n_in, layout)
        for n_out, n_in in zip(shape, values.shape[-2:], strict=True)
    )
    planes = extended.detach().cpu().double().numpy().reshape(-1, *extended.shape[-2:])
    knots = [np.arange(n, dtype=np.float64) for n in extended.shape[-2:]]
    out = np.stack(
        [RectBivariateSpline(*knots, plane, kx=3, ky=3, s=0)(rows, cols) for plane in planes]
    )
    return torch.from_numpy(out.reshape(*values.shape[:-2], *shape)).to(values)


def _extended_index(n_out: int, n_in: int, layout: Layout) -> np.ndarray:
    """The target points of one axis as indices of the extended source axis."""
    i = np.arange(n_out)
    if layout == "vertex":  # x = (i + 1)/(n + 1); extended index m = x(n_in + 1) + 1
        return (i + 1) / (n_out + 1) * (n_in + 1) + 1
    return (i + 0.5) / n_out * n_in + 1.5  # x = (i + ½)/n; m = x·n_in − ½ + 2


def _extend(values: Tensor, axis: int, layout: Layout, boundary: Boundary) -> Tensor:
    """``values`` with two points added at both ends of ``axis`` (module doc)."""
    first, second = values.narrow(axis, 0, 1), values.narrow(axis, 1, 1)
    last, before = values.narrow(axis, -1, 1), values.narrow(axis, -2, 1)
    if layout == "cell":
        if boundary == "zero":
            low, high = [-second, -first], [-last, -before]
        else:
            low = [3 * first - 2 * second, 2 * first - second]
            high = [2 * last - before, 3 * last - 2 * before]
        return torch.cat([*low, values, *high], dim=axis)
    if boundary == "zero":
        low, high = torch.zeros_like(first), torch.zeros_like(last)
    else:
        low, high = 2 * first - second, 2 * last - before
    return torch.cat([2 * low - first, low, values, high, 2 * high - last], dim=axis)
