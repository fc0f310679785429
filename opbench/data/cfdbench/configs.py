"""CFDBench config names: ``problem/subset[+subset...]``, or ``problem`` for all subsets.

Examples: ``cavity/bc``, ``cylinder/bc+prop``, ``dam`` (= ``dam/bc+prop+geo``). Subsets vary
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

    @property
    def name(self) -> str:
        if set(self.subsets) == set(SUBSETS):
            return self.problem
        return f"{self.problem}/{'+'.join(self.subsets)}"

    @property
    def split_order(self) -> tuple[str, ...]:
        """The subsets in the reference's concatenation order (prop, bc, geo)."""
        return tuple(s for s in SPLIT_ORDER if s in self.subsets)


def parse_config(name: str) -> CFDBenchConfig:
    """Parse ``problem[/subset[+subset...]]``; unknown names get close suggestions."""
    problem, _, subset_text = name.partition("/")
    PROBLEMS.get(problem)
    if not subset_text:
        return CFDBenchConfig(problem, SUBSETS)
    subsets = subset_text.split("+")
    for subset in subsets:
        if subset not in SUBSETS:
            raise unknown_name(f"CFDBench subset in config {name!r}", subset, SUBSETS)
    if len(set(subsets)) != len(subsets):
        raise ConfigError(f"config {name!r} names a subset twice")
    return CFDBenchConfig(problem, tuple(s for s in SUBSETS if s in subsets))


PUBLISHED_CONFIGS = [
    name
    for problem in ("cavity", "tube", "dam", "cylinder")
    for name in (problem, *(f"{problem}/{subset}" for subset in SUBSETS))
]
"""The configs listed by ``opbench list datasets``: each problem whole and per subset."""
