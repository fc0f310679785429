"""The generation cache and its worker pools when a run is killed or has to wait.

A run killed while it generates must leave no worker process behind (one that held the
cache lock would make the next run wait forever), and the next run must complete and
remove the killed run's temporary directory. A run that waits for another's lock says so.
The kill tests read /proc, so they run on Linux only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from opbench.data.cache import ensure_generated, generated_root

REPO = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state, ppid, pgrp, ...), ``None`` if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces


def _group(pgrp: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgrp``.

    The child under test leads its own group, which its pool workers (and multiprocessing's
    resource tracker) inherit, so they are found even after they were reparented.
    """
    found = []
    for name in os.listdir("/proc"):
        fields = _stat(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgrp:
            found.append(int(name))
    return found


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _kill_group_members(pgrp: int) -> None:
    """SIGKILL what is left of the group we started (only on failure: nothing should be)."""
    for pid in _group(pgrp):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _env(*paths: Path) -> dict[str, str]:
    """This environment ($OPBENCH_HOME from the autouse fixture) importing this checkout."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (REPO, *paths))}


def _start(script: str, *args: str, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    """``python -c script args`` in a new process group (see :func:`_group`).

    Its output goes to the file ``output``, not to pipes, which its workers would keep open.
    """
    with output.open("w") as file:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=REPO,
            env=env,
            stdout=file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill_parent_only(child: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL ``child`` (not its group) and return its group's survivors after 10 s."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    deadline = time.monotonic() + 10
    while (survivors := _group(child.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return survivors


POOL_TASK = """
import os
import time
from pathlib import Path


def work(directory):
    Path(directory, str(os.getpid())).touch()
    while Path(directory, "block").exists():
        time.sleep(0.05)
    return os.getpid()
"""

POOL_PARENT = """
import sys
import pooltask
from opbench.workers import process_pool

with process_pool(2) as pool:
    print(sorted(pool.map(pooltask.work, [sys.argv[1]] * 2)))
"""


@linux_only
def test_pool_workers_die_with_their_parent(tmp_path: Path) -> None:
    (tmp_path / "pooltask.py").write_text(POOL_TASK)
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "block").touch()
    output = tmp_path / "output.txt"
    child = _start(POOL_PARENT, str(marks), env=_env(tmp_path), output=output)
    try:
        # Both workers run a task: their initializer is done, the parent-death signal set.
        _wait_for(
            lambda: len(list(marks.glob("[0-9]*"))) == 2 or child.poll() is not None,
            60,
            "both workers to start a task",
        )
        assert child.poll() is None, output.read_text()
        workers = sorted(int(path.name) for path in marks.glob("[0-9]*"))
        assert set(workers) <= set(_group(child.pid))
        assert _kill_parent_only(child) == []
    finally:
        child.kill()
        _kill_group_members(child.pid)


GENERATE = """
from opbench.data.cache import ensure_generated, generated_root
from opbench.data.condiff.generate import generate

root = generated_root("condiff", "cubic0.1_grid64", {"test": "killed generation"})
ensure_generated(root, lambda tmp: generate("cubic0.1_grid64", tmp, 100, 20, workers=2))
print(root)
"""


@linux_only
def test_a_killed_generation_leaves_no_workers_and_the_next_run_completes(tmp_path: Path) -> None:
    root = generated_root("condiff", "cubic0.1_grid64", {"test": "killed generation"})

    def building() -> list[Path]:
        if not root.parent.is_dir():
            return []
        return [p for p in root.parent.glob(f".{root.name}.*") if p.is_dir()]

    output = tmp_path / "output.txt"
    child = _start(GENERATE, env=_env(), output=output)
    try:
        _wait_for(
            lambda: (building() and len(_group(child.pid)) >= 3) or child.poll() is not None,
            60,
            "the generation to start its pool",
        )
        assert child.poll() is None, output.read_text()
        stale = building()
        survivors = _kill_parent_only(child)
        try:
            again = subprocess.run(
                [sys.executable, "-c", GENERATE],
                cwd=REPO,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            second = "completed" if again.returncode == 0 else f"failed: {again.stderr[-2000:]}"
        except subprocess.TimeoutExpired:
            second = "still waiting after 60 s"
        left = [p.name for p in stale if p.exists()]
        assert (survivors, second, left, root.is_dir()) == ([], "completed", [], True), (
            f"{len(survivors)} processes of the killed run left; the second run {second}; "
            f"temporary directories left: {left}"
        )
    finally:
        child.kill()
        _kill_group_members(child.pid)


def test_a_run_waiting_for_the_lock_says_what_it_waits_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opbench.data.cache")
    root = tmp_path / "cache" / "config-0123"
    root.parent.mkdir()
    lock = root.parent / f".{root.name}.lock"

    def build(tmp: Path) -> None:
        (tmp / "data.txt").write_text("built")

    def waiting() -> list[str]:  # (the test's own directory name has "waiting" in it)
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting")]

    waiter = threading.Thread(target=ensure_generated, args=(root, build), daemon=True)
    with FileLock(lock):
        waiter.start()
        _wait_for(lambda: bool(waiting()), 10, "the log line")
        assert waiter.is_alive() and not root.exists()
    waiter.join(timeout=10)
    assert (root / "data.txt").read_text() == "built"
    [message] = waiting()
    assert str(root) in message and str(lock) in message


def test_stale_temporary_directories_are_removed_before_building(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opbench.data.cache")
    root = tmp_path / "config-0123"
    stale = tmp_path / f".{root.name}.k1ll3d_x"
    (stale / "config").mkdir(parents=True)
    (stale / "config" / "half.h5").write_text("partial")
    other = tmp_path / f".{root.name}.v2.abcd1234"  # a build of root "config-0123.v2"
    other.mkdir()
    ensure_generated(root, lambda tmp: (tmp / "config").mkdir())
    assert (root / "config").is_dir()
    assert not stale.exists() and other.is_dir()
    assert any(stale.name in r.getMessage() for r in caplog.records)
    left = {p.name for p in tmp_path.iterdir()} - {f".{root.name}.lock"}
    assert left == {root.name, other.name}


@linux_only
@pytest.mark.parametrize("parent_alive", [True, False])
def test_a_worker_exits_if_its_parent_is_gone_when_it_starts(parent_alive: bool) -> None:
    parent = "os.getppid()" if parent_alive else "os.getpid()"  # not its parent: "gone"
    script = (
        "import os\nfrom opbench.workers import _die_with_parent\n"
        f"_die_with_parent({parent}, print, ('initializer ran',))\nprint('kept running')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=_env(), capture_output=True, text=True
    )
    assert result.stderr == ""
    if parent_alive:
        assert (result.returncode, result.stdout) == (0, "initializer ran\nkept running\n")
    else:
        assert (result.returncode, result.stdout) == (1, "")


def test_a_script_without_a_main_guard_gets_an_error_not_a_hang(tmp_path: Path) -> None:
    # Spawned workers import the main script; this one generates at import time, and its
    # workers would wait for the lock their parent holds.
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from opbench.data.cache import ensure_generated, generated_root
            from opbench.data.condiff.generate import generate

            root = generated_root("condiff", "exponential0.4_grid12", {"test": "unguarded"})
            ensure_generated(
                root, lambda tmp: generate("exponential0.4_grid12", tmp, 20, 4, workers=2)
            )
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert 'if __name__ == "__main__":' in result.stderr


def test_generating_into_the_cache_says_where(tmp_path, caplog):
    """A run that generates its data says so, and where, before the wait."""
    root = tmp_path / "cache" / "data"
    with caplog.at_level(logging.INFO, logger="opbench"):
        ensure_generated(root, lambda tmp: (tmp / "file").write_text("x"))
    assert f"generating data into {root}" in caplog.text
    assert "generated in" in caplog.text
