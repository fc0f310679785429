"""The published AirfRANS on-disk format: read with clear errors and a parse cache, write
atomically in the same layout.

Layout (``Dataset.zip`` of Bonnet et al. 2022, read by the ``airfrans`` package v0.1.5.1)::

    <root>/manifest.json                    seven lists of simulation names (MANIFEST_KEYS)
    <root>/<name>/<name>_internal.vtu       VTK XML unstructured grid of quads: the volume
    <root>/<name>/<name>_aerofoil.vtp       VTK XML polydata of 2-point lines: the wall
    <root>/<name>/<name>_freestream.vtp     VTK XML polydata of 2-point lines: the outer boundary

What is required and what is only checked: the official loader (``airfrans.dataset.load``,
which builds each simulation with ``airfrans.simulation.Simulation``) opens only
``_internal.vtu`` and ``_aerofoil.vtp``; it never opens ``_freestream.vtp``, and scoring
needs only the volume and the wall. So :func:`read_manifest` requires the manifest and
:func:`read_simulation` the internal and the aerofoil file (:data:`REQUIRED_PATCHES`) with
their arrays and cells as below, each raising :class:`~opbench.errors.DataError` for any
problem with them; the freestream file is only checked (present, readable, with points,
its point arrays, 2-point lines), and each problem found there, a missing file included,
is a :class:`FreestreamWarning` naming the file, after which the simulation is read as
usual.
:func:`write_simulation` always writes all three files with all their arrays.

Point arrays: internal ``U`` (N, 3; z = 0), ``p`` (kinematic, p/ρ, p∞ = 0), ``nut``,
``implicit_distance`` (= −distance to the wall); aerofoil ``U``, ``p``, ``nut``, ``Normals``
(N, 3, pointing into the airfoil); freestream ``U``, ``p``, ``nut``. The aerofoil's points
equal the volume's wall nodes bit for bit. The mesh is the z = 0.5 mid-plane of the
OpenFOAM slab 0 ≤ z ≤ 1 (the package samples boundary layers at z = 0.5), so files written
here put every point at z = 0.5. ``<name>`` = ``airFoil2D_SST_<U∞>_<AoA°>_<NACA digits>``.

What the official ``airfrans.dataset.load(root, task, train)`` returns per simulation, and
:meth:`Simulation.columns` reproduces bit for bit: a float64 (N, 12) array with columns
:data:`COLUMNS`, where

* the wall (``surface``) is the set of nodes with ``U[:, 0] == 0`` exactly;
* U∞ and α come from name tokens 2 and 3, α = AoA·π/180, inlet = U∞(cos α, sin α);
* distance = −``implicit_distance``;
* the normal of a wall node is the aerofoil ``Normals[:, :2]`` of the aerofoil point with
  identical coordinates (the first such point), and 0 off the wall;
* u, v = ``U[:, :2]``; p; ν_t = ``nut``; the surface flag as 0.0/1.0.

The official code reads cells as ``internal.cells.reshape(-1, 5)``, i.e. quads only, and
the aerofoil lines as ``lines.reshape(-1, 3)``; :func:`read_simulation` requires the same.

Parse cache: the arrays parsed from the internal and aerofoil files (in their on-disk
dtypes) and the problems found in the freestream file are kept as
``$OPBENCH_HOME/cache/airfrans/<name>-<key>.npz`` (no pickles; the problems as a string
array, warned again on every read), ``key`` a SHA-256 over the cache format version and,
for each of the three files, its resolved path, size, mtime_ns, ctime_ns and inode (for a
missing freestream file, its path and ``null``): any write through the file system changes
mtime and ctime, a replacement changes the inode, and ctime cannot be set back by the user,
so a stale entry is never used. The file contents are not hashed: that would cost a third
of a parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvista as pv
from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter, vtkXMLUnstructuredGridWriter

from opbench.data.airfrans.forces import WallStencil, wall_stencil
from opbench.data.airfrans.naca import parse_name
from opbench.data.cache import opbench_home
from opbench.errors import ConfigError, DataError
from opbench.io import atomic_path, write_json_atomic

MANIFEST = "manifest.json"
MANIFEST_KEYS = (
    "full_train",
    "full_test",
    "scarce_train",
    "reynolds_train",
    "reynolds_test",
    "aoa_train",
    "aoa_test",
)
PATCHES = ("internal", "aerofoil", "freestream")
REQUIRED_PATCHES = ("internal", "aerofoil")
"""The files the official loader reads and :func:`read_simulation` requires; the freestream
file is only checked, with a :class:`FreestreamWarning` for each problem."""
SUFFIXES = {"internal": ".vtu", "aerofoil": ".vtp", "freestream": ".vtp"}
POINT_ARRAYS = {
    "internal": ("U", "p", "nut", "implicit_distance"),
    "aerofoil": ("U", "p", "nut", "Normals"),
    "freestream": ("U", "p", "nut"),
}
COLUMNS = (
    "x",
    "y",
    "u_inf_x",
    "u_inf_y",
    "distance",
    "n_x",
    "n_y",
    "u",
    "v",
    "p",
    "nut",
    "surface",
)
"""The 12 columns of ``airfrans.dataset.load``: 7 inputs, 4 targets, the surface flag."""
FIELDS = ("U", "p", "nut", "implicit_distance")
"""Point arrays :func:`write_simulation` takes: ``U`` (N, 2), the others (N,)."""
Z_PLANE = 0.5
LAYOUT = "<root>/manifest.json and <root>/<name>/<name>_{internal.vtu,aerofoil.vtp,freestream.vtp}"
CACHE_VERSION = 2
_RAW_KEYS = (
    "points",
    "U",
    "p",
    "nut",
    "implicit_distance",
    "quads",
    "wall_nodes",
    "wall_segments",
    "wall_normals",
    "surface_aerofoil",
    "freestream_problems",
)


class FreestreamWarning(UserWarning):
    """A problem with a simulation's ``_freestream.vtp``, which is checked but not needed."""


