"""CFDBench (Luo, Chen & Zhang 2023): the published layout, opbench's own Navier–Stokes
generator, and the autoregressive task with rollouts; importing the package registers the
family (:mod:`.family`)."""

from opbench.data.cfdbench.family import CFDBenchFamily, CFDBenchOptions

__all__ = ["CFDBenchFamily", "CFDBenchOptions"]
