"""Run records and the leaderboards built from them.

- :mod:`~opbench.results.record`: the versioned, typed ``record.json``; validated write
  and read.
- :mod:`~opbench.results.outputs`: predictions and pictures written beside a record.
- :mod:`~opbench.results.leaderboard`: records → ranked rows aggregated over seeds.
- :mod:`~opbench.results.render`: rows and records → Markdown tables and a CSV.
- :mod:`~opbench.results.html`: rows and records → the static leaderboard page.
- :mod:`~opbench.results.publish`: a leaderboard directory: records in, files out.
- :mod:`~opbench.results.submit`: checks a record from elsewhere before it joins.
"""

from opbench.results.leaderboard import LeaderboardRow, Stat, leaderboard_rows, record_frame
from opbench.results.record import (
    SCHEMA_VERSION,
    Record,
    read_record,
    read_records,
    validate_record,
    write_record,
)
from opbench.results.render import render_csv, render_markdown

__all__ = [
    "SCHEMA_VERSION",
    "LeaderboardRow",
    "Record",
    "Stat",
    "leaderboard_rows",
    "read_record",
    "read_records",
    "record_frame",
    "render_csv",
    "render_markdown",
    "validate_record",
    "write_record",
]
