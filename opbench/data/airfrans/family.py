"""The AirfRANS family: configs (the benchmark's four tasks), the point-cloud task, scores.

Configs ``full``, ``scarce``, ``reynolds``, ``aoa``: the official splits of the manifest
(:func:`~.samples.split_names`). Task ``fields`` (layout ``points``): per-node inputs
(x, y, U∞cos α, U∞sin α, distance, n_x, n_y) → (u, v, p/ρ, ν_t), standardised by the
Surrogate with training statistics over real nodes; training draws ``data.n_points`` nodes
per simulation per step; validation and test use every node. Scores: :mod:`.scoring`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from opbench.config import DataOptions, Seed, Size, validated
from opbench.data import DATASETS
from opbench.data.airfrans import samples, scoring
from opbench.data.airfrans.files import Simulation, read_manifest, read_simulation
from opbench.data.airfrans.forces import WallStencil, force_coefficients
from opbench.data.airfrans.generate import (
    GENERATOR_VERSION,
    GenerationOptions,
    GenerationReport,
    generate,
)
from opbench.data.airfrans.metadata import AirfRANSInfo
from opbench.data.base import (
    Batch,
    Benchmark,
    GeneratedBy,
    MetricSense,
    Split,
    ValidationReport,
)
from opbench.data.cache import ensure_generated, generated_root, read_sidecar
from opbench.data.metadata import DatasetInfo, FileInfo
from opbench.data.streaming import budget_bytes, held_or_streamed
from opbench.errors import ConfigError, DataError, unknown_name
from opbench.io import stable_hash
from opbench.ops.moments import channel_moments
from opbench.tasks import Layout, TaskSpec

CONFIGS = ("full", "scarce", "reynolds", "aoa")
TASKS: dict[str, Layout] = {"fields": "points"}
"""The task, with its layout: every field at every mesh node."""
REFERENCE_POINTS = 32_000
STATISTICS_CHUNK = 16
"""Simulations per chunk of the target statistics."""
GENERATION_OPTIONS = ("n_train", "n_test", "n_around", "n_normal")


class AirfRANSOptions(DataOptions):
    """AirfRANS data options (``--set data.<name>=value``).

    Attributes:
        n_points: nodes drawn per simulation per training step; ``None`` = the reference's
            32 000, or the smallest training simulation's node count if that is smaller.
        n_train, n_test, n_around, n_normal: generation only (simulations in
            ``full_train`` / ``full_test``, mesh nodes around the foil and across the
            layer); ``None`` = the generator's defaults.
        seed: the generator seed.
    """

    n_points: Size | None = None
    n_train: Annotated[int, Field(strict=True, ge=2)] | None = None
    n_test: Size | None = None
    n_around: Annotated[int, Field(strict=True, ge=40)] | None = None
    n_normal: Annotated[int, Field(strict=True, ge=8)] | None = None
    seed: Seed = 0

    def generation(self) -> GenerationOptions:
        given = {name: getattr(self, name) for name in GENERATION_OPTIONS}
        return GenerationOptions(
            **{k: v for k, v in given.items() if v is not None}, seed=self.seed
        )


class AirfRANSFamily:
    """AirfRANS (Bonnet et al. 2022): RANS around NACA airfoils, on the simulation mesh."""

    name = "airfrans"
    title = "AirfRANS: steady flow around NACA 4/5-digit airfoils, fields on the mesh nodes"
    citation = (
        "@inproceedings{bonnet2022airfrans,\n"
        "  title     = {AirfRANS: High Fidelity Computational Fluid Dynamics Dataset for "
        "Approximating Reynolds-Averaged Navier-Stokes Solutions},\n"
        "  author    = {Bonnet, Florent and Mazari, Jocelyn Ahmed and Cinnella, Paola and "
        "Gallinari, Patrick},\n"
        "  booktitle = {NeurIPS Datasets and Benchmarks Track},\n"
        "  year      = {2022},\n"
        "  note      = {arXiv:2212.07564}\n"
        "}"
    )
    default_config = "full"
    default_task = "fields"
    options_type = AirfRANSOptions
    info_type = AirfRANSInfo
    generate_options = (*GENERATION_OPTIONS, "seed", "workers")
    numerical_solver = None
    metric_senses: Mapping[str, MetricSense] = {
        "spearman_cd": "higher",
        "spearman_cl": "higher",
        "cd": "value",
        "cl": "value",
    }

    def table_note(self, config: str, generated: bool) -> str | None:
        """Generated data are not RANS (:mod:`.generate`): the reader must not compare."""
        if not generated:
            return None
        return (
            "Generated AirfRANS-style data: potential flow (panel method) with an integral "
            "boundary-layer correction, not the published RANS fields (OpenFOAM simpleFoam, "
            "k-ω SST); ν_t is zero there and not scored. Its numbers do not compare with "
            "published ones."
        )

    def generated_by(self, generator: Mapping[str, Any]) -> GeneratedBy:
        """The sidecar (:mod:`.generate`) holds the label and, under ``options``, the
        generation options."""
        return GeneratedBy(
            generator.get("label"),
            dict(generator.get("options", {})),
            generator.get("generator_version"),
        )

    def configs(self) -> list[str]:
        return list(CONFIGS)

    def tasks(self) -> dict[str, Layout]:
        return dict(TASKS)

    def check_config(self, config: str) -> bool:
        if config not in CONFIGS:
            raise unknown_name("AirfRANS config", config, CONFIGS)
        return True

    def generate(self, config: str, root: Path, **options: Any) -> GenerationReport:
        """Generate an AirfRANS-style dataset (all seven manifest lists) under ``root``."""
        self.check_config(config)
        workers = options.pop("workers", None)
        return generate(Path(root), validated(GenerationOptions, options, ""), workers)

    def validate(self, config: str, data_dir: Path) -> ValidationReport:
        """Read every simulation of the config's splits; report sizes and the true force
        coefficients' ranges."""
        self.check_config(config)
        names = samples.split_names(read_manifest(data_dir), config)
        lines, coefficients = [], []
        for split, split_names in names.items():
            nodes = []
            for name in split_names:
                simulation = read_simulation(data_dir, name)
                nodes.append(len(simulation.points))
                coefficients.append(_true_coefficients(simulation, simulation.stencil()))
            lines.append(
                f"{split}: {len(split_names)} simulations, nodes {min(nodes)}–{max(nodes)}"
            )
        cd, cl = np.array(coefficients).T
        lines.append(f"C_D {cd.min():.4g}–{cd.max():.4g}, C_L {cl.min():.4g}–{cl.max():.4g}")
        return ValidationReport(True, lines, {"simulations": len(coefficients)})

    def _generated_dir(self, options: AirfRANSOptions) -> Path:
        generation = options.generation()
        key = {"generator_version": GENERATOR_VERSION, **generation.key()}
        root = generated_root(self.name, "dataset", key)
        return ensure_generated(root, lambda tmp: generate(tmp, generation))

    def load_benchmark(
        self,
        config: str,
        task: str,
        options: AirfRANSOptions | None = None,
        data_dir: Path | None = None,
        test_only: bool = False,
        scaled_as: DatasetInfo | None = None,
    ) -> Benchmark:
        """Resolve ``config``/``task`` into a Benchmark (module docstring); ``data_dir`` is
        the folder of ``manifest.json``, otherwise the data is generated into the cache.
        ``scaled_as`` (a trained config's metadata): the standardised field metrics use
        its target standard deviations, so shifted scores are on the trained scale."""
        self.check_config(config)
        if task not in TASKS:
            raise unknown_name("AirfRANS task", task, TASKS)
        options = AirfRANSOptions() if options is None else options
        if data_dir is None:
            root = self._generated_dir(options)
        else:
            given = [n for n in GENERATION_OPTIONS if getattr(options, n) is not None]
            if given:
                raise ConfigError(f"data.{given[0]} applies to generated data only")
            root = Path(data_dir)
        names = samples.split_names(read_manifest(root), config)
        if test_only:
            names["val"] = names["val"][:1]
        if not all(names.values()):
            sizes = ", ".join(f"{len(v)} {k}" for k, v in names.items())
            raise DataError(
                f"{root}: config {config!r} gives {sizes} simulations; every split needs one"
            )
        std = None if scaled_as is None else _trained_std(scaled_as)
        return _benchmark(root, config, task, names, options, read_sidecar(root), std)