@dataclass(frozen=True)
class Boundary:
    """A boundary patch as 2-point lines over volume-mesh nodes."""

    nodes: np.ndarray  # (B,) volume node of each patch point, in file order
    segments: np.ndarray  # (S, 2) indices into ``nodes``


@dataclass(frozen=True)
class Wall(Boundary):
    """The airfoil wall: a :class:`Boundary` with inward unit normals (B, 2)."""

    normals: np.ndarray


@dataclass(frozen=True)
class Simulation:
    """One simulation's arrays, float64 as the official loader returns them."""

    name: str
    u_inf: float  # m/s
    aoa_deg: float
    points: np.ndarray  # (N, 2)
    velocity: np.ndarray  # (N, 2)
    pressure: np.ndarray  # (N,) p/ρ
    nut: np.ndarray  # (N,)
    distance: np.ndarray  # (N,) −implicit_distance
    surface: np.ndarray  # (N,) bool, U_x == 0
    normals: np.ndarray  # (N, 2) inward on the wall, 0 elsewhere
    quads: np.ndarray  # (M, 4)
    wall: Wall  # in aerofoil-file order

    def columns(self) -> np.ndarray:
        """The (N, 12) float64 array of ``airfrans.dataset.load``, columns :data:`COLUMNS`."""
        alpha = self.aoa_deg * np.pi / 180
        inlet = np.array([np.cos(alpha), np.sin(alpha)]) * self.u_inf
        n = len(self.points)
        return np.concatenate(
            [
                self.points,
                np.broadcast_to(inlet, (n, 2)),
                self.distance[:, None],
                self.normals,
                self.velocity,
                self.pressure[:, None],
                self.nut[:, None],
                self.surface[:, None],
            ],
            axis=1,
        )

    def stencil(self) -> WallStencil:
        """The precomputed force integral of this mesh (see :mod:`.forces`)."""
        return wall_stencil(
            self.points, self.quads, self.wall.nodes, self.wall.segments, self.wall.normals
        )


