"""ConDiff files: the published layout, its orientation, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from opbench.data.condiff import fv
from opbench.data.condiff.configs import parse_config
from opbench.data.condiff.files import read_split, split_path, split_writer, write_split
from opbench.data.condiff.validate import validate
from opbench.errors import DataError
from opbench.io import sha256_file

G = 8
NAME = f"cubic0.1_grid{G}"
CONFIG = parse_config(NAME)


def reference_matrix(k: np.ndarray) -> np.ndarray:
    """Dense FV matrix built vertex by vertex from the spec's description (independent code).

    Vertex (i, j) is the corner shared by cells (i..i+1, j..j+1); each of its four faces
    carries the mean of the two cells along it; unknown index p = i + g·j; scale (g+1)².
    """
    g = k.shape[0] - 1
    scale = (g + 1) ** 2
    matrix = np.zeros((g * g, g * g))
    for j in range(g):
        for i in range(g):
            faces = {
                (i - 1, j): 0.5 * (k[i, j] + k[i, j + 1]),
                (i + 1, j): 0.5 * (k[i + 1, j] + k[i + 1, j + 1]),
                (i, j - 1): 0.5 * (k[i, j] + k[i + 1, j]),
                (i, j + 1): 0.5 * (k[i, j + 1] + k[i + 1, j + 1]),
            }
            for (a, b), coefficient in faces.items():
                matrix[i + g * j, i + g * j] += scale * coefficient
                if 0 <= a < g and 0 <= b < g:
                    matrix[i + g * j, a + g * b] = -scale * coefficient
    return matrix


def original_style_samples(n: int, transpose_x: bool = False) -> dict[str, np.ndarray]:
    """Samples as the original generator stores them, with a strongly non-symmetric k."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.0, 4.0, G + 1)[:, None]  # k grows e^4-fold along axis 0 only
    ks, rhss, xs = [], [], []
    for _ in range(n):
        k = np.exp(ramp + 0.3 * rng.standard_normal((G + 1, G + 1)))
        rhs_grid = rng.standard_normal((G, G))
        rhs = rhs_grid.flatten(order="F")
        x_grid = np.linalg.solve(reference_matrix(k), rhs).reshape(G, G, order="F")
        ks.append(k)
        rhss.append(rhs)
        xs.append(x_grid.flatten(order="C" if transpose_x else "F"))
    return {"k": np.array(ks), "rhs": np.array(rhss), "x": np.array(xs)}


