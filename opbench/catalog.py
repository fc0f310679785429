"""What ``opbench list`` shows: tables built from the registries."""

from __future__ import annotations

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from opbench.tasks import TaskSpec

REFERENCE_TASK = TaskSpec(
    name="steady",
    layout="grid",
    input_fields=("k", "f"),
    output_fields=("u",),
    spatial_shape=(64, 64),
    boundary="zero-dirichlet",
)
"""The task parameter counts are quoted on: ConDiff diffusion at grid 64 (2 → 1 channels)."""


def model_parameter_count(
    name: str, preset: str = "small", task: TaskSpec = REFERENCE_TASK
) -> int | None:
    """Trainable parameters of ``name`` at ``preset`` on ``task`` (None if incompatible)."""
    from opbench.models import MODELS, build_surrogate, count_parameters

    entry = MODELS.get(name)
    if task.layout not in entry.layouts:
        return None
    return count_parameters(build_surrogate(name, task, entry.preset(preset)["model"]))


def models_markdown() -> str:
    """The model × layout compatibility table for the README, from the registry."""
    from opbench.models import MODELS
    from opbench.tasks import LAYOUTS

    rows = []
    for name, entry in MODELS.items():
        params = model_parameter_count(name)
        rows.append(
            {
                "model": f"`{name}`",
                **{layout: "✓" if layout in entry.layouts else "—" for layout in LAYOUTS},
                "presets": ", ".join(entry.presets),
                "params (small, 64² 2→1)": f"{params:,}" if params is not None else "—",
                "description": entry.description,
            }
        )
    return (
        pd.DataFrame(rows).to_markdown(index=False, tablefmt="pipe", disable_numparse=True) + "\n"
    )


def models_table() -> Table:
    from opbench.models import MODELS

    table = Table(
        title="models (params: small preset on a 64² ConDiff diffusion task; "
        "complex parameters count twice)"
    )
    for column in ("model", "layouts", "presets", "params", "description", "citation"):
        table.add_column(column, overflow="fold")
    for name, entry in MODELS.items():
        params = model_parameter_count(name)
        table.add_row(
            name,
            ", ".join(entry.layouts),
            ", ".join(entry.presets),
            f"{params:,}" if params is not None else "—",
            entry.description,
            entry.citation,
        )
    return table


def datasets_text() -> Group:
    """One block per family: title, default config, tasks (with their layouts), all configs,
    citation."""
    from opbench.data import DATASETS

    blocks = []
    for name, family in DATASETS.items():
        blocks.append(Text(f"{name}: {family.title}", style="bold"))
        tasks = ", ".join(f"{task} ({layout})" for task, layout in family.tasks().items())
        blocks.append(Text(f"  default config: {family.default_config}; tasks: {tasks}"))
        blocks.append(Text(f"  configs ({len(family.configs())}): {', '.join(family.configs())}"))
        blocks.append(
            Text("  cite:\n" + "\n".join(f"    {line}" for line in family.citation.splitlines()))
        )
    return Group(*blocks)


def metrics_table() -> Table:
    from opbench.eval.metrics import METRICS

    table = Table(
        title="metrics (per sample; summarised as mean, std, median over the test "
        "set). Families add physics metrics, e.g. ConDiff's residual "
        "‖A(k)P − f‖/‖f‖."
    )
    for column in ("metric", "definition", "source"):
        table.add_column(column, overflow="fold")
    for name, metric in METRICS.items():
        table.add_row(name, metric.definition, metric.source)
    return table
