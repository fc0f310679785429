"""From case files to the splits, pairs and rollouts of the CFDBench tasks.

Split (the reference code's ``get_*_auto_datasets``, luo-yining/CFDBench): within each
subset the
cases are sorted by case number, the subsets are concatenated in the order prop, bc, geo,
then ``random.seed(0); random.shuffle(cases)``; the first round(0.8·n) cases train, the
next round(0.1·n) validate, the rest test. The split depends on nothing but the case list,
so a test case's operating parameters are never seen in training.

Autoregressive pairs: (frame t → frame t + k) with k = round(Δt / frame spacing). Like the
reference, a case stops yielding pairs at the first pair that has reached steady state,
mean over the frame of | |u_t| − |u_{t+k}| | < ``steady_tol`` (|u| the velocity magnitude,
padded frame); opbench applies this to every split and counts the pairs it drops.

A training split larger than ``data.max_memory_gb`` keeps its cases on disk
(:class:`StoredCase`): each batch reads only its frames from the memory-mapped ``.npy``
files, padded exactly as the in-memory path pads whole cases, so both give the same
batches (:func:`~opbench.data.streaming.held_or_streamed`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from opbench.data.base import UNIT_KEY, Batch, Rollout, SampleSet, Split
from opbench.data.cfdbench.files import FIELDS, CaseFiles, read_case, read_frames
from opbench.data.cfdbench.metadata import CaseParameters
from opbench.data.cfdbench.problems import Problem
from opbench.data.streaming import held_or_streamed
from opbench.errors import DataError

SPLITS = ("train", "val", "test")
Case = TypeVar("Case")


def split_cases(cases: list[Case]) -> dict[str, list[Case]]:
    """The reference split of ``cases`` (already in prop, bc, geo / case-number order)."""
    shuffled = list(cases)
    random.Random(0).shuffle(shuffled)  # = random.seed(0); random.shuffle(...)
    n = len(shuffled)
    n_train, n_val = round(0.8 * n), round(0.1 * n)
    return {
        "train": shuffled[:n_train],
        "val": shuffled[n_train : n_train + n_val],
        "test": shuffled[n_train + n_val :],
    }


@dataclass(frozen=True)
class CaseLayout:
    """What a case is besides its frames, in the reference's padded layout.

    Attributes:
        key: ``subset/caseNNNN``.
        mask: fluid mask (H', W'), 1 in fluid, 0 in walls, inlet column and obstacles.
        params: case parameters in loader order (physical units), float64.
        spacing: (dx, dy) of the frame grid in metres.
        extent: (x_min, x_max, y_min, y_max) of the unpadded frame in metres.
        padded: whether an inlet column and wall rows were added.
        case: the case.json values, with derived keys.
    """

    key: str
    mask: np.ndarray
    params: np.ndarray
    spacing: tuple[float, float]
    extent: tuple[float, float, float, float]
    padded: bool
    case: dict[str, Any]


@dataclass(frozen=True)
class CaseFrames(CaseLayout):
    """A case held in memory: its layout and its padded frames ``u``, ``v`` (T, H', W'),
    float64."""

    u: np.ndarray
    v: np.ndarray

    def whole(self) -> CaseFrames:
        return self

    def state(self, frame: int) -> np.ndarray:
        """(2, H', W'): u and v of one frame."""
        return np.stack([self.u[frame], self.v[frame]])


@dataclass(frozen=True)
class StoredCase(CaseLayout):
    """A case of a streamed split: its layout; the frames stay in ``path``'s files and are
    read (and padded) when a batch needs them."""

    path: Path
    subset: str
    problem: Problem

    @classmethod
    def of(cls, frames: CaseFrames, files: CaseFiles, problem: Problem) -> StoredCase:
        layout = {field.name: getattr(frames, field.name) for field in fields(CaseLayout)}
        return cls(**layout, path=files.path, subset=files.subset, problem=problem)

    def whole(self) -> CaseFrames:
        """Every frame, read from disk again (not kept)."""
        return case_frames(read_case(self.path, self.subset), self.problem)

    def state(self, frame: int) -> np.ndarray:
        """(2, H', W'): u and v of one frame, read from the files and padded as
        :func:`case_frames` pads the whole case."""
        u, v = (read_frames(self.path / f"{name}.npy", frame) for name in FIELDS)
        u, v, _ = self.problem.features(u, v, self.case)
        return np.stack([u[0], v[0]])


AnyCase = CaseFrames | StoredCase


def case_frames(files: CaseFiles, problem: Problem) -> CaseFrames:
    """Pad and mask one case; values inside solids are set to 0 (NaN there is tolerated),
    anything non-finite in the fluid is an error."""
    where = str(files.path)
    case = problem.check_case(files.case, where)
    u, v, mask = problem.features(files.u, files.v, case)
    fluid = mask > 0
    for name, array in (("u", u), ("v", v)):
        bad = ~np.isfinite(array[:, fluid])
        if bad.any():
            frame = int(np.nonzero(bad.any(axis=1))[0][0])
            raise DataError(f"{where}/{name}.npy: non-finite values in the fluid (frame {frame})")
    extent = problem.extent(case)
    x_min, x_max, y_min, y_max = extent
    height, width = files.u.shape[1:]
    spacing = ((x_max - x_min) / width, (y_max - y_min) / height)
    return CaseFrames(
        key=files.key,
        mask=mask,
        params=problem.params(case),
        spacing=spacing,
        extent=extent,
        padded=problem.padded,
        case=case,
        u=u,
        v=v,
    )


@dataclass(frozen=True)
class ParamScaler:
    """Standardises case parameters with training-split statistics, per problem:
    p̃ = (p − μ) / σ, with σ = 1 for a parameter that is ``constant`` in training."""

    mean: np.ndarray
    std: np.ndarray
    constant: np.ndarray

    @classmethod
    def of(cls, params: CaseParameters) -> ParamScaler:
        """The scaler a trained config's metadata describes."""
        constant = np.array([key in params.constant for key in params.keys])
        return cls(np.array(params.mean), np.array(params.std), constant)

    @classmethod
    def fit(cls, cases: Sequence[AnyCase]) -> ParamScaler:
        params = np.stack([c.params for c in cases])
        std = params.std(axis=0)
        return cls(params.mean(axis=0), np.where(std > 0, std, 1.0), std == 0)

    def extrapolated(self, cases: Sequence[AnyCase]) -> np.ndarray:
        """Per parameter: constant in training, but another value in one of ``cases``."""
        params = np.stack([c.params for c in cases])
        return self.constant & np.any(~np.isclose(params, self.mean, rtol=1e-12, atol=0), axis=0)

    def __call__(self, params: np.ndarray) -> np.ndarray:
        return (params - self.mean) / self.std


