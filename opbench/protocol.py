"""The published board's training protocol, run as one resumable, event-driven sweep.

For each trainable model on each table (dataset family and config):

1. **Pilot** (role ``pilot``): seed 0 for ``pilot_epochs`` epochs at each learning rate of
   ``lrs``. The learning rate lr* is the one with the lowest best validation value
   (diverged pilots count as worst). Every model gets the same pilot.
2. **Budget by doubling**: at rung k = 0, 1, …, ``max_doublings`` the budget is
   E = ``start_epochs`` · 2ᵏ. Seed 0 runs at E (role ``board``) and, beside it, at 2E
   (role ``check``). If the check improves the best validation value by less than 5 %
   (:func:`opbench.eval.convergence.doubling_check`), seeds 1, 2 … run at E, and the
   budget is E when every seed's run passes its plateau check. Otherwise (the check
   improved by 5 % or more, or a seed was still improving at the minimum rate) the next
   rung starts; its seed-0 board run at 2E is the check run just made (the same
   computation: its record is copied with role ``board`` and run id
   ``<check run id>-board``), so no run is repeated. A table that fails at the last rung
   keeps its board runs, shown as not converged.

   Below the last rung, a seed-0 board run that fails its plateau check settles the climb
   whatever the check shows, so nothing waits on what cannot change the outcome: seeds 1,
   2 … do not run at E, and the next rung's check (seed 0 at 4E) is ready at once, beside
   the check at 2E. (It is wasted only if the check at 2E then fails or diverges.)
3. **Evidence**: every trained record carries its plateau check (written by the run);
   the board records at E get the doubling check attached to their ``convergence``
   section once the check at 2E has finished.

Fitted baselines (``mean``, ``linear``, ``identity``) get one board record per seed.

Every trained run uses the same schedule form: step decay by γ = 0.01^(1/3) at 25, 50 and
75 % of the steps, so the last quarter runs at lr₀/100 and the plateau window
(max(10 epochs, 20 %)) lies inside it once E ≥ 40.

The driver keeps ``workers`` runs going: after each finished run it adds every new record
under ``out`` to the leaderboard root's ``records/`` (pilot and check records under their
roles; :func:`opbench.results.publish.add_records`), plans again from what the root holds,
regenerates the root's tables when its records changed (so the board committed at any
moment matches its records), and starts what is now ready, longest first. Planning reads
only records, so the driver stops and resumes at any point: a run interrupted under
``out`` resumes from its checkpoint, a run that failed is not retried (its failure file is
under ``out/failed/``).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opbench.config import Preset, Role, RunSpec, merge
from opbench.data import DATASETS
from opbench.errors import ConfigError
from opbench.eval.convergence import Convergence, DoublingCheck, doubling_check, plateau_check
from opbench.models import MODELS
from opbench.results import publish
from opbench.results.record import RECORD_NAME, read_record, validate_record
from opbench.run import resolve
from opbench.sweep import (
    Key,
    Outcome,
    SweepJob,
    execute,
    identify,
    parse_datasets,
    record_failure,
    record_key,
    sort_jobs,
    threads_per_run,
)
from opbench.workers import process_pool

MILESTONES = (0.25, 0.5, 0.75)
"""Where the step schedule decays, as fractions of the steps."""
GAMMA = 0.01 ** (1 / len(MILESTONES))
"""The decay factor that brings the rate to lr₀/100 at the last milestone."""

Record = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """The protocol's budgets (module docstring)."""

    lrs: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    pilot_epochs: int = 10
    start_epochs: int = 50
    max_doublings: int = 2
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        if not self.lrs or min(self.lrs) <= 0:
            raise ConfigError("--lrs: give at least one learning rate, each > 0")
        if self.pilot_epochs < 1 or self.start_epochs < 1 or self.max_doublings < 0:
            raise ConfigError("pilot and start epochs must be >= 1, max doublings >= 0")
        if self.pilot_epochs >= self.start_epochs:
            raise ConfigError(
                f"--pilot-epochs {self.pilot_epochs} must be below --start-epochs "
                f"{self.start_epochs}: a pilot is a short run"
            )
        if not self.seeds or self.seeds[0] != 0:
            raise ConfigError("--seeds must start with 0, the seed of the pilot and the check")


