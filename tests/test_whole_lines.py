"""A rank's own lines reach ``mpiexec`` whole: each is written at once, when it ends, even
where ``PYTHONUNBUFFERED`` would write every value of a ``print`` apart."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from damaris_ref.runtime.rank_main import write_whole_lines
before = (sys.stdout.write_through, sys.stderr.write_through)
write_whole_lines()
after = [(s.line_buffering, s.write_through) for s in (sys.stdout, sys.stderr)]
print(before, after)
"""


def test_an_unbuffered_rank_writes_its_lines_whole():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # unbuffered: every piece written apart; then line-buffered: one write per line
    assert done.stdout.strip() == "(True, True) [(True, False), (True, False)]"
