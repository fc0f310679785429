"""The run record's ``git_revision``: the commit, and ``-dirty`` only for changed source."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opbench.environment import git_revision


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A committed checkout with a package file, pyproject.toml and a board record."""
    for name in ("opbench/run.py", "pyproject.toml", "leaderboards/records/a.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("0\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def test_a_clean_checkout_is_its_commit(checkout):
    assert git_revision(checkout) == git(checkout, "rev-parse", "HEAD").strip()


def test_board_writes_and_untracked_files_leave_it_clean(checkout):
    """A sweep driver writes its board into the checkout it runs from."""
    (checkout / "leaderboards/records/a.json").write_text("1\n")
    (checkout / "leaderboards/records/b.json").write_text("new\n")
    assert not git_revision(checkout).endswith("-dirty")


@pytest.mark.parametrize("changed", ["opbench/run.py", "pyproject.toml"])
def test_changed_source_is_dirty(checkout, changed):
    (checkout / changed).write_text("1\n")
    assert git_revision(checkout) == git(checkout, "rev-parse", "HEAD").strip() + "-dirty"


def test_outside_a_checkout_there_is_none(tmp_path):
    assert git_revision(tmp_path) is None
