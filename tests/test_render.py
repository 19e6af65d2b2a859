"""The resume command printed after an interrupted run must paste back into the user's shell."""

from __future__ import annotations

from hhbatch.cli.render import resume_command

ARGV = ["run", "May campaign/活动.xlsx", "--sheet", "Launch day", "--retry-failed", "--yes"]


def test_posix_quoting_and_one_shot_flags_dropped() -> None:
    assert resume_command(ARGV, windows=False) == (
        "hhbatch run 'May campaign/活动.xlsx' --sheet 'Launch day' --yes"
    )


def test_windows_quoting() -> None:
    assert resume_command(ARGV, windows=True) == (
        'hhbatch run "May campaign/活动.xlsx" --sheet "Launch day" --yes'
    )