def write_h5(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Plain h5py writes, as the original generator does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        for key, values in arrays.items():
            file.create_dataset(key, data=values)


def write_dataset(root: Path, arrays: dict[str, np.ndarray]) -> Path:
    for split in ("train", "test"):
        write_h5(split_path(root / NAME, NAME, split), arrays)
    return root


def test_reference_matrix_agrees_with_vectorised_assembly() -> None:
    k = original_style_samples(1)["k"][0]
    assert np.allclose(fv.assemble(k).toarray(), reference_matrix(k), rtol=1e-14, atol=0)


def test_original_layout_validates_and_loads_aligned(tmp_path: Path) -> None:
    arrays = original_style_samples(3)
    report = validate(CONFIG, write_dataset(tmp_path, arrays))
    assert report.ok, report.lines
    assert report.summary["worst_residual"] < 1e-8
    raw = read_split(split_path(tmp_path / NAME, NAME, "test"), CONFIG)
    assert np.array_equal(raw.x, arrays["x"])
    grid = fv.vector_to_grid(raw.x, G)
    assert np.array_equal(grid[1], arrays["x"][1].reshape(G, G, order="F"))


def test_transposed_twin_fails_validation(tmp_path: Path) -> None:
    arrays = original_style_samples(3, transpose_x=True)
    report = validate(CONFIG, write_dataset(tmp_path, arrays))
    assert not report.ok
    assert report.summary["worst_residual"] > 1e-2
    assert any("orientation" in line for line in report.lines)


def test_write_split_is_plain_and_atomic(tmp_path: Path) -> None:
    arrays = original_style_samples(2)
    path = split_path(tmp_path / NAME, NAME, "train")
    write_split(path, arrays["k"], arrays["rhs"], arrays["x"])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left
    with h5py.File(path, "r") as file:
        assert sorted(file) == ["k", "rhs", "x"]
        for key in file:
            dataset = file[key]
            assert dataset.dtype == np.float64
            assert dataset.chunks is None and dataset.compression is None
            assert len(dataset.attrs) == 0
        assert len(file.attrs) == 0
    raw = read_split(path, CONFIG)
    assert np.array_equal(raw.k, arrays["k"]) and np.array_equal(raw.rhs, arrays["rhs"])


def test_a_file_written_in_pieces_is_the_file_written_whole(tmp_path: Path) -> None:
    """The generator writes each chunk as it is solved: the bytes (and so the dataset
    fingerprint) are those of one whole write."""
    arrays = original_style_samples(5)
    whole, pieces = tmp_path / "whole.h5", tmp_path / "pieces.h5"
    write_split(whole, arrays["k"], arrays["rhs"], arrays["x"])
    with split_writer(pieces, 5, G, with_k=True) as write:
        for start in (3, 0):  # out of order
            rows = slice(start, start + 3 if start == 0 else 5)
            write(start, arrays["k"][rows], arrays["rhs"][rows], arrays["x"][rows])
    assert sha256_file(whole) == sha256_file(pieces)


def test_empty_and_poisson_files(tmp_path: Path) -> None:
    poisson = parse_config(f"poisson_grid{G}")
    path = tmp_path / "p.h5"
    write_split(path, None, np.zeros((0, G * G)), np.zeros((0, G * G)))
    with pytest.raises(DataError, match="holds no samples"):
        read_split(path, poisson)
    raw = read_split(path, poisson, allow_empty=True)
    assert raw.k is None and len(raw) == 0 and raw.x.shape == (0, G * G)
    with h5py.File(path, "r") as file:
        assert "k" not in file
    with pytest.raises(DataError, match=r"missing dataset 'k'"):
        read_split(path, CONFIG)  # a diffusion config needs k


@pytest.fixture
def good() -> dict[str, np.ndarray]:
    return original_style_samples(3)


def assert_error(path: Path, *fragments: str) -> None:
    with pytest.raises(DataError) as info:
        read_split(path, CONFIG)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_explains_layout(tmp_path: Path) -> None:
    assert_error(tmp_path / NAME / f"{NAME}_train.h5", "not found", "<root>/<name>/<name>_train.h5")


def test_missing_key(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    write_h5(path, {"k": good["k"], "rhs": good["rhs"]})
    assert_error(path, "'x'", "missing")


def test_wrong_shape(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    write_h5(path, {**good, "rhs": good["rhs"].reshape(3, G, G)})
    assert_error(path, "'rhs'", f"(3, {G}, {G})", f"expected (N, {G * G})")


def test_wrong_dtype(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    write_h5(path, {**good, "x": good["x"].astype(np.float32)})
    assert_error(path, "'x'", "float32", "float64")


def test_non_finite_names_the_sample(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    x = good["x"].copy()
    x[2, 5] = np.nan
    write_h5(path, {**good, "x": x})
    assert_error(path, "'x'", "non-finite", "sample 2")


def test_inconsistent_sample_counts(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    write_h5(path, {**good, "k": good["k"][:2]})
    assert_error(path, "disagree", "'k': 2", "'rhs': 3")


def test_corrupt_file(tmp_path: Path, good: dict[str, np.ndarray]) -> None:
    path = tmp_path / "f.h5"
    write_h5(path, good)
    data = path.read_bytes()
    path.write_bytes(b"garbage!" * 8 + data[64:])  # destroys the HDF5 signature
    assert_error(path, "not a readable HDF5 file")


def test_validate_reports_bad_files_without_raising(tmp_path: Path) -> None:
    report = validate(CONFIG, tmp_path)
    assert not report.ok
    assert any("not found" in line for line in report.lines)