def patch_paths(root: str | os.PathLike[str], name: str) -> dict[str, Path]:
    """The three VTK files of simulation ``name``, by patch."""
    directory = Path(root) / name
    return {patch: directory / f"{name}_{patch}{SUFFIXES[patch]}" for patch in PATCHES}


def read_manifest(root: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The seven name lists of ``<root>/manifest.json``."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: file not found. AirfRANS data must be laid out as {LAYOUT}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not valid JSON ({error}).") from error
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: expected a JSON object of name lists, got {type(manifest)}.")
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}; it must hold {list(MANIFEST_KEYS)}.")
    for key in MANIFEST_KEYS:
        names = manifest[key]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError(f"{path}: key {key!r} must be a list of simulation names.")
    return {key: manifest[key] for key in MANIFEST_KEYS}


def write_manifest(root: str | os.PathLike[str], lists: Mapping[str, Sequence[str]]) -> None:
    """Write ``<root>/manifest.json`` with exactly the seven lists, atomically."""
    if set(lists) != set(MANIFEST_KEYS):
        raise ConfigError(
            f"an AirfRANS manifest holds exactly {list(MANIFEST_KEYS)}; got {sorted(lists)}."
        )
    write_json_atomic(Path(root) / MANIFEST, {key: list(lists[key]) for key in MANIFEST_KEYS})


def read_simulation(root: str | os.PathLike[str], name: str) -> Simulation:
    """Read one simulation (through the parse cache).

    Every problem with the name, the internal or the aerofoil file is a DataError; each
    problem with the freestream file (missing, unreadable, without its point arrays or
    lines) is a :class:`FreestreamWarning`, as the official loader does not read that file.
    """
    try:
        case = parse_name(name)
    except ConfigError as error:
        raise DataError(f"{Path(root) / name}: {error}") from error
    paths = patch_paths(root, name)
    for patch in REQUIRED_PATCHES:
        if not paths[patch].is_file():
            raise DataError(
                f"{paths[patch]}: file not found. AirfRANS data must be laid out as {LAYOUT}."
            )
    cache = _cache_path(name, paths)
    raw = _load_cache(cache)
    if raw is None:
        raw = _parse(paths)
        with atomic_path(cache) as tmp, open(tmp, "wb") as file:
            np.savez(file, **raw)
    for problem in raw["freestream_problems"]:
        warnings.warn(
            f"{problem}; the simulation is read anyway (the official airfrans loader "
            "does not read the freestream file).",
            FreestreamWarning,
            stacklevel=2,
        )
    return _simulation(name, case.u_inf, case.aoa_deg, raw)