def _true_coefficients(simulation: Simulation, stencil: WallStencil) -> tuple[float, float]:
    """C_D, C_L of a simulation's own fields by the scoring routine."""
    cd, cl = force_coefficients(
        stencil,
        simulation.velocity,
        simulation.pressure,
        simulation.u_inf,
        simulation.aoa_deg,
    )
    return float(cd), float(cl)


def _benchmark(
    root: Path,
    config: str,
    task: str,
    names: dict[str, list[str]],
    options: AirfRANSOptions,
    sidecar: dict[str, Any] | None,
    trained_std: Tensor | None = None,
) -> Benchmark:
    order = [name for split in ("train", "val", "test") for name in names[split]]
    scan = _scan(root, order, len(names["train"]), budget_bytes(options.max_memory_gb))
    n_max = max(scan.nodes)
    index, first = {}, 0
    for split in ("train", "val", "test"):
        index[split] = list(range(first, first + len(names[split])))
        first += len(names[split])

    def build(rows: Sequence[int]) -> Batch:
        simulations = [
            scan.held[i] if i in scan.held else read_simulation(root, order[i]) for i in rows
        ]
        return samples.padded_set(simulations, rows, n_max)

    splits = {
        split: held_or_streamed(index[split], build, split == "train" and scan.streamed)
        for split in index
    }
    scan.held.clear()  # a streamed split reads its simulations from disk
    train_nodes = scan.nodes[: len(names["train"])]
    n_points = options.n_points or min(REFERENCE_POINTS, min(train_nodes))
    generated = sidecar is not None
    scored = samples.OUTPUTS[:3] if generated else samples.OUTPUTS
    std = target_std(splits["train"]) if trained_std is None else trained_std
    true = np.array(scan.true)
    forces = scoring.Forces(scan.stencils, scan.nodes, scan.u_inf, scan.aoa_deg, true)
    test_sims = index["test"]
    metrics = {**scoring.field_metrics(std.clamp_min(1e-12), scored), **forces.metrics()}
    task_spec = TaskSpec(
        name=task,
        layout=TASKS[task],
        input_fields=samples.INPUTS,
        output_fields=samples.OUTPUTS,
        spatial_shape=None,
        periodic=False,
        boundary="no-slip wall, freestream far field",
        metrics=("mse", *metrics),
        primary_metric="vol_mse",
        coordinate_fields=("x", "y", "distance", "n_x", "n_y"),
        field_units={
            "x": "m",
            "y": "m",
            "u_inf_cos": "m s-1",
            "u_inf_sin": "m s-1",
            "distance": "m",
            "n_x": "1",
            "n_y": "1",
            "u": "m s-1",
            "v": "m s-1",
            "p": "m2 s-2",  # AirfRANS stores the kinematic pressure p/ρ
            "nut": "m2 s-1",
        },
        bounding_box=(-2.0, 4.0, -1.5, 1.5),
        plot_window=(-0.4, 1.6, -0.5, 0.5),
    )
    info = AirfRANSInfo(
        family="airfrans",
        config=config,
        task=task,
        source="generated" if generated else "real",
        generator_version=None if sidecar is None else sidecar.get("generator_version"),
        generator=sidecar,
        files={
            split: FileInfo(
                path=str(root / "manifest.json"),
                sha256=_names_hash(names[split]),
                n_samples=len(names[split]),
            )
            for split in ("train", "val", "test")
        },
        fingerprint=stable_hash([names[s] for s in ("train", "val", "test")]),
        split={
            **{split: len(names[split]) for split in ("train", "val", "test")},
            "method": (
                "manifest <config>_train without its last int(0.1 n) (validation); test = "
                "<config>_test (scarce: full_test)"
            ),
        },
        n_points=n_points,
        nodes={"max": n_max, "min": min(scan.nodes)},
        scored_fields=list(scored),
        target_std=std.tolist(),
        true_coefficients={
            "cd_range": (float(true[:, 0].min()), float(true[:, 0].max())),
            "cl_range": (float(true[:, 1].min()), float(true[:, 1].max())),
        },
    )
    return Benchmark(
        family="airfrans",
        config=config,
        task=task_spec,
        splits={**splits, "train": samples.NodeSampledSet(splits["train"], n_points)},
        info=info,
        metrics=metrics,
        set_metrics=forces.set_metrics(test_sims),
    )