def _inputs(case: AnyCase, frame: int, scaled: np.ndarray) -> np.ndarray:
    """(2 + 1 + P, H', W'): u, v, mask, then each scaled parameter as a constant channel."""
    shape = case.mask.shape
    constants = np.broadcast_to(scaled[:, None, None], (scaled.size, *shape))
    return np.concatenate([case.state(frame), case.mask[None], constants])


def steady_frame(case: CaseFrames, k: int, tol: float) -> int:
    """Number of pairs (t → t + k) the case yields before the first steady one."""
    speed = np.hypot(case.u, case.v)
    change = np.abs(speed[:-k] - speed[k:]).mean(axis=(1, 2))
    steady = np.nonzero(change < tol)[0]
    return int(steady[0]) if steady.size else len(change)


def _case_index(cases: Sequence[AnyCase]) -> dict[str, int]:
    """Each case's position in its split: the ``case`` key of its samples (the unit that
    scores are bootstrapped over; the frames of one case are not independent)."""
    return {case.key: i for i, case in enumerate(cases)}


def _pair_tensors(
    rows: Sequence[tuple[AnyCase, int]],
    k: int,
    scaler: ParamScaler,
    delta_t: float,
    index: dict[str, int],
) -> Batch:
    """The tensors of the pairs (case, t → t + k) in ``rows``."""
    x = np.stack([_inputs(c, t, scaler(c.params)) for c, t in rows])
    y = np.stack([c.state(t + k) for c, t in rows])
    return {
        "x": torch.from_numpy(x).float(),
        "y": torch.from_numpy(y).float(),
        "mask": torch.from_numpy(np.stack([c.mask[None] for c, _ in rows])).float(),
        "t": torch.full((len(rows),), float(delta_t)),
        "spacing": torch.tensor([c.spacing for c, _ in rows], dtype=torch.float64),
        UNIT_KEY: torch.tensor([index[c.key] for c, _ in rows], dtype=torch.long),
    }


@dataclass(frozen=True)
class Pairs:
    """Autoregressive pairs of one split and what the steady-state cut-off dropped;
    ``targets`` the (case position in the split, target frame) of each pair, in order."""

    samples: Split
    kept: int
    dropped: int
    targets: list[tuple[int, int]]


