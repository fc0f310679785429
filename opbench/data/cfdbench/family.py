"""The CFDBench family: configs, tasks, and case files → Benchmark.

Task ``autoregressive`` (default, layout ``grid-timestep``): inputs (u, v, mask, case
parameters as constant channels) at t, target (u, v) at t + Δt, Δt = ``data.delta_t``
(0.1 s) = k frames; metrics over fluid cells (``nmse`` on u and v is primary, ``nmse_u``,
``mse``, ``rmse``, ``mae``), the mean |∇·u| of the predictions, and a rollout of
``data.rollout_steps`` steps from frame 0 of every test case. Splits, pairs and the
steady-state cut-off: :mod:`~opbench.data.cfdbench.samples`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import numpy as np
import torch
from pydantic import Field

from opbench.config import DataOptions, PositiveFloat, Seed, Size, validated
from opbench.data import DATASETS
from opbench.data.base import (
    UNIT_KEY,
    Benchmark,
    GeneratedBy,
    MetricSense,
    SolverLadder,
    ValidationReport,
)
from opbench.data.cache import ensure_generated, generated_root, read_sidecar
from opbench.data.cfdbench import samples, solvers
from opbench.data.cfdbench.configs import PUBLISHED_CONFIGS, CFDBenchConfig, parse_config
from opbench.data.cfdbench.design import DESIGNS
from opbench.data.cfdbench.files import CaseFiles, case_dirs, open_field, read_case
from opbench.data.cfdbench.generate import (
    DEFAULT_FRAME_SIZE,
    GENERATOR_VERSION,
    GenerationOptions,
    GenerationReport,
    generate,
)
from opbench.data.cfdbench.metadata import CaseParameters, CFDBenchInfo
from opbench.data.cfdbench.physics import divergence
from opbench.data.cfdbench.problems import PROBLEMS, Problem
from opbench.data.cfdbench.samples import CaseFrames, ParamScaler
from opbench.data.cfdbench.solver import simulate
from opbench.data.metadata import DatasetInfo, FileInfo, content_identity
from opbench.data.streaming import budget_bytes
from opbench.errors import ConfigError, DataError
from opbench.io import stable_hash
from opbench.registry import Registry
from opbench.tasks import Layout, TaskSpec

AUTOREGRESSIVE_METRICS = ("nmse", "nmse_u", "mse", "rmse", "mae")
NONAUTOREGRESSIVE_METRICS = ("nmse_u", "mse", "rmse", "mae")
SPLIT_METHOD = (
    "cases sorted by number within each subset, subsets concatenated in the order prop, "
    "bc, geo; random.seed(0); random.shuffle(cases); train = first round(0.8 n), val = next "
    "round(0.1 n), test = the rest (independent of every seed)"
)
GENERATION_OPTIONS = ("n_cases", "frames", "frame_size", "solver_cells")


class CFDBenchOptions(DataOptions):
    """CFDBench data options (``--set data.<name>=value``).

    Attributes:
        n_cases, frames, frame_size, solver_cells: generation only (cases per subset,
            frames per case, frame grid H = W, solver cells across the height); ``None``
            = the generator's defaults (20, 41, 64, per problem).
        seed: the generator seed (the split does not depend on it).
        delta_t: seconds per autoregressive step (k = round(delta_t / frame spacing)).
        frame_dt: seconds between frames in the files; ``None`` = from the generator's
            sidecar, else the published spacing (0.1 s; cylinder 0.001 s).
        steady_tol: the steady-state cut-off on the mean change of |u| per step.
        rollout_steps: steps of the multi-step test.
    """

    n_cases: Size | None = None
    frames: Annotated[int, Field(strict=True, ge=2)] | None = None
    frame_size: Annotated[int, Field(strict=True, ge=4)] | None = None
    solver_cells: Annotated[int, Field(strict=True, ge=8)] | None = None
    seed: Seed = 0
    delta_t: PositiveFloat = 0.1
    frame_dt: PositiveFloat | None = None
    steady_tol: PositiveFloat = 1e-3
    rollout_steps: Size = 20

    def generation(self) -> GenerationOptions:
        given = {name: getattr(self, name) for name in GENERATION_OPTIONS}
        return GenerationOptions(
            **{name: value for name, value in given.items() if value is not None}, seed=self.seed
        )


def problem_dir(data_dir: Path, problem: str) -> Path:
    """``data_dir/<problem>`` (the published root), or ``data_dir`` itself when it is the
    problem folder (holds bc/, prop/ or geo/)."""
    nested = Path(data_dir) / problem
    if nested.is_dir():
        return nested
    if any((Path(data_dir) / subset).is_dir() for subset in ("bc", "prop", "geo")):
        return Path(data_dir)
    raise DataError(
        f"{data_dir} holds no {problem}/ folder: point --data-dir at the CFDBench root "
        f"(<root>/{problem}/<subset>/caseNNNN/) or at the {problem} folder itself"
    )


def _frame_dt(options: CFDBenchOptions, sidecars: dict[str, dict | None], problem: Problem):
    if options.frame_dt is not None:
        return options.frame_dt, "data.frame_dt"
    spacings = {s["frame_dt"] for s in sidecars.values() if s is not None}
    if len(spacings) > 1:
        raise DataError(f"the subsets' sidecars disagree on the frame spacing: {spacings}")
    if spacings:
        return spacings.pop(), "generator sidecar"
    return problem.published_frame_dt, "published spacing"


class SubsetDigests:
    """Per subset: a SHA-256 over every case (name, u, v, case.json) in case order, and the
    number of cases, fed one case at a time: the record's ``dataset.files``."""

    def __init__(self) -> None:
        self.digests: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def add(self, files: CaseFiles) -> None:
        digest = self.digests.setdefault(files.subset, hashlib.sha256())
        digest.update(files.path.name.encode())
        for array in (files.u, files.v):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(json.dumps(files.case, sort_keys=True).encode())
        self.counts[files.subset] = self.counts.get(files.subset, 0) + 1

    def infos(self, folder: Path) -> dict[str, FileInfo]:
        return {
            subset: FileInfo(
                path=str(folder / subset), sha256=digest.hexdigest(), n_samples=self.counts[subset]
            )
            for subset, digest in self.digests.items()
        }


