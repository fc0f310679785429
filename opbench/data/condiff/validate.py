"""``opbench data validate`` for ConDiff: format checks, then the physics.

For each of the train and test files of ``data_dir/<name>/``: keys, shapes, dtypes and
finiteness (:func:`~opbench.data.condiff.files.read_split`); then the relative residual
‖A(k)x − rhs‖₂ / ‖rhs‖₂ of every sample in float64, with k cell-centred and the vectors
reshaped to grids exactly as the loader does (Fortran order). A file fails above
:data:`RESIDUAL_TOLERANCE`: the published files solve to ≈1e-14, and a transposed
orientation gives residuals of order one. The contrast range of k and the number of
samples outside the config's window are reported as information only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from opbench.data.base import ValidationReport
from opbench.data.condiff.configs import ConDiffConfig, parse_config
from opbench.data.condiff.files import SPLITS, RawSplit, read_split, split_path
from opbench.data.condiff.fv import residual_torch, vector_to_grid
from opbench.errors import DataError

RESIDUAL_TOLERANCE = 1e-8
CHUNK = 256
"""Samples per batched residual evaluation."""


def cell_coefficients(raw: RawSplit, grid: int) -> np.ndarray:
    """k on cells, (N, g+1, g+1); ones for Poisson files (k ≡ 1)."""
    return np.ones((len(raw), grid + 1, grid + 1)) if raw.k is None else raw.k


def residuals(raw: RawSplit, grid: int) -> np.ndarray:
    """Relative residual of every sample of ``raw`` in float64, shape (N,)."""
    k = cell_coefficients(raw, grid)
    out = [
        residual_torch(
            torch.from_numpy(k[start : start + CHUNK]),
            torch.from_numpy(vector_to_grid(raw.x[start : start + CHUNK], grid)),
            torch.from_numpy(vector_to_grid(raw.rhs[start : start + CHUNK], grid)),
        ).numpy()
        for start in range(0, len(raw), CHUNK)
    ]
    return np.concatenate(out) if out else np.empty(0)


def _contrast_stats(raw: RawSplit, config: ConDiffConfig) -> dict[str, Any]:
    if raw.k is None or len(raw) == 0:
        return {}
    contrast = raw.k.max(axis=(1, 2)) / raw.k.min(axis=(1, 2))
    low, high = config.contrast_window
    outside = int(np.count_nonzero((contrast < low) | (contrast > high)))
    return {
        "contrast_min": float(contrast.min()),
        "contrast_max": float(contrast.max()),
        "outside_window": outside,
    }


def _check_file(path: Path, config: ConDiffConfig) -> tuple[bool, list[str], dict[str, Any]]:
    try:
        raw = read_split(path, config)
    except DataError as error:
        return False, [f"FAIL {error}"], {"error": str(error)}
    lines = [f"ok   {path.name}: {len(raw)} samples, keys/shapes/dtypes/finite values"]
    values = residuals(raw, config.grid)
    worst = float(values.max()) if values.size else 0.0
    stats: dict[str, Any] = {"n_samples": len(raw), "worst_residual": worst}
    ok = worst <= RESIDUAL_TOLERANCE
    if values.size:
        verdict = "ok  " if ok else "FAIL"
        lines.append(
            f"{verdict} {path.name}: worst relative residual ‖A(k)x − rhs‖/‖rhs‖ = {worst:.2e} "
            f"(sample {int(values.argmax())}; tolerance {RESIDUAL_TOLERANCE:.0e})"
        )
        if not ok:
            lines.append(
                "     residuals this large usually mean a transposed orientation: vectors "
                "must be in column-major (Fortran) order, index i + g·j aligned with k[i, j]."
            )
    contrast = _contrast_stats(raw, config)
    if contrast:
        low, high = config.contrast_window
        lines.append(
            f"info {path.name}: contrast range [{contrast['contrast_min']:.4g}, "
            f"{contrast['contrast_max']:.4g}]; {contrast['outside_window']} sample(s) outside "
            f"the window [{low:g}, {high:g}]"
        )
    return ok, lines, {**stats, **contrast}


def validate(config: ConDiffConfig | str, data_dir: Path) -> ValidationReport:
    """Validate ``data_dir/<name>/<name>_{train,test}.h5`` (format and physics)."""
    config = parse_config(config) if isinstance(config, str) else config
    dataset_dir = Path(data_dir) / config.name
    ok, lines, files = True, [f"ConDiff {config.name} in {dataset_dir}"], {}
    for split in SPLITS:
        file_ok, file_lines, files[split] = _check_file(
            split_path(dataset_dir, config.name, split), config
        )
        ok &= file_ok
        lines += file_lines
    worsts = [stats["worst_residual"] for stats in files.values() if "worst_residual" in stats]
    worst = max(worsts) if worsts else None
    overall = "n/a" if worst is None else f"{worst:.2e}"
    lines.append(f"{'PASS' if ok else 'FAIL'}: worst relative residual overall {overall}")
    return ValidationReport(ok=ok, lines=lines, summary={"worst_residual": worst, "files": files})
