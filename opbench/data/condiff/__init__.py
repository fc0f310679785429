"""ConDiff (Trifonov et al. 2024, arXiv 2406.04709): loader, generator and validator.

Modules: :mod:`.configs` (names), :mod:`.grf` (random fields), :mod:`.fv` (finite
volumes), :mod:`.files` (on-disk format), :mod:`.generate`, :mod:`.validate`,
:mod:`.family` (registers ``condiff`` in :data:`opbench.data.DATASETS`). The functions
``generate.generate`` and ``validate.validate`` are not re-exported here, so that the
submodule names stay importable.
"""

from opbench.data.condiff.configs import PUBLISHED_CONFIGS, ConDiffConfig, parse_config
from opbench.data.condiff.family import ConDiffFamily, ConDiffOptions

__all__ = [
    "PUBLISHED_CONFIGS",
    "ConDiffConfig",
    "ConDiffFamily",
    "ConDiffOptions",
    "parse_config",
]