def _relative_divergence(case: CaseFrames) -> float:
    """Mean |∇·u| over the case's frames × min(dx, dy) / max |u| (dimensionless)."""
    frames = torch.from_numpy(np.stack([case.u, case.v], axis=1))
    batch = {
        "spacing": torch.tensor([case.spacing] * len(frames), dtype=torch.float64),
        "mask": torch.from_numpy(case.mask)[None, None].expand(len(frames), 1, *case.mask.shape),
    }
    speed = float(np.hypot(case.u, case.v).max()) or 1.0
    return float(divergence(frames, batch).mean()) * min(case.spacing) / speed


FIELD_UNITS = {
    "u": "m s-1",
    "v": "m s-1",
    "mask": "1",
    "vel_top": "m s-1",
    "vel_in": "m s-1",
    "velocity": "m s-1",
    "density": "kg m-3",
    "viscosity": "Pa s",
    "height": "m",
    "width": "m",
    "center_x": "m",
    "center_y": "m",
    "radius": "m",
    "t": "s",
    "x": "m",
    "y": "m",
}
"""Units of CFDBench's fields and case parameters (SI; the viscosity is dynamic)."""


class CFDBenchFamily:
    """CFDBench (Luo, Chen & Zhang 2023): cavity, tube, dam and cylinder flows."""

    name = "cfdbench"
    title = "CFDBench: 2-D incompressible flows (cavity, tube, dam, cylinder) over time"
    citation = (
        "@article{luo2023cfdbench,\n"
        "  title   = {CFDBench: A Large-Scale Benchmark for Machine Learning Methods in Fluid "
        "Dynamics},\n"
        "  author  = {Luo, Yining and Chen, Yingfa and Zhang, Zhen},\n"
        "  journal = {arXiv preprint arXiv:2310.05963},\n"
        "  year    = {2023}\n"
        "}"
    )
    default_config = "cavity/bc"
    default_task = "autoregressive"
    options_type = CFDBenchOptions
    info_type = CFDBenchInfo
    generate_options = (*GENERATION_OPTIONS, "seed", "workers")
    numerical_solver = (
        "the projection solver on coarser cells (generated data, autoregressive task)"
    )
    metric_senses: Mapping[str, MetricSense] = {}

    def table_note(self, config: str, generated: bool) -> str | None:
        """Frames coarser than the published 64 × 64 (an ``@n`` config)."""
        size = parse_config(config).frame_size
        if size is None or size >= DEFAULT_FRAME_SIZE:
            return None
        return (
            f"Frames on a {size}² grid, against the published {DEFAULT_FRAME_SIZE}²: the "
            "solver's fields interpolated to a coarser frame grid; its numbers do not "
            "compare with published ones."
        )

    def generated_by(self, generator: Mapping[str, Any]) -> GeneratedBy:
        """The record holds one sidecar per subset (``{"bc": {...}}``), all written by one
        ``opbench data generate`` call: the label and options of the first."""
        return _made_by(next(iter(generator.values()), {}))

    def configs(self) -> list[str]:
        return list(PUBLISHED_CONFIGS)

    def tasks(self) -> dict[str, Layout]:
        return {name: TASKS.get(name).layout for name in TASKS.names()}

    def check_config(self, config: str) -> bool:
        """Every valid config draws from the published problems and subsets."""
        parse_config(config)
        return True

    def generate(self, config: str, root: Path, **options: Any) -> GenerationReport:
        """Generate ``root/<problem>/<subset>/`` (options: n_cases, frames, frame_size,
        solver_cells, seed, workers)."""
        workers = options.pop("workers", None)
        generation = validated(GenerationOptions, options, "")
        return generate(parse_config(config), Path(root), generation, workers)

    def validate(self, config: str, data_dir: Path) -> ValidationReport:
        """Read every case (keys, shapes, dtypes, finiteness in the fluid) and report the
        frames' divergence: mean |∇·u| by central differences, relative to the case's
        velocity scale over the frame spacing (interpolated frames are not exactly
        solenoidal, but a transposed or mislabelled file gives order one)."""
        cfg = parse_config(config)
        problem = PROBLEMS.get(cfg.problem)
        folder = problem_dir(data_dir, cfg.problem)
        lines, shapes, frames, relative = [], set(), [], []
        for subset in cfg.split_order:
            paths = case_dirs(folder, subset)
            for path in paths:
                case = samples.case_frames(read_case(path, subset), problem)
                shapes.add(case.u.shape[1:])
                frames.append(case.u.shape[0])
                relative.append(_relative_divergence(case))
            lines.append(f"{subset}: {len(paths)} cases")
        if len(shapes) > 1:
            return ValidationReport(False, [*lines, f"cases differ in frame shape: {shapes}"])
        lines.append(
            f"padded frame shape {shapes.pop()}, frames per case {min(frames)}–{max(frames)}"
        )
        lines.append(
            f"frame divergence |∇·u|·h/U: median {np.median(relative):.3g}, "
            f"max {np.max(relative):.3g}"
        )
        summary = {"cases": len(frames), "max_relative_divergence": float(np.max(relative))}
        return ValidationReport(True, lines, summary)

    def _generated_dir(self, cfg: CFDBenchConfig, options: CFDBenchOptions) -> Path:
        generation = options.generation()
        key = {
            "generator_version": GENERATOR_VERSION,
            "config": cfg.name,
            **{name: getattr(generation, name) for name in (*GENERATION_OPTIONS, "seed")},
        }
        root = generated_root(self.name, cfg.name.replace("/", "_"), key)

        def build(tmp: Path) -> None:
            generate(cfg, tmp, generation)

        return ensure_generated(root, build)

    def load_benchmark(
        self,
        config: str,
        task: str,
        options: CFDBenchOptions | None = None,
        data_dir: Path | None = None,
        test_only: bool = False,
        scaled_as: DatasetInfo | None = None,
    ) -> Benchmark:
        """Resolve ``config``/``task`` into a Benchmark (see the module docstring);
        ``scaled_as``: see :func:`_read_cases`.

        ``data_dir`` given: read the published layout there; otherwise generate once into
        the cache. ``test_only`` leaves train and val empty (their cases are still read to
        scale the case parameters).
        """
        cfg = parse_config(config)
        build = TASKS.get(task).build
        options = CFDBenchOptions() if options is None else options
        if cfg.frame_size is not None:
            if data_dir is not None:
                raise ConfigError(
                    f"config {cfg.name}: '@{cfg.frame_size}' picks generated frames; the "
                    "published files have one frame size"
                )
            options = options.model_copy(update={"frame_size": cfg.frame_size})
        if data_dir is None:
            root = self._generated_dir(cfg, options)
        else:
            given = [n for n in GENERATION_OPTIONS if getattr(options, n) is not None]
            if given:
                raise ConfigError(
                    f"data.{given[0]} applies to generated data only, not to --data-dir"
                )
            root = Path(data_dir)
        cases = _read_cases(cfg, problem_dir(root, cfg.problem), options, test_only, scaled_as)
        return build(cases, options)


