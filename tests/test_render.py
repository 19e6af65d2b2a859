"""The resume command printed after an interrupted run must paste back into the user's shell."""

from __future__ import annotations

from hhbatch.cli.render import resume_command, rows_spec, rows_text

ARGV = ["run", "May campaign/活动.xlsx", "--sheet", "Launch day", "--retry-failed", "--yes"]


def test_posix_quoting_and_one_shot_flags_dropped() -> None:
    assert resume_command(ARGV, windows=False) == (
        "hhbatch run 'May campaign/活动.xlsx' --sheet 'Launch day' --yes"
    )


def test_windows_quoting() -> None:
    assert resume_command(ARGV, windows=True) == (
        'hhbatch run "May campaign/活动.xlsx" --sheet "Launch day" --yes'
    )


def test_resubmit_unknown_and_its_rows_are_dropped_too() -> None:
    for argv in (
        ["run", "c.xlsx", "--resubmit-unknown", "5,7-9", "--yes"],
        ["run", "c.xlsx", "--resubmit-unknown=5", "--yes"],
        ["run", "--resubmit-unknown", "c.xlsx", "--yes"],
    ):
        assert resume_command(argv, windows=False) == "hhbatch run c.xlsx --yes", argv


def test_rows_are_named_briefly() -> None:
    assert rows_spec([9, 5, 7, 8]) == "5,7-9"
    assert rows_text(list(range(2, 20)), limit=3) == "2, 3, 4 … (+15 more)"
