"""``datasets.json``'s description of a generated dataset: the generator's label and a
command that generates the same data again (the same fingerprint), for every family."""

import shlex

import pytest
from typer.testing import CliRunner

from opbench.cli import app
from opbench.data import DATASETS, load_benchmark
from opbench.protocol import dataset_description

CASES = [
    ("condiff", "cubic0.1_grid16", {"n_train": 6, "n_test": 2}, None),
    (
        "cfdbench",
        "cavity/bc",
        {"n_cases": 10, "frames": 3, "frame_size": 16, "solver_cells": 16},
        "cfdbench-style, single-phase",
    ),
    (
        "airfrans",
        "full",
        {"n_train": 4, "n_test": 2, "n_around": 40, "n_normal": 8},
        "airfrans-style: potential flow with boundary-layer correction",
    ),
]


@pytest.mark.parametrize(("family", "config", "options", "label"), CASES)
def test_the_description_names_the_generator_and_regenerates_the_data(
    family, config, options, label, tmp_path
):
    DATASETS.get(family).generate(config, tmp_path / "first", seed=3, workers=1, **options)
    first = load_benchmark(family, config, data_dir=tmp_path / "first")
    description = dataset_description({"dataset": first.info.model_dump(mode="json")})

    assert description.startswith(f"opbench-generated {family} {config}")
    assert (label in description) if label else ("style" not in description)
    for name, value in {**options, "seed": 3}.items():
        assert f"--{name.replace('_', '-')} {value}" in description
    command = description.split("; made by ")[1].split(" (generator version")[0]
    argv = shlex.split(command)
    assert argv[:3] == ["opbench", "data", "generate"]
    result = CliRunner().invoke(
        app, [*argv[1:], "--out", str(tmp_path / "again"), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    again = load_benchmark(family, config, data_dir=tmp_path / "again")
    assert again.info.identity()["fingerprint"] == first.info.identity()["fingerprint"]


def test_real_data_is_described_by_its_source():
    record = {"dataset": {"family": "condiff", "config": "poisson_grid64", "source": "real"}}
    assert dataset_description(record) == "condiff poisson_grid64 (real)"