def _made_by(sidecar: Mapping[str, Any]) -> GeneratedBy:
    """The label and ``opbench data generate`` options in one subset's sidecar."""
    names = (*GENERATION_OPTIONS, "seed")
    options = {k: sidecar[k] for k in names if k in sidecar}
    return GeneratedBy(sidecar.get("label"), options, sidecar.get("generator_version"))


@dataclass
class _Cases:
    """A config's cases, split and padded, with the time step they define.

    ``keys`` is the case split of the whole config (test-only loads keep no training or
    validation frames, but the split and the parameter scaler still come from all cases).
    ``streamed``: the training cases are :class:`~.samples.StoredCase` and the training
    split is read from their files batch by batch.
    """

    config: CFDBenchConfig
    problem: Problem
    folder: Path
    keys: dict[str, list[str]]
    frames: dict[str, list[samples.AnyCase]]
    sidecars: dict[str, dict[str, Any] | None]
    frame_dt: float
    frame_dt_source: str
    k: int
    scaler: ParamScaler
    files: dict[str, FileInfo]
    streamed: bool
    scaled_as: str | None = None
    extrapolated: tuple[str, ...] = ()

    @property
    def delta_t(self) -> float:
        return self.k * self.frame_dt

    @property
    def shape(self) -> tuple[int, int]:
        return self.frames["test"][0].mask.shape

    def recipe(self, subset: str) -> dict[str, Any] | None:
        """How ``subset`` was generated (``None`` for published files)."""
        sidecar = self.sidecars.get(subset)
        if sidecar is None:
            return None
        return _made_by(sidecar).identity(self.config.name)

    def info(self, task: str, **task_fields: Any) -> CFDBenchInfo:
        """The record's dataset section, with the task's own fields."""
        sidecars = self.sidecars
        return CFDBenchInfo(
            family="cfdbench",
            config=self.config.name,
            task=task,
            source="real" if all(s is None for s in sidecars.values()) else "generated",
            generator_version=next(
                (s.get("generator_version") for s in sidecars.values() if s), None
            ),
            generator={s: c for s, c in sidecars.items() if c is not None} or None,
            files=self.files,
            fingerprint=stable_hash(
                [
                    {
                        subset: content_identity(file, self.recipe(subset))
                        for subset, file in self.files.items()
                    },
                    [self.keys[name] for name in samples.SPLITS],
                ]
            ),
            split={
                **{name: len(self.keys[name]) for name in samples.SPLITS},
                "method": SPLIT_METHOD,
                "test_cases": self.keys["test"],
            },
            time={
                "frame_dt": self.frame_dt,
                "frame_dt_source": self.frame_dt_source,
                "k": self.k,
                "delta_t": self.delta_t,
            },
            frame_shape=list(self.shape),
            params={
                "keys": list(self.problem.param_keys),
                "scaling": "standardised with the training split's mean and std"
                + ("" if self.scaled_as is None else f" of {self.scaled_as}"),
                "mean": self.scaler.mean.tolist(),
                "std": self.scaler.std.tolist(),
                "constant": [
                    key
                    for key, flag in zip(self.problem.param_keys, self.scaler.constant, strict=True)
                    if flag
                ],
                "scaled_as": self.scaled_as,
            },
            extrapolated=list(self.extrapolated),
            **task_fields,
        )


