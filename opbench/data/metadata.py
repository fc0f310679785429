"""Typed dataset metadata: what a run record says about the data it was trained and tested on.

Every family builds a :class:`DatasetInfo` (its own subclass, with the family's fields
declared) when it resolves a config into a :class:`~opbench.data.base.Benchmark`, so a
family that gets its metadata wrong fails before training, not after. The record's
``dataset`` section is this model in JSON form.

:meth:`DatasetInfo.identity` is the data's part of a run's identity
(:func:`opbench.config.run_hash`): family, config, task, the data **fingerprint** (a hash of
what the files hold and the split, independent of where the files lie, see
:func:`content_identity`) and the task options that the files do not fix (e.g. ConDiff's
mapping of k to the vertices).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FAMILY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class FileInfo(BaseModel):
    """One data file (or a group of files read as one, e.g. a CFDBench subset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    n_samples: int = Field(ge=0)


class SplitInfo(BaseModel):
    """Split sizes and how the split was made; families add their own details."""

    model_config = ConfigDict(extra="allow", frozen=True)

    train: int = Field(ge=0)
    val: int = Field(ge=0)
    test: int = Field(ge=0)
    method: str = Field(min_length=1)
    unit: Literal["sample", "case", "simulation"] = "sample"


class DatasetInfo(BaseModel):
    """The record's ``dataset`` section.

    Read generically (a record of any family) this model keeps the family's own fields as
    extras; each family validates its metadata with its subclass, which declares them and
    forbids anything else.

    Attributes:
        family, config, task: what the data is.
        source: ``real`` (published files) or ``generated`` (opbench's generator).
        published: whether ``config`` is one of the family's published configs (a grid
            of 63 is a valid ConDiff config, but not a published one).
        generator_version: the generator's version for generated data.
        generator: the generator's sidecar (sizes, seed, timings), ``None`` for real data.
        files: the data files by split or subset, with their checksums.
        fingerprint: a hash of what the files hold (:func:`content_identity`), the sample
            counts and the split.
        split: split sizes and method.
        extrapolated: for a test on another config, the inputs that are constant in the
            training config's data but differ here (CFDBench case parameters with σ = 0 in
            training): scores on this data are extrapolation in those inputs.
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    family: str = Field(pattern=FAMILY_PATTERN)
    config: str = Field(min_length=1)
    task: str = Field(min_length=1)
    source: Literal["generated", "real"]
    published: bool = True
    generator_version: str | None
    generator: dict[str, Any] | None = None
    files: dict[str, FileInfo]
    fingerprint: str = Field(min_length=1)
    split: SplitInfo
    extrapolated: list[str] = Field(default_factory=list)

    def task_options(self) -> dict[str, Any]:
        """The options, beyond the files and the split, that change the task (families
        override this)."""
        return {}

    def identity(self) -> dict[str, Any]:
        """What identifies the data of a run: family, config, task, fingerprint and the
        task options (no paths, no timings)."""
        return {
            "family": self.family,
            "config": self.config,
            "task": self.task,
            "fingerprint": self.fingerprint,
            **self.task_options(),
        }


class FamilyInfo(DatasetInfo):
    """Base of a family's own metadata model: no undeclared fields."""

    model_config = ConfigDict(extra="forbid")


def content_identity(file: FileInfo, recipe: Mapping[str, Any] | None) -> str | dict[str, Any]:
    """What one data file holds, for a fingerprint.

    A real file is identified by its SHA-256 checksum. A generated file is identified by
    the recipe that writes it (generator version, label and options, see
    :meth:`opbench.data.base.GeneratedBy.identity`), not by its bytes: the solvers'
    floating-point results (FFTs, sparse LU) differ in the last bits between CPUs and
    library builds, so the same recipe writes other bytes on another machine. Measured:
    ConDiff ``cubic2.0_grid32`` (1000 / 200, seed 0) regenerated on a second machine had
    other file checksums, the same number of GRF proposals (388 888), and a fitted
    ``linear`` baseline whose 200 per-sample test errors were equal to the bit. Identified
    by bytes, a board made on one machine could never be resumed or compared with on
    another. The checksums stay in the record's ``files``, as provenance.
    """
    if recipe is None:
        return file.sha256
    return {"recipe": dict(recipe)}
