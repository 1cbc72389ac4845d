"""Execute a user pyscript on ``DamarisData`` the way upstream's Python action does (spec §3).

Upstream runs the file with ``exec(code, G, L)`` and two different dictionaries that both live
for the whole run: ``G`` is the server's ``__main__`` namespace, shared by every pyscript of
that server, and ``L`` is one dictionary per pyscript holding ``DamarisData``. Names bound at
the script's top level land in ``L``, so the script's own functions (whose globals are ``G``)
do not see them, and they persist from one iteration to the next. The reference reproduces
that model exactly, so a script that runs here runs on Damaris too. ``__file__`` is not set and
``sys.path`` is left alone, as upstream does.

The server runs each run inside its script scope (:mod:`damaris_ref.runtime.server_role`): the
rank's context, which ``damaris4py`` reads, and the pyscript's Dask client are current for that run
only.

An exception in the script is reported with the server id and the iteration, and the
simulation goes on: a bug in an analysis must not kill the simulation. A run that takes long
is reported by a watchdog (:mod:`damaris_ref.runtime.scripts.watchdog`) but never stopped.
"""

from __future__ import annotations

import builtins
import gc
import io
import sys
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any, TextIO

from damaris_ref.core.config.model import PyScript
from damaris_ref.core.data import DamarisData
from damaris_ref.core.errors import ScriptError
from damaris_ref.runtime.scripts.watchdog import DEFAULT_AFTER, watching


def print_in_one_write(
    *values: object,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    """``print``, except that what one call prints reaches its stream in one write, flushed at
    once when it ends a line.

    The built-in ``print`` writes each value and separator apart; with two servers printing to
    one terminal or pipe at once, their lines ran together inside each other
    (``Python iteration  0 , Sum() =  16384Python iteration  0 , Sum() =  81920``).
    """
    stream = sys.stdout if file is None else file
    if stream is None:  # as print: no stream, nothing printed
        return
    text = io.StringIO()
    builtins.print(*values, sep=sep, end=end, file=text)
    stream.write(text.getvalue())
    if flush or "\n" in text.getvalue():
        stream.flush()


#: the built-ins a script sees: Python's own, with :func:`print_in_one_write` as ``print``
_SCRIPT_BUILTINS = types.ModuleType("builtins", builtins.__doc__)
_SCRIPT_BUILTINS.__dict__.update(vars(builtins))
_SCRIPT_BUILTINS.print = print_in_one_write  # type: ignore[attr-defined]


def main_namespace() -> dict[str, Any]:
    """A fresh ``__main__``-like namespace: what ``G`` is on one server.

    Upstream's ``G`` is the embedded interpreter's empty ``__main__`` module; one fresh dict per
    server gives scripts the same view without touching the host process's ``__main__``. Its
    built-ins are Python's, but for a ``print`` that writes each call's text at once.
    """
    return {"__name__": "__main__", "__doc__": None, "__builtins__": _SCRIPT_BUILTINS}


class ScriptRunner:
    """Runs one pyscript; the file is read and compiled once, on first use.

    ``globals_`` is the server's shared ``G`` (see :func:`main_namespace`); the runner owns the
    pyscript's ``L`` and the ``DamarisData`` dictionary in it, both persistent across runs.
    """

    def __init__(
        self,
        pyscript: PyScript,
        stderr: TextIO | None = None,
        globals_: dict[str, Any] | None = None,
        watchdog_after: float | None = DEFAULT_AFTER,
        collect: Callable[[], object] = gc.collect,
    ):
        self.pyscript = pyscript
        self._collect = collect  # after each run; a server passes its IterationCollector's
        self._stderr = stderr
        self._watchdog_after = watchdog_after
        self._code: CodeType | None = None
        self.globals = main_namespace() if globals_ is None else globals_
        self.damaris_data: dict[str, Any] = {}
        self.locals: dict[str, Any] = {"DamarisData": self.damaris_data}

    def should_run(self, iteration: int) -> bool:
        """True when the script's ``frequency`` divides ``iteration``."""
        return iteration % self.pyscript.frequency == 0

    def _compiled(self) -> CodeType:
        if self._code is None:
            path = Path(self.pyscript.file)
            try:
                source = path.read_text()
            except OSError as exc:
                raise ScriptError(
                    f"pyscript {self.pyscript.name!r}: cannot read file {str(path)!r}: "
                    f"{exc.strerror}"
                ) from None
            # dont_inherit: this module's own __future__ flags must not change the script
            self._code = compile(source, str(path), "exec", dont_inherit=True)
        return self._code

    def run(self, damaris_data: DamarisData, server: int, iteration: int) -> bool:
        """Execute the script once on ``damaris_data``; return False (after reporting) if it raised.

        ``damaris_env`` and ``dask_env`` are taken on the first run and kept, as upstream sets
        them once; ``iteration_data`` is replaced each run and deleted afterwards (then a full
        garbage collection), so a script that keeps a block without copying it is caught early.
        A syntax error is an error of the script like any other (reported, the run goes on);
        an unreadable file is a configuration error and raises.
        """
        try:
            code = self._compiled()
        except SyntaxError:
            self._report(server, iteration)
            return False
        for key, value in damaris_data.items():
            if key == "iteration_data" or key not in self.damaris_data:
                self.damaris_data[key] = value
        what = f"server {server} iteration {iteration}: pyscript {self.pyscript.name!r}"
        try:
            with watching(what, self._watchdog_after, self._stderr or sys.stderr):
                exec(code, self.globals, self.locals)
        except (Exception, SystemExit):
            self._report(server, iteration)
            return False
        finally:
            self.damaris_data.pop("iteration_data", None)
            self._collect()
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
