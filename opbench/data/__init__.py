"""Dataset families. Each registers itself in :data:`DATASETS` on import.

Third-party families register through the ``opbench.datasets`` entry-point group.
"""

from pathlib import Path
from typing import Any

from opbench.data.base import Benchmark, DatasetFamily, SampleSet, ValidationReport
from opbench.registry import Registry

DATASETS: Registry[DatasetFamily] = Registry("dataset", entry_point_group="opbench.datasets")

from opbench.data import condiff  # noqa: E402  (registers the family)
from opbench.data.airfrans import family as _airfrans  # noqa: E402, F401  (registers it)
from opbench.data.cfdbench import family as _cfdbench  # noqa: E402, F401  (registers it)


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
    from opbench.config import build_dataclass

    dataset = DATASETS.get(family)
    config = config or dataset.default_config
    dataset.check_config(config)
    return dataset.load_benchmark(
        config,
        task or dataset.default_task,
        build_dataclass(dataset.options_type, options, "data"),
        Path(data_dir) if data_dir is not None else None,
    )


__all__ = [
    "DATASETS",
    "Benchmark",
    "DatasetFamily",
    "SampleSet",
    "ValidationReport",
    "condiff",
    "load_benchmark",
]
