"""Dataset families. Each registers itself in :data:`DATASETS` when its package is imported;
the registry imports ``opbench.data.<family>`` lazily, on first use.

Third-party families register through the ``opbench.datasets`` entry-point group.
"""

from pathlib import Path
from typing import Any

from opbench.config import validated
from opbench.data.base import Benchmark, DatasetFamily, SampleSet, ValidationReport
from opbench.data.metadata import DatasetInfo
from opbench.registry import Registry

DATASETS: Registry[DatasetFamily] = Registry(
    "dataset", entry_point_group="opbench.datasets", package="opbench.data"
)


def load_benchmark(
    family: str,
    config: str | None = None,
    task: str | None = None,
    data_dir: str | Path | None = None,
    **options: Any,
) -> Benchmark:
    """A family's config and task as a Benchmark; ``options`` are the family's data options
    (ConDiff: n_train, n_test, seed, val_fraction, k_to_vertex; CFDBench: see
    :class:`~opbench.data.cfdbench.family.CFDBenchOptions`). Without ``data_dir`` the data
    is generated once into the cache."""
    dataset = DATASETS.get(family)
    config = config or dataset.default_config
    dataset.check_config(config)
    return dataset.load_benchmark(
        config,
        task or dataset.default_task,
        validated(dataset.options_type, options, "data"),
        Path(data_dir) if data_dir is not None else None,
    )


__all__ = [
    "DATASETS",
    "Benchmark",
    "DatasetFamily",
    "DatasetInfo",
    "SampleSet",
    "ValidationReport",
    "load_benchmark",
]
