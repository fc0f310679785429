"""Performance suite (pytest-benchmark): ``pytest benchmarks/``.

Each benchmark times opbench code and a yardstick **in the same run** and reports their
ratio in ``extra_info`` (and on the terminal): these machines are noisy, so only ratios
measured together mean anything. Nothing here asserts a time.
"""

import statistics
import time
from collections.abc import Callable

import pytest


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` (seconds), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.fixture
def report_ratio(benchmark, capsys):
    """Store ``subject / yardstick`` (medians) in the benchmark's extra_info and print it."""

    def report(name: str, yardstick_seconds: float) -> float:
        subject = benchmark.stats.stats.median
        ratio = subject / yardstick_seconds
        benchmark.extra_info.update(
            {f"{name}_yardstick_s": yardstick_seconds, f"{name}_ratio": ratio}
        )
        with capsys.disabled():
            print(
                f"\n{benchmark.name}: {name} ratio = {ratio:.3f} "
                f"(subject {subject * 1e3:.2f} ms, yardstick {yardstick_seconds * 1e3:.2f} ms)"
            )
        return ratio

    return report