@dataclass(frozen=True)
class Table:
    """One model on one table: registry name, preset, family and config."""

    model: str
    preset: str
    dataset: str
    config: str

    @property
    def label(self) -> str:
        return f"{self.model} ({self.preset}) on {self.dataset}:{self.config}"


def parse_models(values: Sequence[str]) -> list[tuple[str, str]]:
    """``fno`` → ``("fno", "small")``; ``lsm:small32`` → ``("lsm", "small32")``."""
    parsed = []
    for value in values:
        name, _, preset = value.partition(":")
        MODELS.get(name)
        parsed.append((name, preset or Preset.small.value))
    return parsed


@dataclass
class Status:
    """Where a table stands: ``pilot``, ``rung <E>``, ``seeds at <E>``, ``converged at
    <E>``, ``not converged`` or ``failed``."""

    table: Table
    state: str
    lr: float | None = None
    epochs: int | None = None


@dataclass
class Protocol:
    """The protocol over ``tables``: plans runs from the records of ``root`` (module
    docstring).

    ``overrides`` (the nested ``--set`` dict) apply to every run; ``test_configs``,
    ``transfer_configs`` and ``equal_accuracy`` to board and check runs only (pilots are
    judged on validation alone). ``compile`` compiles the models measured faster compiled
    (:attr:`~opbench.config.RunSpec.compile`), a resource like the thread count.
    """

    tables: list[Table]
    out: Path
    root: Path
    settings: Settings = field(default_factory=Settings)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None
    test_configs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    transfer_configs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    equal_accuracy: bool = False
    command: str | None = None
    compile: bool = False
    _identities: dict[str, Any] = field(default_factory=dict, repr=False)

    # --- specs -----------------------------------------------------------------------

    def spec(
        self, table: Table, role: Role, lr: float | None, epochs: int | None, seed: int
    ) -> RunSpec:
        """The run spec of one run of ``table``."""
        evaluated = role != Role.pilot
        train = {} if lr is None else {"lr": lr, "gamma": GAMMA, "milestones": list(MILESTONES)}
        configs = self.test_configs.get(table.dataset, ()) if evaluated else ()
        transfers = self.transfer_configs.get(table.dataset, ()) if evaluated else ()
        return resolve(
            table.model,
            table.dataset,
            config=table.config,
            data_dir=self.data_dir,
            preset=table.preset,
            epochs=epochs,
            seed=seed,
            overrides=merge(self.overrides, {"train": train}),
            role=role,
            command=self.command,
            test_configs=[c for c in configs if c != table.config],
            transfer_configs=[c for c in transfers if c != table.config],
            equal_accuracy=evaluated and self.equal_accuracy,
            compile=self.compile,
        )

    def job(self, spec: RunSpec) -> SweepJob:
        (job,) = identify([spec], self._identities)
        return job

    # --- planning --------------------------------------------------------------------

    def plan(self) -> tuple[list[SweepJob], list[Status]]:
        """The runs ready to start, and each table's status; attaches doubling checks and
        promotes check runs as the records allow."""
        index = RecordIndex.read(self.root)
        jobs: list[SweepJob] = []
        statuses = []
        for table in self.tables:
            ready, status = self._plan_table(table, index)
            jobs += ready
            statuses.append(status)
        return jobs, statuses

    def _plan_table(self, table: Table, index: RecordIndex) -> tuple[list[SweepJob], Status]:
        settings = self.settings
        if MODELS.get(table.model).fitted:
            jobs = [self.job(self.spec(table, Role.board, None, None, s)) for s in settings.seeds]
            missing = [job for job in jobs if index.get(job.key, Role.board) is None]
            return missing, Status(table, "fitted: to run" if missing else "fitted: done")
        pilots = [
            self.job(self.spec(table, Role.pilot, lr, settings.pilot_epochs, 0))
            for lr in settings.lrs
        ]
        missing = [job for job in pilots if index.get(job.key, Role.pilot) is None]
        if missing:
            return missing, Status(table, "pilot")
        lr = best_lr(settings.lrs, [index.get(job.key, Role.pilot) for job in pilots])
        if lr is None:
            return [], Status(table, "failed: every pilot diverged")
        for rung in range(settings.max_doublings + 1):
            epochs = settings.start_epochs * 2**rung
            board = self.job(self.spec(table, Role.board, lr, epochs, 0))
            check = self.job(self.spec(table, Role.check, lr, 2 * epochs, 0))
            first = index.get(board.key, Role.board) or self._promote(board.key, index)
            checked = index.get(check.key, Role.check)
            missing = [job for job, rec in ((board, first), (check, checked)) if rec is None]
            # below the last rung, a seed-0 run still improving at the minimum rate means
            # the table climbs whatever the check says
            climbs = (
                rung < settings.max_doublings and first is not None and not plateau_passed(first)
            )
            if missing:
                if climbs:  # the next rung's check need not wait for this one
                    ahead = self.job(self.spec(table, Role.check, lr, 4 * epochs, 0))
                    if index.get(ahead.key, Role.check) is None:
                        missing.append(ahead)
                return missing, Status(table, f"rung {epochs}", lr, epochs)
            if first["train"]["best_val"] is None or checked["train"]["best_val"] is None:
                return [], Status(table, "failed: a board or check run diverged", lr, epochs)
            doubling = doubling_check(
                first["train"]["best_val"],
                checked["train"]["best_val"],
                checked["run_id"],
                2 * epochs,
            )
            seeds = [self.job(self.spec(table, Role.board, lr, epochs, s)) for s in settings.seeds]
            for job in seeds:
                if (record := index.get(job.key, Role.board)) is not None:
                    index.attach(record, doubling)
            if not doubling.passed or climbs:
                continue
            missing = [job for job in seeds if index.get(job.key, Role.board) is None]
            if missing:
                return missing, Status(table, f"seeds at {epochs}", lr, epochs)
            if all(plateau_passed(index.get(job.key, Role.board)) for job in seeds):
                return [], Status(table, f"done at {epochs}", lr, epochs)
            # a seed still improving at the minimum rate: the budget is too short
        return [], Status(table, "not converged at the last rung", lr, epochs)

    def _promote(self, key: Key, index: RecordIndex) -> Record | None:
        """The board record copied from the check run of ``key`` (the previous rung's check
        is this rung's seed-0 board run), or ``None`` if there is none."""
        checked = index.get(key, Role.check)
        if checked is None:
            return None
        record = {
            **checked,
            "run_id": f"{checked['run_id']}-board",
            "role": Role.board.value,
            "convergence": {**(checked.get("convergence") or {}), "doubling": None},
        }
        index.add([record])
        return record

    # --- running ---------------------------------------------------------------------

    def collect(self) -> None:
        """Add every finished record under ``out`` to the root's ``records/``."""
        index = RecordIndex.read(self.root)
        new = []
        for path in sorted(self.out.glob(f"*/{RECORD_NAME}")):
            record = read_record(path).to_json()
            if record["run_id"] not in index.run_ids:
                new.append(with_plateau(record))
        if new:
            index.add(new)


