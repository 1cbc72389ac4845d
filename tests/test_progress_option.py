"""Every command that shows progress follows one rule: the bar is drawn when stderr is a
terminal, never into a file or a pipe, unless ``--progress`` or ``--no-progress`` says so."""

from __future__ import annotations

import io

import pytest

from damaris_ref.cli import build_parser
from damaris_ref.ensemble.progress import ProgressBar

#: each command that shows progress, with the arguments it needs to parse
COMMANDS = {"stats": ["stats"], "ensemble": ["ensemble", "script.py"]}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(
    ("flags", "progress"), [([], None), (["--progress"], True), (["--no-progress"], False)]
)
def test_each_command_takes_the_same_progress_flags(command, flags, progress):
    assert build_parser().parse_args([*command, *flags]).progress is progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _drawn(stream: io.StringIO, draw: bool | None) -> str:
    with ProgressBar(2, stream, draw=draw).shown() as bar:
        bar.update(failed=False)
        bar.update(failed=True)
    return stream.getvalue()


def test_by_default_the_bar_is_drawn_on_a_terminal():
    assert _drawn(Terminal(), None).endswith(
        "[##############################] 2/2 done, 1 failed\n"
    )


def test_by_default_the_bar_is_not_drawn_into_a_file_or_a_pipe():
    assert _drawn(io.StringIO(), None) == ""


def test_progress_draws_it_anywhere_and_no_progress_nowhere():
    assert "2/2 done" in _drawn(io.StringIO(), True)
    assert _drawn(Terminal(), False) == ""