def _train_bytes(paths: list[tuple[str, Path]], problem: Problem) -> int:
    """An upper bound on what the training cases take in memory: per frame, the padded
    float64 u and v and one float32 sample (x with 3 + P channels, y with 2, the mask);
    frame counts and shapes from the ``.npy`` headers (an unreadable file counts 0 here
    and fails with its own error when it is read)."""
    total = 0
    pad = (2, 1) if problem.padded else (0, 0)
    per_point = 16 + 4 * (len(problem.param_keys) + 6)
    for _, path in paths:
        try:
            frames, height, width = open_field(path / "u.npy", mmap=True).shape
        except DataError:
            continue
        total += frames * (height + pad[0]) * (width + pad[1]) * per_point
    return total


def _read_cases(
    cfg: CFDBenchConfig,
    folder: Path,
    options: CFDBenchOptions,
    test_only: bool,
    scaled_as: DatasetInfo | None = None,
) -> _Cases:
    """Read, check and split every case, one case in memory at a time; the training cases
    stay on disk (:class:`~.samples.StoredCase`) when they would take more than
    ``data.max_memory_gb``. With ``scaled_as`` (a trained config's metadata) the case
    parameters are scaled with its training statistics, and the parameters constant there
    but not in this config's test cases are marked as extrapolated."""
    problem = PROBLEMS.get(cfg.problem)
    paths = [(s, p) for s in cfg.split_order for p in case_dirs(folder, s)]
    split = samples.split_cases(paths)
    if not all(split.values()):
        raise DataError(
            f"{cfg.name}: {len(paths)} cases split into "
            f"{', '.join(f'{len(v)} {k}' for k, v in split.items())}; every split needs a "
            f"case (round(0.8 n) / round(0.1 n) / rest: at least 8 cases)"
        )
    streamed = not test_only and _train_bytes(split["train"], problem) > budget_bytes(
        options.max_memory_gb
    )
    split_of = {path: name for name, chosen in split.items() for _, path in chosen}
    digests = SubsetDigests()
    read: dict[Path, samples.AnyCase] = {}
    for subset, path in paths:
        files = read_case(path, subset)
        digests.add(files)
        case = samples.case_frames(files, problem)
        name = split_of[path]
        on_disk = (name == "train" and streamed) or (name != "test" and test_only)
        read[path] = samples.StoredCase.of(case, files, problem) if on_disk else case
    frames = {name: [read[path] for _, path in split[name]] for name in split}
    shapes = {c.mask.shape for cases in frames.values() for c in cases}
    if len(shapes) > 1:
        raise DataError(f"{folder}: cases differ in frame shape {sorted(shapes)}")
    scaler, extrapolated = ParamScaler.fit(frames["train"]), ()
    if scaled_as is not None:
        scaler = ParamScaler.of(_trained_parameters(scaled_as, problem, cfg))
        flags = scaler.extrapolated(frames["test"])
        extrapolated = tuple(k for k, f in zip(problem.param_keys, flags, strict=True) if f)
    if test_only:
        frames = {name: cases if name == "test" else [] for name, cases in frames.items()}
    sidecars = {s: read_sidecar(folder / s) for s in cfg.split_order}
    frame_dt, frame_dt_source = _frame_dt(options, sidecars, problem)
    k = round(options.delta_t / frame_dt)
    if k < 1:
        raise ConfigError(
            f"data.delta_t={options.delta_t} is shorter than the frame spacing {frame_dt} s"
        )
    return _Cases(
        cfg,
        problem,
        folder,
        {name: [f"{subset}/{path.name}" for subset, path in split[name]] for name in split},
        frames,
        sidecars,
        frame_dt,
        frame_dt_source,
        k,
        scaler,
        digests.infos(folder),
        streamed,
        None if scaled_as is None else scaled_as.config,
        extrapolated,
    )


