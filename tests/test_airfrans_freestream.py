"""The ``_freestream.vtp`` file is not needed to read a simulation, as in the official loader.

``airfrans.dataset.load`` builds each simulation with ``airfrans.Simulation``, which reads
only ``<name>_internal.vtu`` and ``<name>_aerofoil.vtp``; ``read_simulation`` must then read
a simulation whose freestream file lacks its point arrays, is corrupt or is missing, with a
warning that names the file and the problem instead of an error, and the same columns.
"""

import shutil
import warnings

import airfrans
import numpy as np
import pytest
import pyvista

from opbench.data.airfrans import files
from opbench.data.airfrans.files import read_manifest, read_simulation
from opbench.data.airfrans.generate import GenerationOptions, generate
from opbench.errors import DataError


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("airfrans_generated")
    options = GenerationOptions(n_train=2, n_test=1, n_around=40, n_normal=8, seed=3)
    generate(root, options, workers=1)
    return root


@pytest.fixture
def scratch(generated, tmp_path):
    """A private copy of the generated data, to damage, and the first training name."""
    root = tmp_path / "scratch"
    shutil.copytree(generated, root)
    return root, read_manifest(root)["full_train"][0]


def read_quietly(root, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_simulation(root, name)


def strip_point_arrays(path):
    """Replace ``path`` by polydata with the same points and lines and no point arrays."""
    original = pyvista.read(path)
    assert {"U", "p", "nut"} <= set(original.point_data)
    bare = pyvista.PolyData(np.asarray(original.points), lines=np.asarray(original.lines))
    bare.save(path)
    assert len(pyvista.read(path).point_data) == 0


def test_freestream_without_point_arrays_is_read_with_a_warning(scratch, monkeypatch):
    root, name = scratch
    before = read_quietly(root, name)
    path = files.patch_paths(root, name)["freestream"]
    strip_point_arrays(path)
    pattern = rf"{path.name}: missing point array\(s\) \['U', 'p', 'nut'\]"
    with pytest.warns(UserWarning, match=pattern):
        after = read_simulation(root, name)
    np.testing.assert_array_equal(after.columns(), before.columns())
    np.testing.assert_array_equal(after.quads, before.quads)
    np.testing.assert_array_equal(after.wall.nodes, before.wall.nodes)
    # the parse cache keeps the warning: a cached read warns the same without VTK

    def no_vtk(*args, **kwargs):
        raise AssertionError("pyvista.read called despite the cache")

    with monkeypatch.context() as patch:
        patch.setattr(pyvista, "read", no_vtk)
        with pytest.warns(UserWarning, match=pattern):
            cached = read_simulation(root, name)
    np.testing.assert_array_equal(cached.columns(), before.columns())
    # the official loader never opens the freestream file: same columns, bit for bit
    data, names = airfrans.dataset.load(str(root), "full", train=True)
    np.testing.assert_array_equal(data[names.index(name)], after.columns())


def test_missing_or_corrupt_freestream_file_only_warns(scratch):
    root, name = scratch
    before = read_quietly(root, name)
    paths = files.patch_paths(root, name)
    paths["freestream"].write_bytes(paths["freestream"].read_bytes()[:300])
    with pytest.warns(UserWarning, match=rf"{paths['freestream'].name}: not a readable VTK"):
        corrupt = read_simulation(root, name)
    np.testing.assert_array_equal(corrupt.columns(), before.columns())
    paths["freestream"].unlink()
    with pytest.warns(UserWarning, match=rf"{paths['freestream'].name}: file not found"):
        missing = read_simulation(root, name)
    np.testing.assert_array_equal(missing.columns(), before.columns())
    data, names = airfrans.dataset.load(str(root), "full", train=True)
    np.testing.assert_array_equal(data[names.index(name)], missing.columns())
    # the files scoring needs stay required
    paths["aerofoil"].unlink()
    with pytest.raises(DataError, match=rf"{paths['aerofoil'].name}: file not found"):
        read_simulation(root, name)
