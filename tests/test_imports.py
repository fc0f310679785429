"""The import graph inside ``opbench/``: no cycles, and lazy registries.

The graph comes from ``grimp`` (every import statement, function-level ones included;
``if TYPE_CHECKING`` imports left out); ``graphlib`` finds a cycle in it. Two levels are
checked: modules, and the top-level packages (``opbench.data``, ``opbench.models``,
``opbench.train``, ...), so that a new dependency of, say, the checkpoint code on the
trainer fails here even when no single module imports itself back.
"""

from __future__ import annotations

import graphlib
import subprocess
import sys

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    imports = grimp.build_graph("opbench", exclude_type_checking_imports=True)
    return {m: set(imports.find_modules_directly_imported_by(m)) for m in imports.modules}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def test_no_import_cycle_between_modules(graph):
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_no_import_cycle_between_top_level_packages(graph):
    def top(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        packages.setdefault(top(module), set()).update(
            top(other) for other in imported if top(other) != top(module)
        )
    cycle = _cycle(packages)
    assert cycle is None, "import cycle between packages: " + " → ".join(cycle)


def test_the_checkpoint_code_depends_on_neither_models_nor_train(graph):
    assert not {
        m for m in graph["opbench.checkpoint"] if m.startswith(("opbench.models", "opbench.train"))
    }


def test_a_condiff_run_imports_no_other_family():
    """Families load lazily through the registry: resolving and loading ConDiff imports
    neither CFDBench nor AirfRANS (and so no VTK)."""
    code = (
        "import sys; from opbench.run import resolve, prepare; "
        "prepare(resolve('mean', 'condiff', config='poisson_grid8', "
        "overrides={'data': {'n_train': 4, 'n_test': 2}})); "
        "print(sorted(m for m in sys.modules if m.startswith(('vtk', 'pyvista', "
        "'opbench.data.airfrans', 'opbench.data.cfdbench'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