def plateau_passed(record: Record) -> bool:
    """Whether a record's plateau check passed."""
    plateau = (record.get("convergence") or {}).get("plateau") or {}
    return bool(plateau.get("passed"))


def best_lr(lrs: Sequence[float], pilots: Sequence[Record]) -> float | None:
    """The learning rate whose pilot reached the lowest best validation value; ``None``
    when every pilot diverged."""
    scored = [(p["train"]["best_val"], lr) for lr, p in zip(lrs, pilots, strict=True)]
    finite = [(val, lr) for val, lr in scored if val is not None]
    return min(finite)[1] if finite else None


def with_plateau(record: Record) -> Record:
    """``record`` with its plateau check, computed from its history if it lacks one (a
    record written before runs computed it); fitted baselines have none."""
    if record.get("convergence") or MODELS.get(record["model"]["name"]).fitted:
        return record
    history = record["train"]["history"]
    plateau = plateau_check(
        [h["val"] for h in history], [h["lr"] for h in history], record["train"]["config"]["lr"]
    )
    return {**record, "convergence": Convergence(plateau=plateau).model_dump(mode="json")}


@dataclass
class RecordIndex:
    """The records of a leaderboard root by (run hash, seed) and role."""

    root: Path
    records: dict[tuple[Key, str], Record]
    run_ids: set[str]

    @classmethod
    def read(cls, root: Path) -> RecordIndex:
        records = publish.read_published_records(root, missing_ok=True)
        return cls(
            root,
            {(record_key_json(r), r["role"]): r for r in records},
            {r["run_id"] for r in records},
        )

    def get(self, key: Key, role: Role) -> Record | None:
        return self.records.get((key, role.value))

    def add(self, records: Sequence[Record]) -> None:
        """Add ``records`` to the root (and its ``datasets.json``)."""
        known = publish.read_known_datasets(self.root)
        for record in records:
            known = publish.with_dataset(known, record, dataset_description(record))
        publish.write_known_datasets(known, self.root)
        publish.add_records(records, self.root)
        for record in records:
            self.records[(record_key_json(record), record["role"])] = record
            self.run_ids.add(record["run_id"])

    def attach(self, record: Record, doubling: DoublingCheck) -> None:
        """Write ``doubling`` into ``record``'s convergence section, if it is not there."""
        evidence = Convergence.model_validate(record.get("convergence") or {})
        updated = evidence.with_doubling(doubling).model_dump(mode="json")
        if record.get("convergence") != updated:
            publish.update_sections(self.root, record["run_id"], {"convergence": updated})
            record["convergence"] = updated


