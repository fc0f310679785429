"""Typed run configuration, validated once: pydantic models and ``--set`` as dict updates.

A run is described by a :class:`RunSpec`: the model and its hyperparameters, the dataset
family, config and task, the trainer settings (:class:`TrainConfig`) and the family's data
options (a subclass of :class:`DataOptions`). Every model forbids unknown keys and
constrains its values (finite numbers, positive sizes, seeds the random-number generators
accept), so bad input is refused with a :class:`~opbench.errors.ConfigError` that names
the option and the allowed values before any work is done.

Values are merged defaults < model preset < command-line options < ``--set``. On the
command line ``--set a.b=v`` is a dotted-path update of a nested dict
(:func:`parse_set`): the value is read as JSON (``3``, ``0.5``, ``true``, ``null``,
``[16,16]``), otherwise as a string. The library passes such dicts and the typed objects,
never option strings. This module looks nothing up in a registry: names of optimisers,
schedules and losses are checked where the trainer is built
(:func:`opbench.train.optim.check_names`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from opbench.errors import ConfigError, unknown_name
from opbench.io import stable_hash

SECTIONS = ("model", "train", "data")
"""What ``--set`` may address: model hyperparameters, trainer settings, data options."""

MAX_SEED = 2**32 - 1
"""Seeds are 0 … 2³²−1: the range every generator opbench seeds accepts (numpy's legacy
``np.random.seed`` is the narrowest)."""

Count = Annotated[int, Field(strict=True, ge=0)]
"""A non-negative integer (a number of samples or epochs)."""
Size = Annotated[int, Field(strict=True, ge=1)]
"""A positive integer (a width, a depth, a batch size)."""
Sizes = Annotated[tuple[Size, ...], Field(strict=False, min_length=1)]
"""One or more positive integers (per-level widths, Fourier modes per dimension); a JSON
list is read as the tuple."""
Widths = Annotated[tuple[Size, ...], Field(strict=False)]
"""Zero or more positive integers (the hidden widths of an optional MLP)."""
Counts = Annotated[tuple[Count, ...], Field(strict=False, min_length=1)]
"""One or more non-negative integers."""
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
"""Any finite number."""
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]
"""A random seed in [0, 2³²−1]."""
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite number > 0."""
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A finite number ≥ 0."""
OpenFraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
"""A number in the open interval (0, 1)."""
Name = Annotated[str, Field(min_length=1)]


class Device(StrEnum):
    """Where a run computes."""

    cpu = "cpu"
    cuda = "cuda"


class Preset(StrEnum):
    """Model presets: ``small`` (minutes on a CPU) and ``paper`` (the published recipe),
    which every registered model declares, and ``small32``, which a model declares where
    its ``small`` preset wastes work on 32² grids (LSM pads them to 64²)."""

    small = "small"
    paper = "paper"
    small32 = "small32"


REQUIRED_PRESETS = (Preset.small, Preset.paper)
"""The presets every registered model must declare."""


class Engine(StrEnum):
    """Where a sweep's runs execute: a local process pool, or Ray tasks."""

    local = "local"
    ray = "ray"


class BudgetName(StrEnum):
    """The budgets every reproduction declares, smallest first."""

    tiny = "tiny"
    small = "small"
    paper = "paper"


class Role(StrEnum):
    """What a run record is for: a leaderboard row (``board``), a learning-rate or budget
    pilot (``pilot``), or a convergence check at a larger budget (``check``)."""

    board = "board"
    pilot = "pilot"
    check = "check"


E = TypeVar("E", bound=StrEnum)


def choice(enum: type[E], value: E | str, option: str) -> E:
    """``value`` as a member of ``enum``; a ConfigError naming ``option`` and the allowed
    values (and close ones) otherwise."""
    try:
        return enum(value)
    except ValueError:
        raise unknown_name(option, str(value), [member.value for member in enum]) from None


def check_seed(seed: Any, option: str = "seed") -> int:
    """``seed`` if it is a :data:`Seed`; a ConfigError naming ``option`` otherwise."""
    try:
        return TypeAdapter(Seed).validate_python(seed)
    except ValidationError:
        raise ConfigError(
            f"{option}: {seed!r} is not a seed (allowed: an integer >= 0 and <= {MAX_SEED})"
        ) from None


