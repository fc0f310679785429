"""CFDBench config names: ``problem/subset[+subset...]``, or ``problem`` for all subsets,
optionally followed by ``@<n>``: the same generated cases with frames on n × n cells (an
opbench variant for resolution transfer: the frames of another size from the same solves).

Examples: ``cavity/bc``, ``cylinder/bc+prop``, ``dam`` (= ``dam/bc+prop+geo``),
``cavity/bc@32``. Subsets vary
one factor each with the others at standard values: ``bc`` the inlet or lid velocity,
``prop`` density and viscosity, ``geo`` the geometry. The canonical name lists the subsets
in the order bc, prop, geo and drops them all when all three are present.
"""

from __future__ import annotations

from dataclasses import dataclass

from opbench.data.cfdbench.problems import PROBLEMS
from opbench.errors import ConfigError, unknown_name

SUBSETS = ("bc", "prop", "geo")
"""Subset names in the order of canonical config names."""

SPLIT_ORDER = ("prop", "bc", "geo")
"""The order in which the reference concatenates subsets before shuffling."""


@dataclass(frozen=True)
class CFDBenchConfig:
    """A parsed config: the problem and the subsets it draws cases from."""

    problem: str
    subsets: tuple[str, ...]
    frame_size: int | None = None

    @property
    def name(self) -> str:
        cases = (
            self.problem
            if set(self.subsets) == set(SUBSETS)
            else f"{self.problem}/{'+'.join(self.subsets)}"
        )
        return cases if self.frame_size is None else f"{cases}@{self.frame_size}"

    @property
    def split_order(self) -> tuple[str, ...]:
        """The subsets in the reference's concatenation order (prop, bc, geo)."""
        return tuple(s for s in SPLIT_ORDER if s in self.subsets)


MIN_FRAME_SIZE = 4


def parse_config(name: str) -> CFDBenchConfig:
    """Parse ``problem[/subset[+subset...]][@n]``; unknown names get close suggestions."""
    cases, at, size_text = name.partition("@")
    frame_size = None
    if at:
        if not size_text.isdigit() or int(size_text) < MIN_FRAME_SIZE:
            raise ConfigError(
                f"config {name!r}: '@' must be followed by a frame size of at least "
                f"{MIN_FRAME_SIZE} cells, e.g. 'cavity/bc@32'"
            )
        frame_size = int(size_text)
    problem, _, subset_text = cases.partition("/")
    PROBLEMS.get(problem)
    if not subset_text:
        return CFDBenchConfig(problem, SUBSETS, frame_size)
    subsets = subset_text.split("+")
    for subset in subsets:
        if subset not in SUBSETS:
            raise unknown_name(f"CFDBench subset in config {name!r}", subset, SUBSETS)
    if len(set(subsets)) != len(subsets):
        raise ConfigError(f"config {name!r} names a subset twice")
    return CFDBenchConfig(problem, tuple(s for s in SUBSETS if s in subsets), frame_size)


PUBLISHED_CONFIGS = [
    name
    for problem in ("cavity", "tube", "dam", "cylinder")
    for name in (problem, *(f"{problem}/{subset}" for subset in SUBSETS))
]
"""The configs listed by ``opbench list datasets``: each problem whole and per subset."""
