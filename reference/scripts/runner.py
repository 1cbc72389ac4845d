"""Execute a user pyscript on ``DamarisData`` the way upstream's Python action does (SPEC §3).

The file is executed (not imported) in fresh globals holding ``DamarisData`` with
``__name__ == "__main__"``. An exception in the script is reported with the server id and the
iteration, and the simulation goes on: a bug in an analysis must not kill the simulation.
"""

from __future__ import annotations

import builtins
import sys
import traceback
from pathlib import Path
from types import CodeType
from typing import TextIO

from damaris_ref.config.model import PyScript


class ScriptRunner:
    """Runs one pyscript; the file is read and compiled once, on first use."""

    def __init__(self, pyscript: PyScript, stderr: TextIO | None = None):
        self.pyscript = pyscript
        self._stderr = stderr
        self._code: CodeType | None = None

    def should_run(self, iteration: int) -> bool:
        """True when the script's ``frequency`` divides ``iteration``."""
        return iteration % self.pyscript.frequency == 0

    def _compiled(self) -> CodeType:
        if self._code is None:
            path = Path(self.pyscript.file)
            try:
                source = path.read_text()
            except OSError as exc:
                raise FileNotFoundError(
                    f"pyscript {self.pyscript.name!r}: cannot read file {str(path)!r}: "
                    f"{exc.strerror}"
                ) from None
            folder = str(path.resolve().parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)  # helper modules beside the script win, as with python
            self._code = compile(source, str(path), "exec")
        return self._code

    def run(self, damaris_data: dict, server: int, iteration: int) -> bool:
        """Execute the script once; return False (after reporting it) if it raised.

        A syntax error is an error of the script like any other (reported, the run goes on);
        an unreadable file is a configuration error and raises.
        """
        try:
            code = self._compiled()
        except SyntaxError:
            self._report(server, iteration)
            return False
        script_globals = {
            "__name__": "__main__",
            "__file__": str(self.pyscript.file),
            "__builtins__": builtins,
            "DamarisData": damaris_data,
        }
        try:
            exec(code, script_globals)
        except (Exception, SystemExit):
            self._report(server, iteration)
            return False
        return True

    def _report(self, server: int, iteration: int) -> None:
        """Write the current exception's traceback, each line prefixed with server/iteration."""
        stream = self._stderr or sys.stderr
        header = (
            f"[damaris-ref] server {server} iteration {iteration}: pyscript "
            f"{self.pyscript.name!r} ({self.pyscript.file}) raised:"
        )
        body = traceback.format_exc()
        prefix = f"[S{server} I{iteration}] "
        stream.write(header + "\n" + "".join(prefix + line + "\n" for line in body.splitlines()))
        stream.flush()