@dataclass
class _Scan:
    """What every split needs of each simulation of a config (in family order), read one
    simulation at a time: node counts, force stencils, freestreams, the true force
    coefficients; ``held`` the simulations kept in memory (all of them, unless the training
    ones would take more than the budget: then ``streamed`` and none of those)."""

    nodes: list[int] = field(default_factory=list)
    stencils: list[WallStencil] = field(default_factory=list)
    u_inf: list[float] = field(default_factory=list)
    aoa_deg: list[float] = field(default_factory=list)
    true: list[tuple[float, float]] = field(default_factory=list)
    held: dict[int, Simulation] = field(default_factory=dict)
    streamed: bool = False


def _held_bytes(simulation: Simulation) -> int:
    """What a simulation takes while held: its arrays and its padded float32 sample (15
    values per node)."""
    arrays = [value for value in vars(simulation).values() if isinstance(value, np.ndarray)]
    return sum(a.nbytes for a in arrays) + 15 * 4 * len(simulation.points)


def _scan(root: Path, order: list[str], n_train: int, budget: int) -> _Scan:
    """Read each simulation once; training simulations are held until together they
    exceed ``budget``, and from then on the training split streams (none is held)."""
    scan, train_bytes = _Scan(), 0
    for position, name in enumerate(order):
        simulation = read_simulation(root, name)
        stencil = simulation.stencil()
        scan.nodes.append(len(simulation.points))
        scan.stencils.append(stencil)
        scan.u_inf.append(simulation.u_inf)
        scan.aoa_deg.append(simulation.aoa_deg)
        scan.true.append(_true_coefficients(simulation, stencil))
        if position < n_train:
            train_bytes += _held_bytes(simulation)
            if not scan.streamed and train_bytes > budget:
                scan.streamed = True
                scan.held.clear()  # the training simulations held so far
            if scan.streamed:
                continue
        scan.held[position] = simulation
    return scan


def target_std(split: Split) -> Tensor:
    """Per output channel, the standard deviation of the targets over the real nodes of a
    split, read in chunks (:func:`~opbench.ops.moments.channel_moments`), so that an
    in-memory and a streamed split give the same values: sqrt(Σ (y − ȳ)² / (n − 1))."""

    def chunks() -> Iterator[tuple[Tensor, Tensor]]:
        for batch in split.chunks(STATISTICS_CHUNK, keys=("y", "valid")):
            yield batch["y"], batch["valid"]

    moments = channel_moments(chunks)
    return (moments.squares / (moments.count - 1)).sqrt()


def _trained_std(info: DatasetInfo) -> Tensor:
    """The target standard deviations of a trained AirfRANS config's metadata."""
    if not isinstance(info, AirfRANSInfo):
        raise ConfigError(
            f"AirfRANS data cannot be scored on the scale of {info.family} {info.config}"
        )
    return torch.tensor(info.target_std, dtype=torch.float64)


def _names_hash(names: list[str]) -> str:
    """SHA-256 of a split's simulation names (the files are too many to hash on load)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


DATASETS.add("airfrans", AirfRANSFamily())