def _trained_parameters(info: DatasetInfo, problem: Problem, cfg: CFDBenchConfig) -> CaseParameters:
    """The case-parameter statistics of the trained config's metadata; a ConfigError when
    that config's parameters are not this one's."""
    if not isinstance(info, CFDBenchInfo) or info.params.keys != list(problem.param_keys):
        raise ConfigError(
            f"{cfg.name} cannot be tested with the case-parameter scaling of "
            f"{info.family} {info.config}: their case parameters differ"
        )
    return info.params


def _autoregressive(cases: _Cases, options: CFDBenchOptions) -> Benchmark:
    """(u, v, mask, parameters) at t → (u, v) at t + Δt, with the rollout test."""
    k, delta_t = cases.k, cases.delta_t
    pairs = {
        name: samples.autoregressive_pairs(
            cases.frames[name],
            k,
            options.steady_tol,
            cases.scaler,
            delta_t,
            stream=cases.streamed and name == "train",
        )
        for name in samples.SPLITS
    }
    if cases.frames["train"] and (pairs["train"].kept == 0 or pairs["val"].kept == 0):
        raise DataError(
            f"{cases.config.name}: no training or validation pairs remain (k = {k} frames, "
            f"steady-state cut-off {options.steady_tol}); generate more frames"
        )
    test = pairs["test"].samples
    task = TaskSpec(
        name="autoregressive",
        layout=TASKS.get("autoregressive").layout,
        input_fields=("u", "v", "mask", *cases.problem.param_keys),
        output_fields=("u", "v"),
        spatial_shape=cases.shape,
        periodic=False,
        boundary="no-slip walls, inlet/lid velocity (padding and mask)",
        metrics=(*AUTOREGRESSIVE_METRICS, "divergence"),
        primary_metric="nmse",
        axes_order="yx",
        plotted_inputs=("u", "v", "mask"),
        field_units=FIELD_UNITS,
    )
    return Benchmark(
        family="cfdbench",
        config=cases.config.name,
        task=task,
        splits={name: pairs[name].samples for name in samples.SPLITS},
        info=cases.info(
            "autoregressive",
            pairs={name: pairs[name].kept for name in samples.SPLITS},
            pairs_dropped_steady={name: pairs[name].dropped for name in samples.SPLITS},
            steady_tol=options.steady_tol,
            target_divergence=float(divergence(test.tensors["y"], test.tensors).mean()),
        ),
        metrics={"divergence": divergence},
        solve_one=_step_solver(cases),
        solver_ladder=_solver_ladder(cases, pairs["test"].targets),
        grid_points=None if cases.problem.padded else "cell",
        paired_samples=_paired_samples(cases, options),
        rollout=samples.rollout(
            cases.frames["test"], k, options.rollout_steps, cases.scaler, delta_t
        ),
        scoring_keys=(UNIT_KEY,),
    )