def autoregressive_pairs(
    cases: Sequence[AnyCase],
    k: int,
    tol: float,
    scaler: ParamScaler,
    delta_t: float,
    stream: bool = False,
) -> Pairs:
    """Pairs (frame t → t + k) of every case up to its steady state, in memory or (with
    ``stream``) read from the case files batch by batch."""
    rows: list[tuple[AnyCase, int]] = []
    dropped = 0
    for case in cases:
        whole = case.whole()
        total = max(whole.u.shape[0] - k, 0)
        keep = steady_frame(whole, k, tol) if total else 0
        rows += [(case, t) for t in range(keep)]
        dropped += total - keep

    index = _case_index(cases)

    def build(chosen: Sequence[tuple[AnyCase, int]]) -> Batch:
        return _pair_tensors(chosen, k, scaler, delta_t, index)

    targets = [(index[case.key], t + k) for case, t in rows]
    return Pairs(held_or_streamed(rows, build, stream), len(rows), dropped, targets)


def rollout(
    cases: list[CaseFrames], k: int, steps: int, scaler: ParamScaler, delta_t: float
) -> Rollout:
    """Roll out ``steps`` steps of k frames from frame 0 of each case; steps beyond a case's
    last frame are marked invalid."""
    start = SampleSet(
        _pair_tensors([(c, 0) for c in cases], 0, scaler, delta_t, _case_index(cases))
    )
    shape = (len(cases), steps, 2, *cases[0].mask.shape)
    targets = np.zeros(shape)
    valid = np.zeros((len(cases), steps), dtype=bool)
    for n, case in enumerate(cases):
        for s in range(steps):
            frame = (s + 1) * k
            if frame < case.u.shape[0]:
                targets[n, s] = case.state(frame)
                valid[n, s] = True
    return Rollout(
        start=start,
        targets=torch.from_numpy(targets).float(),
        valid=torch.from_numpy(valid),
        state_channels=(0, 1),
        delta_t=delta_t,
        k=k,
    )


def _padded_centres(case: AnyCase) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (X, Y) of the padded frame's points: cell centres, the inlet column one
    cell left of x_min, the wall rows one cell outside y_min and y_max."""
    x_min, _, y_min, _ = case.extent
    dx, dy = case.spacing
    height, width = case.mask.shape
    offset = 1 if case.padded else 0
    x = x_min + (np.arange(width) - offset + 0.5) * dx
    y = y_min + (np.arange(height) - offset + 0.5) * dy
    return np.meshgrid(x, y)


def _point_tensors(
    rows: Sequence[tuple[AnyCase, int]],
    scaler: ParamScaler,
    frame_dt: float,
    index: dict[str, int],
) -> Batch:
    """The per-point tensors of the frames (case, frame) in ``rows``."""
    xs, ys, masks = [], [], []
    for case, frame in rows:
        gx, gy = _padded_centres(case)
        points = gx.size
        constants = np.broadcast_to(scaler(case.params)[:, None], (case.params.size, points))
        t = np.full((1, points), frame * frame_dt)
        xs.append(np.concatenate([constants, t, gx.reshape(1, -1), gy.reshape(1, -1)]))
        ys.append(case.state(frame)[0].reshape(1, -1))
        masks.append(case.mask.reshape(1, -1))
    return {
        "x": torch.from_numpy(np.stack(xs)).float(),
        "y": torch.from_numpy(np.stack(ys)).float(),
        "mask": torch.from_numpy(np.stack(masks)).float(),
        UNIT_KEY: torch.tensor([index[c.key] for c, _ in rows], dtype=torch.long),
    }


def nonautoregressive_set(
    cases: Sequence[AnyCase], scaler: ParamScaler, frame_dt: float, stream: bool = False
) -> Split:
    """One sample per frame of every case: per-point inputs (scaled case parameters, t, x, y)
    (N, P + 3, H'·W'), target u (N, 1, H'·W'), mask (N, 1, H'·W'); t = frame index ×
    frame spacing in seconds, (x, y) in metres (CFDBench's non-autoregressive task). In
    memory, or (with ``stream``) read from the case files batch by batch.

    Frames whose u is zero on every fluid cell (a generated case's initial state at rest)
    are left out: there is nothing to predict, and their relative errors are 0/0."""
    rows: list[tuple[AnyCase, int]] = []
    for case in cases:
        whole = case.whole()
        fluid = whole.mask > 0
        rows += [(case, t) for t in range(whole.u.shape[0]) if np.any(whole.u[t][fluid])]

    index = _case_index(cases)

    def build(chosen: Sequence[tuple[AnyCase, int]]) -> Batch:
        return _point_tensors(chosen, scaler, frame_dt, index)

    return held_or_streamed(rows, build, stream)
