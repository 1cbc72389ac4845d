"""A port's output is streamed to its run's folder; the suite keeps only a bounded head and
tail of it in memory (a port that printed 1 GB drove the suite to 2.1 GB)."""

from __future__ import annotations

import sys

from damaris_ref.conformance.cases import case_by_id
from damaris_ref.conformance.impls import CommandImplementation, CommandTemplate
from damaris_ref.conformance.runs import OUTPUT_HEAD_BYTES, OUTPUT_TAIL_BYTES, read_bounded

#: a port that prints a first line, 8 MB, and a last line (ignores its arguments)
NOISY = (
    "import sys; w = sys.stdout.write; w('first line\\n'); "
    "[w('x' * 99 + '\\n') for _ in range(80000)]; w('last line\\n')"
)


def test_a_port_that_prints_megabytes_is_kept_as_a_bounded_head_and_tail(tmp_path):
    template = CommandTemplate(f"{sys.executable} -c {NOISY!r} {{config}} {{np}} {{iterations}}")
    port = CommandImplementation({"3dmesh_py": template}, frozenset(), "yaml")
    run = port.run(case_by_id("seed-5ranks-1core"), tmp_path, tmp_path / "probe.py", 60)
    whole = (tmp_path / "stdout.txt").stat().st_size
    assert whole > 8_000_000  # all of it in the run's folder
    assert len(run.stdout) <= OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES + 200
    assert run.stdout.startswith("first line\n") and run.stdout.endswith("last line\n")
    assert f"bytes left out here; the whole output is in {tmp_path / 'stdout.txt'}" in run.stdout


def test_a_small_output_is_kept_whole(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("C++    iteration  0 , Sum () = 98304\n")
    assert read_bounded(path) == "C++    iteration  0 , Sum () = 98304\n"


def test_the_kept_head_and_tail_hold_whole_lines(tmp_path):
    path = tmp_path / "out.txt"
    line = "y" * 999 + "\n"
    path.write_text(line * (3 * (OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES) // len(line)))
    head, _, tail = read_bounded(path).partition("[...")
    assert set(head.splitlines()) == {"y" * 999}
    assert set(tail.split("\n", 1)[1].splitlines()) == {"y" * 999}