def _cache_path(name: str, paths: Mapping[str, Path]) -> Path:
    stamps: list[list[str | int | None]] = []
    for path in paths.values():
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            stamps.append([str(path.resolve()), None])  # a missing freestream file
            continue
        stamps.append(
            [str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        )
    text = json.dumps({"version": CACHE_VERSION, "files": stamps})
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    return opbench_home() / "cache" / "airfrans" / f"{name}-{key}.npz"


def _load_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when absent or unreadable (then the files are parsed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in _RAW_KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _open_vtk(path: Path) -> pv.DataSet:
    """The mesh in ``path``; a DataError if VTK cannot read it or it has no points."""
    with warnings.catch_warnings(record=True) as caught, pv.vtk_verbosity("off"):
        warnings.simplefilter("always")
        try:
            mesh = pv.read(path)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: not a readable VTK file ({error}).") from error
    if caught or mesh.n_points == 0:
        detail = caught[0].message if caught else "no points"
        raise DataError(f"{path}: not a readable VTK file ({detail}).")
    return mesh


def _missing_arrays(mesh: pv.DataSet, path: Path, patch: str) -> str | None:
    """What is wrong if ``mesh`` lacks some of the point arrays of ``patch``, else None."""
    missing = [key for key in POINT_ARRAYS[patch] if key not in mesh.point_data]
    if not missing:
        return None
    return (
        f"{path}: missing point array(s) {missing} (the file holds "
        f"{sorted(mesh.point_data.keys())})"
    )


def _read_vtk(path: Path, patch: str) -> pv.DataSet:
    """A required file's mesh with all the point arrays of ``patch``, else a DataError."""
    mesh = _open_vtk(path)
    missing = _missing_arrays(mesh, path, patch)
    if missing:
        raise DataError(f"{missing}.")
    return mesh


def _freestream_problems(path: Path) -> list[str]:
    """Everything wrong with the freestream file (empty when it is as written here)."""
    if not path.is_file():
        return [f"{path}: file not found"]
    try:
        mesh = _open_vtk(path)
    except DataError as error:
        return [str(error).removesuffix(".")]
    problems = [_missing_arrays(mesh, path, "freestream")]
    try:
        _segments(mesh, path)
    except DataError as error:
        problems.append(str(error).removesuffix("."))
    return [problem for problem in problems if problem]


def _point_array(mesh: pv.DataSet, path: Path, key: str, components: int) -> np.ndarray:
    """Point array ``key`` as (N,) for ``components`` = 0, else its first ``components``."""
    values = np.asarray(mesh.point_data[key])
    scalar_ok = components == 0 and values.ndim == 1
    vector_ok = components > 0 and values.ndim == 2 and values.shape[1] >= components
    if not (scalar_ok or vector_ok):
        expected = "(N,)" if components == 0 else f"(N, ≥{components})"
        raise DataError(
            f"{path}: point array {key!r} has shape {values.shape}, expected {expected}."
        )
    return values if components == 0 else values[:, :components]


def _quads(mesh: pv.DataSet, path: Path) -> np.ndarray:
    """The cells as (M, 4) node indices; the official code reads ``cells.reshape(-1, 5)``."""
    types = np.asarray(getattr(mesh, "celltypes", ()))
    if not isinstance(mesh, pv.UnstructuredGrid) or not (types == pv.CellType.QUAD).all():
        raise DataError(f"{path}: AirfRANS volume cells must all be quads.")
    return np.asarray(mesh.cell_connectivity, dtype=np.int64).reshape(-1, 4)


def _segments(mesh: pv.DataSet, path: Path) -> np.ndarray:
    """The lines as (S, 2) point indices; the official code reads ``lines.reshape(-1, 3)``."""
    flat = np.asarray(getattr(mesh, "lines", ()), dtype=np.int64)
    lines = flat.reshape(-1, 3) if flat.size % 3 == 0 else np.zeros((0, 3), dtype=np.int64)
    if mesh.n_cells != len(lines) or len(lines) == 0 or (lines[:, 0] != 2).any():
        raise DataError(f"{path}: AirfRANS boundary cells must all be 2-point lines.")
    return lines[:, 1:]


def _first_match(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Index of the first reference point with coordinates identical to each query point
    (−1 if none), as the official ``reorganize`` pairs points."""
    if len(reference) == 0:
        return np.full(len(query), -1)
    keys = reference[:, 0] + 1j * reference[:, 1]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    wanted = query[:, 0] + 1j * query[:, 1]
    position = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    return np.where(ordered[position] == wanted, order[position], -1)


def _parse(paths: Mapping[str, Path]) -> dict[str, np.ndarray]:
    """The arrays of the internal and aerofoil files in their on-disk dtypes, and the
    problems found in the freestream file (which is only checked)."""
    internal = _read_vtk(paths["internal"], "internal")
    aerofoil = _read_vtk(paths["aerofoil"], "aerofoil")
    inside, wall_path = paths["internal"], paths["aerofoil"]
    points = np.asarray(internal.points)[:, :2]
    velocity = _point_array(internal, inside, "U", 2)
    quads = _quads(internal, inside)
    wall_points = np.asarray(aerofoil.points)[:, :2]
    surface = np.flatnonzero(velocity[:, 0] == 0)
    surface_aerofoil = _first_match(points[surface], wall_points)
    if (surface_aerofoil < 0).any():
        x, y = points[surface[surface_aerofoil < 0][0]]
        raise DataError(
            f"{inside}: {(surface_aerofoil < 0).sum()} node(s) with U_x == 0 (the official "
            f"reader's wall test) have no point with identical coordinates in {wall_path}, "
            f"e.g. ({x}, {y})."
        )
    wall_in_surface = _first_match(wall_points, points[surface])
    if (wall_in_surface < 0).any():
        raise DataError(
            f"{wall_path}: {(wall_in_surface < 0).sum()} point(s) are not wall nodes "
            f"(U_x == 0) of {inside}."
        )
    wall_nodes = surface[wall_in_surface]
    in_cells = np.zeros(len(points), dtype=bool)
    in_cells[quads.ravel()] = True
    if not in_cells[wall_nodes].all():
        raise DataError(f"{inside}: some wall nodes belong to no quad.")
    return {
        "points": points,
        "U": velocity,
        "p": _point_array(internal, inside, "p", 0),
        "nut": _point_array(internal, inside, "nut", 0),
        "implicit_distance": _point_array(internal, inside, "implicit_distance", 0),
        "quads": quads,
        "wall_nodes": wall_nodes,
        "wall_segments": _segments(aerofoil, wall_path),
        "wall_normals": _point_array(aerofoil, wall_path, "Normals", 2),
        "surface_aerofoil": surface_aerofoil,
        "freestream_problems": np.array(_freestream_problems(paths["freestream"]), dtype=str),
    }


def _simulation(
    name: str, u_inf: float, aoa_deg: float, raw: Mapping[str, np.ndarray]
) -> Simulation:
    surface = raw["U"][:, 0] == 0
    wall_normals = raw["wall_normals"].astype(np.float64)
    normals = np.zeros((len(surface), 2))
    normals[surface] = wall_normals[raw["surface_aerofoil"]]
    return Simulation(
        name=name,
        u_inf=u_inf,
        aoa_deg=aoa_deg,
        points=raw["points"].astype(np.float64),
        velocity=raw["U"].astype(np.float64),
        pressure=raw["p"].astype(np.float64),
        nut=raw["nut"].astype(np.float64),
        distance=-raw["implicit_distance"].astype(np.float64),
        surface=surface,
        normals=normals,
        quads=raw["quads"],
        wall=Wall(raw["wall_nodes"], raw["wall_segments"], wall_normals),
    )


def write_simulation(
    root: str | os.PathLike[str],
    name: str,
    points: np.ndarray,
    quads: np.ndarray,
    fields: Mapping[str, np.ndarray],
    wall: Wall,
    freestream: Boundary,
) -> None:
    """Write the three VTK files of ``name`` under ``root`` in the published layout.

    ``points`` (N, 2); ``quads`` (M, 4) node indices; ``fields`` the volume arrays
    :data:`FIELDS` (``U`` (N, 2), ``implicit_distance`` = −distance ≤ 0). The patches take
    their U, p, nut from the volume at their nodes. ``U`` must be exactly 0 at the wall
    nodes and ``U_x`` nowhere else, since that is how the official reader finds the wall.
    Arrays and points are written as float64.
    """
    xy, quads, fields = _checked_volume(points, quads, fields)
    _check_patch("wall", wall, len(xy))
    _check_patch("freestream", freestream, len(xy))
    if np.shape(wall.normals) != (len(wall.nodes), 2):
        raise ConfigError(f"wall normals must have shape ({len(wall.nodes)}, 2).")
    _check_wall_velocity(fields["U"], wall.nodes)
    points3 = np.column_stack([xy, np.full(len(xy), Z_PLANE)])
    velocity3 = np.column_stack([fields["U"], np.zeros(len(xy))])
    volume = {"U": velocity3, "p": fields["p"], "nut": fields["nut"]}
    paths = patch_paths(root, name)
    cells = np.column_stack([np.full(len(quads), 4), quads]).ravel()
    grid = pv.UnstructuredGrid(cells, np.full(len(quads), pv.CellType.QUAD, np.uint8), points3)
    for key, values in {**volume, "implicit_distance": fields["implicit_distance"]}.items():
        grid.point_data[key] = values
    _write_vtk(grid, paths["internal"], vtkXMLUnstructuredGridWriter)
    normals3 = np.column_stack([wall.normals, np.zeros(len(wall.nodes))])
    aerofoil = _line_mesh(points3, wall, volume)
    aerofoil.point_data["Normals"] = normals3
    _write_vtk(aerofoil, paths["aerofoil"], vtkXMLPolyDataWriter)
    _write_vtk(_line_mesh(points3, freestream, volume), paths["freestream"], vtkXMLPolyDataWriter)


def _checked_volume(
    points: np.ndarray, quads: np.ndarray, fields: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        raise ConfigError(f"points must be a finite (N, 2) array, got shape {xy.shape}.")
    quads = _checked_indices("quads", quads, (4,), len(xy))
    if set(fields) != set(FIELDS):
        raise ConfigError(f"fields must be exactly {list(FIELDS)}, got {sorted(fields)}.")
    arrays = {key: np.asarray(values, dtype=np.float64) for key, values in fields.items()}
    for key, values in arrays.items():
        shape = (len(xy), 2) if key == "U" else (len(xy),)
        if values.shape != shape or not np.isfinite(values).all():
            raise ConfigError(
                f"field {key!r} must be finite with shape {shape}, got {values.shape}."
            )
    return xy, quads, arrays


def _checked_indices(
    label: str, indices: np.ndarray, trailing: tuple[int, ...], bound: int
) -> np.ndarray:
    """``indices`` as a non-empty int64 (K, *trailing) array with values below ``bound``."""
    array = np.asarray(indices)
    ok = array.ndim == 1 + len(trailing) and array.shape[1:] == trailing and array.size > 0
    ok = ok and np.issubdtype(array.dtype, np.integer)
    if not ok or array.min() < 0 or array.max() >= bound:
        shape = ", ".join(["K", *map(str, trailing)])
        raise ConfigError(f"{label} must be a non-empty ({shape}) integer array below {bound}.")
    return array.astype(np.int64)


def _check_patch(label: str, patch: Boundary, n_points: int) -> None:
    nodes = _checked_indices(f"{label} nodes", patch.nodes, (), n_points)
    _checked_indices(f"{label} segments", patch.segments, (2,), len(nodes))


def _check_wall_velocity(velocity: np.ndarray, wall_nodes: np.ndarray) -> None:
    on_wall = np.zeros(len(velocity), dtype=bool)
    on_wall[wall_nodes] = True
    if (velocity[on_wall] != 0).any():
        raise ConfigError("U must be exactly 0 at every wall node (no-slip marks the wall).")
    stray = np.flatnonzero(~on_wall & (velocity[:, 0] == 0))
    if stray.size:
        raise ConfigError(
            f"{stray.size} node(s) off the wall have U_x == 0 exactly, e.g. node {stray[0]}; "
            "the official reader would take them for wall nodes."
        )


def _line_mesh(
    points3: np.ndarray, patch: Boundary, volume: Mapping[str, np.ndarray]
) -> pv.PolyData:
    nodes = np.asarray(patch.nodes, dtype=np.int64)
    segments = np.asarray(patch.segments, dtype=np.int64)
    lines = np.column_stack([np.full(len(segments), 2), segments]).ravel()
    mesh = pv.PolyData(points3[nodes], lines=lines)
    for key, values in volume.items():
        mesh.point_data[key] = values[nodes]
    return mesh


def _write_vtk(
    mesh: pv.DataSet,
    path: Path,
    writer_type: type[vtkXMLUnstructuredGridWriter] | type[vtkXMLPolyDataWriter],
) -> None:
    writer = writer_type()
    writer.SetInputData(mesh)
    writer.SetDataModeToBinary()
    with atomic_path(path) as tmp:
        writer.SetFileName(str(tmp))
        if writer.Write() != 1:
            raise OSError(f"{path}: VTK could not write the file.")