class StrictModel(BaseModel):
    """Base of opbench's configuration models: unknown keys are errors, integers are not
    taken from booleans, floats, or strings, and floats must be finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class TrainConfig(StrictModel):
    """Trainer settings. Schedules are expressed as fractions of the step budget.

    Attributes:
        epochs: epoch budget.
        batch_size: training batch size.
        eval_batch_size: batch size for validation and test.
        optimizer: a registered optimiser (``adam``, ``adamw``).
        lr, weight_decay: optimiser settings.
        schedule: a registered learning-rate schedule (:mod:`opbench.train.optim`):
            ``step`` (×gamma at each milestone), ``cosine`` (to lr·min_lr_ratio),
            ``constant``, or ``onecycle`` (PyTorch's ``OneCycleLR`` peaking at ``lr`` after
            ``warmup_fraction`` of the steps, the AirfRANS reference's schedule).
        milestones: step-schedule milestones as fractions of the total number of steps.
        gamma: step-schedule factor.
        min_lr_ratio: final learning rate of the cosine schedule, relative to ``lr``.
        warmup_fraction: share of the steps over which ``onecycle`` rises to ``lr``.
        loss: a registered training loss (:mod:`opbench.train.losses`), computed in
            normalised units.
        grad_clip: clip the global gradient norm to this value (``null`` disables).
        patience: stop after this many epochs without validation improvement (``null``
            disables early stopping).
        max_minutes: wall-clock budget for training; the run stops cleanly and is
            recorded with status ``budget``. Progress-based schedules then advance with
            max(step / total steps, elapsed / budget), so a model compared at equal
            wall-clock still decays its learning rate (such runs are not bitwise
            reproducible: their schedule depends on the machine's speed).
        amp: bfloat16 autocast on CUDA (ignored on CPU, which trains in float32).
        data_weight: weight of the supervised loss (0 with ``physics_weight`` > 0 trains
            label-free).
        physics_weight: weight of the dataset's physics loss (ConDiff: the spectral residual
            Σ DST-I(A(k)u − f)² / Σ f², see :mod:`opbench.data.condiff.family`).
    """

    epochs: Count = 25
    batch_size: Size = 16
    eval_batch_size: Size = 64
    optimizer: Name = "adamw"
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 1e-4
    schedule: Name = "step"
    milestones: list[OpenFraction] = Field(default_factory=lambda: [0.25, 0.5, 0.75])
    gamma: PositiveFloat = 0.5
    min_lr_ratio: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    warmup_fraction: OpenFraction = 0.3
    loss: Name = "rel_l2"
    grad_clip: PositiveFloat | None = 1.0
    patience: Size | None = None
    max_minutes: PositiveFloat | None = None
    amp: bool = False
    data_weight: NonNegativeFloat = 1.0
    physics_weight: NonNegativeFloat = 0.0

    @model_validator(mode="after")
    def _some_loss(self) -> TrainConfig:
        if self.data_weight == 0 and self.physics_weight == 0:
            raise ValueError(
                "train.data_weight and train.physics_weight are both 0: no loss; allowed: at "
                "least one of them > 0"
            )
        return self


class DataOptions(StrictModel):
    """Base of a dataset family's data options (``--set data.<name>=value``).

    The options enter a run's identity through the data they produce: the files and the
    split by the data fingerprint, and the options that change the task beyond the files
    (ConDiff's ``k_to_vertex``) through the family's dataset metadata
    (:meth:`opbench.data.metadata.DatasetInfo.task_options`).

    Attributes:
        max_memory_gb: the memory budget (GiB) of the training split: when its tensors
            would take more, the family reads it from disk batch by batch
            (:mod:`opbench.data.streaming`) with the same batches per seed; ``None``: half
            the machine's memory. Resource only: the data and the results do not depend
            on it.
    """

    max_memory_gb: PositiveFloat | None = None


class RunSpec(StrictModel):
    """A fully resolved, validated run (stored as the run directory's ``config.json``).

    Built by :func:`opbench.run.resolve`; the data options are the family's
    :class:`DataOptions` subclass (given as the validation context ``data_options`` when a
    spec is read back, see :meth:`load`).

    Attributes:
        model, dataset, config, task: what runs on what.
        preset: the model preset the values started from.
        seed: the run seed (initialisation, shuffling).
        device: where it computes (resource only: not part of :meth:`run_hash`).
        data_dir: the root of real or generated files; ``None`` generates into the cache
            (resource only: the data enter the run's identity by fingerprint).
        hyperparameters: the model builder's keyword arguments (preset plus overrides),
            validated against the model's declared hyperparameters.
        train: trainer settings.
        data: the family's data options.
        test_configs: further configs of the family to score the trained model on.
        role: what the record is for (not part of :meth:`run_hash`).
        command: the command line that asked for the run (not part of :meth:`run_hash`).
        compile: compile the network with ``torch.compile`` where the model declares it
            faster (:attr:`~opbench.models.base.ModelFlags.compile_faster`; other models
            run eager). Resource only, like the thread count: it reorders float operations
            but computes the same function; ``benchmarks/README.md`` gives the speed-ups
            and what a first compilation costs.
        transfer_configs: configs of the family on other grids (the same physical test
            samples) to score the trained model on without retraining, against the
            interpolation yardstick (:mod:`opbench.eval.transfer`; an evaluation, not part
            of :meth:`run_hash`).
        equal_accuracy: also measure the family's numerical solver on the test split and
            place the model on its cost–accuracy curve (:mod:`opbench.eval.equal_accuracy`;
            an evaluation, not part of :meth:`run_hash`).
    """

    model: Name
    dataset: Name
    config: Name
    task: Name
    preset: Annotated[Preset, Field(strict=False)] = Preset.small
    seed: Seed = 0
    device: Annotated[Device, Field(strict=False)] = Device.cpu
    data_dir: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    train: TrainConfig = Field(default_factory=TrainConfig)
    data: SerializeAsAny[DataOptions] = Field(default_factory=DataOptions)
    test_configs: list[Name] = Field(default_factory=list)
    role: Annotated[Role, Field(strict=False)] = Role.board
    command: str | None = None
    compile: bool = False
    transfer_configs: list[Name] = Field(default_factory=list)
    equal_accuracy: bool = False

    @field_validator("data", mode="before")
    @classmethod
    def _family_options(cls, value: Any, info: ValidationInfo) -> Any:
        options_type = (info.context or {}).get("data_options")
        if options_type is None or isinstance(value, options_type):
            return value
        return options_type.model_validate(value)

    @classmethod
    def load(cls, values: Mapping[str, Any], data_options: type[DataOptions]) -> RunSpec:
        """A spec from its JSON form (``config.json``); ConfigError if it is invalid."""
        return validated(cls, values, "config", context={"data_options": data_options})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def run_hash(self, data_identity: Mapping[str, Any]) -> str:
        """The canonical identity of the run's result, without the seed (see
        :func:`run_hash`)."""
        return run_hash(
            self.model, self.hyperparameters, self.train, data_identity, self.test_configs
        )


def run_hash(
    model: str,
    hyperparameters: Mapping[str, Any],
    train: TrainConfig,
    data_identity: Mapping[str, Any],
    test_configs: Sequence[str] = (),
) -> str:
    """Short hash of everything that changes a run's result, seed aside.

    It covers the model and its hyperparameters (as given: preset plus overrides, in JSON
    form), the trainer settings, the data by identity (family, config, task, data
    fingerprint and the task options that the files do not fix, see
    :meth:`opbench.data.base.DatasetInfo.identity`) and the further test configs. Paths,
    device, thread and worker counts, the role and the command line are left out: moving
    the data or running on more threads is the same run.
    """
    return stable_hash(
        {
            "model": model,
            "hyperparameters": dict(hyperparameters),
            "train": train.model_dump(mode="json"),
            "data": dict(data_identity),
            "test_configs": sorted(test_configs),
        }
    )


M = TypeVar("M", bound=BaseModel)


def validated(
    model: type[M],
    values: Mapping[str, Any],
    section: str,
    context: Mapping[str, Any] | None = None,
) -> M:
    """``model.model_validate(values)``, a ConfigError naming ``section.<key>`` and the
    allowed values (or close names, for an unknown key) on failure."""
    try:
        return model.model_validate(dict(values), context=dict(context or {}))
    except ValidationError as error:
        raise config_error(error, model, section) from None


def config_error(error: ValidationError, model: type[BaseModel], section: str) -> ConfigError:
    """One clause per problem, ``section.key=value: what is wrong (allowed: …)``, joined by
    ``; `` so that the message stays one line; unknown keys get close-name suggestions."""
    schema = model.model_json_schema()
    problems = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        path = section
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            known = sorted(_schema_at(schema, loc[:-1]).get("properties", {}))
            where = ".".join(part for part in [section, *loc[:-1]] if part)
            problems.append(str(unknown_name(f"{where} option", loc[-1], known)).rstrip("."))
        elif not loc:
            problems.append(f"{section}: {message}" if section else message)
        else:
            shown = "" if item["type"] == "missing" else f"={_short(item['input'])}"
            listed = item["type"] in ("enum", "literal_error")  # the message names them
            allowed = "" if listed else _describe(_schema_at(schema, loc), schema)
            problems.append(
                f"{path}{shown}: {message}" + (f" (allowed: {allowed})" if allowed else "")
            )
    return ConfigError("; ".join(problems))


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` and a nullable ``anyOf`` to the schema of the value itself."""
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rpartition("/")[2]]
    options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
    if len(options) == 1:
        node = {**_resolve(options[0], root), "nullable": True}
    return node


def _schema_at(schema: dict[str, Any], loc: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of the value at ``loc`` (keys and list indices) inside ``schema``."""
    node = _resolve(schema, schema)
    for part in loc:
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif part.isdigit() and "items" in node:
            node = node["items"]
        else:
            return {}
        node = _resolve(node, schema)
    return node


_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
_KINDS = {"integer": "an integer", "number": "a finite number", "boolean": "true or false"}


def _describe(node: dict[str, Any], root: dict[str, Any]) -> str:
    """A field's allowed values in words: ``an integer >= 1``, ``'cpu', 'cuda'``."""
    if "enum" in node or "const" in node:
        return ", ".join(repr(v) for v in node.get("enum", [node.get("const")]))
    if node.get("type") == "array" and "items" in node:
        inner = _describe(_resolve(node["items"], root), root)
        text = f"a list of {inner.removeprefix('a ').removeprefix('an ')}s" if inner else ""
    else:
        bounds = [f"{sign} {node[key]!r}" for key, sign in _BOUNDS.items() if key in node]
        text = " ".join([_KINDS.get(node.get("type", ""), ""), " and ".join(bounds)]).strip()
    return f"{text} or null" if text and node.get("nullable") else text


def parse_value(text: str) -> Any:
    """JSON value if ``text`` parses as JSON (``Infinity`` and ``NaN`` are refused later, by
    the field's finiteness check), otherwise the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``["model.width=64", "train.lr=3e-4"]`` → ``{"model": {"width": 64}, "train":
    {"lr": 0.0003}}``: each item a dotted path into a nested dict."""
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or len(path) < 2 or not all(path):
            raise ConfigError(
                f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of "
                f"{', '.join(SECTIONS)} (e.g. train.lr=3e-4)"
            )
        if path[0] not in SECTIONS:
            raise unknown_name("--set section", path[0], SECTIONS)
        updates = merge(updates, _nested(path, parse_value(text.strip())))
    return updates


def format_overrides(overrides: Mapping[str, Any]) -> str:
    """A nested overrides dict as the ``--set`` items that give it (for display):
    ``{"train": {"lr": 0.001}}`` → ``train.lr=0.001``."""
    items = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, str) and parse_value(value) == value:
            items.append(f"{prefix}={value}")  # a plain name reads back as itself
        else:
            items.append(f"{prefix}={json.dumps(value, separators=(',', ':'))}")

    walk("", overrides)
    return " ".join(items)


def _nested(path: Sequence[str], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return value


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, recursively for nested dicts (a new dict)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The three sections of an overrides dict (missing ones empty); ConfigError for an
    unknown section or a section that is not a dict."""
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise unknown_name("override section", section, SECTIONS)
        if not isinstance(values, Mapping):
            raise ConfigError(f"overrides[{section!r}] must be a dict of options, not {values!r}")
    return {section: dict(overrides.get(section, {})) for section in SECTIONS}