def _step_solver(cases: _Cases) -> Callable[[int], None] | None:
    """Advance test case ``index`` by one Δt from rest with opbench's solver at the
    generator's resolution: what one surrogate step replaces (``solver_ms_per_sample``).
    ``None`` for published data, whose solver (Fluent) is not ours to time."""
    generated = [s for s in cases.sidecars.values() if s is not None]
    if not generated:
        return None
    design = DESIGNS.get(cases.config.problem)
    cells = generated[0]["solver_cells"]
    test, delta_t = [c.case for c in cases.frames["test"]], cases.delta_t

    def solve_one(index: int) -> None:  # holds the test cases' parameters only
        simulate(design.domain(test[index % len(test)]), cells, [delta_t])

    return solve_one


def _paired_samples(cases: _Cases, options: CFDBenchOptions) -> str | None:
    """Generated cases are the same at every frame size (``<config>@<n>``): their problem,
    subsets, seed, case count, frames, solver cells and pairs' time step name them;
    ``None`` for published data (one frame size)."""
    sidecars = [cases.sidecars[s] for s in cases.config.split_order]
    if any(sidecar is None for sidecar in sidecars):
        return None
    first = sidecars[0]
    subsets = "+".join(cases.config.subsets)
    return (
        f"cfdbench {cases.config.problem}/{subsets}, seed {first['seed']}, "
        f"{first['n_cases']} cases × {first['frames']} frames, solver cells "
        f"{first['solver_cells']}, Δt {cases.delta_t:g} s, steady_tol {options.steady_tol:g}"
    )