def record_key_json(record: Record) -> Key:
    """(run hash, seed) of a record in JSON form."""
    if record.get("run_hash") is not None:
        return record["run_hash"], record["train"]["seed"]
    return record_key(validate_record(record))


def dataset_description(record: Record) -> str:
    """How the dataset of ``record`` was made, for ``datasets.json``: the generator's label
    and the command that generates it again, from the generator's own account in the record
    (:meth:`~opbench.data.base.DatasetFamily.generated_by`)."""
    dataset = record["dataset"]
    generator = dataset.get("generator") or {}
    if dataset["source"] != "generated" or not generator:
        return f"{dataset['family']} {dataset['config']} ({dataset['source']})"
    family = DATASETS.get(dataset["family"])
    made = family.generated_by(generator)
    command = ["opbench data generate", dataset["family"], "--config", dataset["config"]]
    command += [f"--{name.replace('_', '-')} {value}" for name, value in made.options.items()]
    label = f", {made.label}" if made.label else ""
    return (
        f"opbench-generated {dataset['family']} {dataset['config']}{label}; made by "
        f"{' '.join(command)} (generator version {made.version})"
    )


Progress = Callable[[Outcome | None, list[Status]], None]


def drive(protocol: Protocol, workers: int, progress: Progress) -> list[Outcome]:
    """Run the protocol to its end with ``workers`` concurrent runs (module docstring);
    ``progress`` is called once at the start and after each finished run, with the
    tables' statuses of the plan made after it (one plan serves both the report and the
    next submissions)."""
    threads = threads_per_run(workers)
    outcomes: list[Outcome] = []
    unreported: list[Outcome | None] = [None]
    protocol.out.mkdir(parents=True, exist_ok=True)
    while True:
        with process_pool(workers, max_tasks_per_child=1) as pool:
            running: dict[concurrent.futures.Future[Outcome], SweepJob] = {}
            broken = False
            while not broken:
                before = publish.records_state(protocol.root)
                protocol.collect()
                ready, statuses = protocol.plan()
                if publish.records_state(protocol.root) != before:
                    publish.publish(protocol.root)
                for outcome in unreported:
                    progress(outcome, statuses)
                unreported = []
                busy = {job.key for job in running.values()}
                plan = sort_jobs([j for j in ready if j.key not in busy], protocol.out)
                todo = sorted(
                    plan.jobs, key=lambda j: (j.spec.role != Role.pilot, -j.spec.train.epochs)
                )
                for job in todo[: workers - len(running)]:
                    running[pool.submit(execute, job, str(protocol.out), threads)] = job
                if not running:
                    return outcomes
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished:
                    job = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool as error:
                        outcome = record_failure(job, protocol.out, f"worker died: {error}", "")
                        broken = True
                    outcomes.append(outcome)
                    unreported.append(outcome)
        time.sleep(1)


def tables_of(models: Sequence[str], datasets: Sequence[str]) -> list[Table]:
    """Every (model, preset) × ``FAMILY:CONFIG``, names checked."""
    tables = []
    for family, config in parse_datasets(datasets):
        entry = DATASETS.get(family)
        config = config or entry.default_config
        for model, preset in parse_models(models):
            tables.append(Table(model, preset, family, config))
    return tables
