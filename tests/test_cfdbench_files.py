"""CFDBench published layout: reading, padding, masks (reference bugs fixed), splits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from opbench.data import DATASETS
from opbench.data.cfdbench.configs import parse_config
from opbench.data.cfdbench.files import case_dirs, read_case
from opbench.data.cfdbench.problems import PROBLEMS
from opbench.data.cfdbench.samples import (
    ParamScaler,
    autoregressive_pairs,
    case_frames,
    split_cases,
    steady_frame,
)
from opbench.errors import ConfigError, DataError

CYLINDER = {
    "vel_in": 1.0,
    "density": 10.0,
    "viscosity": 0.01,
    "radius": 0.05,
    "x_min": -0.2,
    "x_max": 0.6,
    "y_min": -0.1,
    "y_max": 0.3,
}
DAM = {
    "case_no": 0.0,
    "velocity": 0.05,
    "density": 100.0,
    "viscosity": 0.1,
    "barrier_height": 0.1,
    "barrier_width": 0.05,
    "height": 0.4,
    "width": 1.5,
    "dx": 0.0234375,
    "dy": 0.00625,
}


def write_case(folder: Path, u: np.ndarray, v: np.ndarray, case: dict) -> None:
    """A case in the published layout (what the Hugging Face files hold)."""
    folder.mkdir(parents=True)
    np.save(folder / "u.npy", u)
    np.save(folder / "v.npy", v)
    (folder / "case.json").write_text(json.dumps(case))


def published_tree(root: Path, problem: str, counts: dict[str, int], case: dict, shape=(8, 12)):
    """``root/<problem>/<subset>/caseNNNN`` with varying T and dtypes; u = case number + t."""
    for subset, n in counts.items():
        for i in range(n):
            frames = 3 + i % 3
            dtype = np.float32 if i % 2 else np.float64
            u = (np.ones((frames, *shape)) * (i + np.arange(frames)[:, None, None])).astype(dtype)
            write_case(root / problem / subset / f"case{i:04d}", u, 0.5 * u, case)
    return root


def test_cases_sort_by_number_not_string(tmp_path):
    for number in (10, 9, 100, 2):
        write_case(tmp_path / "bc" / f"case{number}", np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), {})
    (tmp_path / "bc" / "notes").mkdir()
    assert [p.name for p in case_dirs(tmp_path, "bc")] == ["case2", "case9", "case10", "case100"]


def test_split_is_the_reference_shuffle_of_prop_bc_geo(tmp_path):
    counts = {"bc": 7, "prop": 11, "geo": 4}
    root = published_tree(tmp_path, "cavity", counts, {})
    config = parse_config("cavity")
    files = [read_case(p, s) for s in config.split_order for p in case_dirs(root / "cavity", s)]
    split = split_cases(files)

    # The reference code, literally: sorted folders per subset in the order prop, bc, geo,
    # then the global random module seeded with 0.
    expected = []
    for name in ("prop", "bc", "geo"):
        expected += sorted((root / "cavity" / name).glob("case*"), key=lambda p: int(p.name[4:]))
    random.seed(0)
    random.shuffle(expected)
    n = len(expected)
    n_train, n_val = round(0.8 * n), round(0.1 * n)
    assert [f.path for f in split["train"]] == expected[:n_train]
    assert [f.path for f in split["val"]] == expected[n_train : n_train + n_val]
    assert [f.path for f in split["test"]] == expected[n_train + n_val :]
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (18, 2, 2)


def test_cylinder_padding_and_mask_at_the_true_centre(tmp_path):
    shape = (40, 80)  # 0.4 m × 0.8 m: 1 cm cells
    u = np.full((2, *shape), 0.7)
    write_case(tmp_path / "case0000", u, np.zeros_like(u), CYLINDER)
    frames = case_frames(read_case(tmp_path / "case0000", "bc"), PROBLEMS.get("cylinder"))
    assert frames.u.shape == (2, 42, 81) and frames.mask.shape == (42, 81)
    # Inlet column: u = vel_in, v = 0, mask 0; walls top and bottom: zeros, mask 0.
    assert np.all(frames.u[:, 1:-1, 0] == 1.0) and np.all(frames.mask[:, 0] == 0)
    assert np.all(frames.u[:, [0, -1], :] == 0) and np.all(frames.mask[[0, -1]] == 0)
    # The disc (r = 5 cm) is centred at the origin, i.e. (−x_min, −y_min) = (0.2, 0.1) m from
    # the lower-left corner: frame cell (row 10, column 20) — not at (0.5, 0.5).
    solid = frames.mask[1:-1, 1:] == 0
    rows, cols = np.nonzero(solid)
    assert rows.mean() == pytest.approx(9.5, abs=0.6) and cols.mean() == pytest.approx(
        19.5, abs=0.6
    )
    assert solid.sum() == pytest.approx(np.pi * 5**2, rel=0.15)
    assert np.all(frames.u[:, 1:-1, 1:][:, solid] == 0)
    assert frames.params.tolist() == [1.0, 10.0, 0.01, 0.4, 0.8, 0.2, 0.1, 0.05]


def test_dam_barrier_is_masked_and_inlet_only_below_it(tmp_path):
    shape = (64, 64)
    u = np.ones((2, *shape))
    write_case(tmp_path / "case0000", u, u, DAM)
    frames = case_frames(read_case(tmp_path / "case0000", "bc"), PROBLEMS.get("dam"))
    solid = frames.mask[1:-1, 1:] == 0
    # barrier [0.5, 0.55] × [0, 0.1] on 0.0234 m × 0.00625 m cells: columns 21–22, rows 0–15
    rows, cols = np.nonzero(solid)
    assert set(cols) == {21, 22} and rows.min() == 0 and rows.max() == 15
    inlet = frames.u[0, 1:-1, 0]
    assert np.all(inlet[:16] == 0.05) and np.all(inlet[16:] == 0)


def test_cavity_is_not_padded(tmp_path):
    root = published_tree(
        tmp_path,
        "cavity",
        {"bc": 1},
        {"vel_top": 1, "density": 1, "viscosity": 1, "height": 1, "width": 1},
    )
    frames = case_frames(read_case(root / "cavity/bc/case0000", "bc"), PROBLEMS.get("cavity"))
    assert frames.u.shape == (3, 8, 12) and np.all(frames.mask == 1)


def test_steady_state_cut_off_drops_the_rest_of_a_case(tmp_path):
    t = np.arange(10, dtype=float)
    speed = np.minimum(t, 4.0)  # changes by 1 per frame, then is steady from frame 4
    u = np.ones((10, 4, 4)) * speed[:, None, None]
    write_case(
        tmp_path / "case0000",
        u,
        np.zeros_like(u),
        {"vel_top": 1, "density": 1, "viscosity": 1, "height": 1, "width": 1},
    )
    frames = case_frames(read_case(tmp_path / "case0000", "bc"), PROBLEMS.get("cavity"))
    assert steady_frame(frames, 1, 1e-3) == 4
    pairs = autoregressive_pairs([frames], 1, 1e-3, ParamScaler.fit([frames]), 0.1)
    assert (pairs.kept, pairs.dropped) == (4, 5)
    x, y = pairs.samples.tensors["x"], pairs.samples.tensors["y"]
    assert x.shape == (4, 3 + 5, 4, 4) and y.shape == (4, 2, 4, 4)
    assert np.allclose(y[:, 0, 0, 0].numpy(), [1, 2, 3, 4])


def test_bad_files_give_clear_errors(tmp_path):
    good = np.zeros((3, 4, 4))
    write_case(tmp_path / "case0000", good, np.zeros((3, 4, 5)), {})
    with pytest.raises(DataError, match="differ in shape"):
        read_case(tmp_path / "case0000", "bc")
    write_case(tmp_path / "case0001", good.astype(np.int64), good, {})
    with pytest.raises(DataError, match="dtype"):
        read_case(tmp_path / "case0001", "bc")
    (tmp_path / "case0002").mkdir()
    (tmp_path / "case0002" / "case.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_case(tmp_path / "case0002", "bc")
    write_case(tmp_path / "case0003", good, good, {"vel_in": 1.0})
    (tmp_path / "case0003" / "u.npy").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable"):
        read_case(tmp_path / "case0003", "bc")
    write_case(tmp_path / "case0004", good, good, {"vel_top": 1.0})
    with pytest.raises(DataError, match="lacks"):
        case_frames(read_case(tmp_path / "case0004", "bc"), PROBLEMS.get("cavity"))
    nan = good.copy()
    nan[1, 2, 2] = np.nan
    write_case(
        tmp_path / "case0005",
        nan,
        good,
        {"vel_top": 1, "density": 1, "viscosity": 1, "height": 1, "width": 1},
    )
    with pytest.raises(DataError, match=r"non-finite.*frame 1"):
        case_frames(read_case(tmp_path / "case0005", "bc"), PROBLEMS.get("cavity"))


def test_config_grammar():
    assert parse_config("cylinder/prop+bc").name == "cylinder/bc+prop"
    assert parse_config("cylinder/prop+bc").split_order == ("prop", "bc")
    assert parse_config("dam").subsets == ("bc", "prop", "geo")
    assert parse_config("dam/bc+prop+geo").name == "dam"
    with pytest.raises(ConfigError, match="cavity"):
        parse_config("cavty/bc")
    with pytest.raises(ConfigError, match="geo"):
        parse_config("cavity/gео")
    with pytest.raises(ConfigError, match="twice"):
        parse_config("cavity/bc+bc")


def test_a_coarser_frame_grid_gets_a_table_note():
    family = DATASETS.get("cfdbench")
    note = family.table_note("cavity/bc@32", generated=True)
    assert note.startswith("Frames on a 32² grid, against the published 64²")
    assert family.table_note("cavity/bc", generated=True) is None
    assert family.table_note("cavity/bc@64", generated=True) is None