def _solver_ladder(cases: _Cases, targets: list[tuple[int, int]]) -> SolverLadder | None:
    """The solver at coarser cells on the test pairs (:mod:`.solvers`); ``None`` for
    published data, whose solver (Fluent) is not ours to run."""
    test = cases.frames["test"]
    sidecars = [cases.sidecars.get(case.key.split("/")[0]) for case in test]
    if not targets or any(sidecar is None for sidecar in sidecars):
        return None
    return solvers.ladder(
        cases.config.problem, [case.case for case in test], sidecars, targets, cases.problem
    )


def _nonautoregressive(cases: _Cases, options: CFDBenchOptions) -> Benchmark:
    """(case parameters, t, x, y) → u at every point of every frame, scored on u."""
    splits = {
        name: samples.nonautoregressive_set(
            cases.frames[name],
            cases.scaler,
            cases.frame_dt,
            stream=cases.streamed and name == "train",
        )
        for name in samples.SPLITS
    }
    task = TaskSpec(
        name="nonautoregressive",
        layout=TASKS.get("nonautoregressive").layout,
        input_fields=(*cases.problem.param_keys, "t", "x", "y"),
        output_fields=("u",),
        spatial_shape=None,
        periodic=False,
        boundary="no-slip walls, inlet/lid velocity (padding and mask)",
        metrics=NONAUTOREGRESSIVE_METRICS,
        primary_metric="nmse_u",
        coordinate_fields=("t", "x", "y"),
        frame_shape=cases.shape,
        axes_order="yx",
        plotted_inputs=(),
        field_units=FIELD_UNITS,
    )
    return Benchmark(
        family="cfdbench",
        config=cases.config.name,
        task=task,
        splits=splits,
        info=cases.info(
            "nonautoregressive", samples={name: len(splits[name]) for name in samples.SPLITS}
        ),
        scoring_keys=(UNIT_KEY,),
    )


class _Task(NamedTuple):
    """A task: the layout of its samples, and how it is built from the cases."""

    layout: Layout
    build: Callable[[_Cases, CFDBenchOptions], Benchmark]


TASKS: Registry[_Task] = Registry("CFDBench task")
TASKS.add("autoregressive", _Task("grid-timestep", _autoregressive))
TASKS.add("nonautoregressive", _Task("points", _nonautoregressive))


DATASETS.add("cfdbench", CFDBenchFamily())
