"""What `opbench run` prints after the results table: the files it wrote, and where the
run sits against the published board's converged rows."""

from __future__ import annotations

from pathlib import Path

from test_leaderboard import board
from test_record import make_record

from opbench.report import board_comparison, files_written
from opbench.results.publish import add_records
from opbench.results.record import validate_record


def _board(root: Path) -> None:
    records = [make_record("unet", s, 0.2, config="cubic0.1_grid32") for s in range(3)]
    records += [make_record("fno", s, 0.3, config="cubic0.1_grid32") for s in range(3)]
    records += [
        make_record("lsm", s, 0.1, config="cubic0.1_grid32", converged=False) for s in range(3)
    ]
    records += [make_record("unet", s, 0.25, config="cubic2.0_grid32") for s in range(3)]
    add_records(board(*records), root)


def test_a_run_on_a_board_table_sees_its_converged_rows(tmp_path: Path) -> None:
    _board(tmp_path)
    run = validate_record(make_record("fno", 0, 0.5, config="cubic0.1_grid32", converged=False))
    lines = board_comparison(run, tmp_path)
    assert lines[0].startswith("The board (") and "condiff cubic0.1_grid32 / steady" in lines[0]
    shown = [line.split()[1] for line in lines[1:3]]
    assert shown == ["unet", "fno"]  # converged rows only, by rank: lsm is not converged
    assert not any(" lsm " in line for line in lines)
    assert lines[-1].startswith("This run: rel_l2 0.5 after 3 epochs at lr 0.001")
    assert "it has not converged: validation still improved 20 %" in lines[-1]


def test_a_run_on_another_config_sees_the_best_of_each_family_table(tmp_path: Path) -> None:
    _board(tmp_path)
    run = validate_record(make_record("fno", 0, 0.5, config="cubic0.1_grid64"))
    lines = board_comparison(run, tmp_path)
    assert "no converged rows for condiff cubic0.1_grid64 / steady" in lines[0]
    assert lines[1].startswith("  cubic0.1_grid32 / steady: unet rel_l2 0.2000")
    assert lines[2].startswith("  cubic2.0_grid32 / steady: unet rel_l2 0.2500")


def test_without_a_board_the_run_says_so(tmp_path: Path) -> None:
    run = validate_record(make_record("mean", 0, 1.0))
    lines = board_comparison(run, tmp_path / "nowhere")
    assert lines[0].startswith(f"No published board at {tmp_path / 'nowhere'} to compare with")
    assert lines[1].startswith("This run: rel_l2 1 after 3 epochs")
    assert files_written(run) == ["record.json"]
