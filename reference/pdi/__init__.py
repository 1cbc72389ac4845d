"""PDI's Python module, for a simulation written for PDI with its Damaris plugin::

    import numpy as np
    from damaris_ref import pdi
    pdi.init(Path("3dmesh_py.yml"))            # or the YAML text of the pdi tree, or a mapping
    pdi.event("initialize")
    is_client = np.array([-1], dtype=np.int32)
    pdi.multi_expose("damaris_start", [("is_client", is_client, pdi.INOUT)])
    if is_client[0]:                           # servers return here once every client stopped
        pdi.multi_expose("damaris_write", [("w_var_name", "cube_i", pdi.OUT),
                                           ("cube", cube, pdi.OUT)])
        pdi.event("damaris_end_iteration")
        pdi.event("damaris_stop")
    pdi.event("finalize")
    pdi.finalize()

The surface is PDI's own (``init``, ``share``, ``expose``, ``multi_expose``, ``event``,
``access``, ``release``, ``reclaim``, ``finalize``, ``IN``/``OUT``/``INOUT``/``NONE``,
``Error``); the behaviour is that of PDI's Damaris plugin as it is meant to work
(:mod:`damaris_ref.pdi.plugin`), over the project's client API. Only the ``damaris`` plugin
of the tree does anything; PDI's other plugins are not run.

Under MPI, one session per process drives :mod:`damaris_ref.runtime.damaris`. To run a PDI program
on the in-process engine, call it inside :func:`bound` with the rank's ``Damaris`` object.
The session lives in a context variable, so each thread-rank has its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from damaris_ref.core.errors import DamarisError

from .errors import Error, ServerFinished
from .plugin import ClientApi, DamarisPlugin, remembered_names
from .store import Access, DataStore

__all__ = [
    "IN",
    "INOUT",
    "NONE",
    "OUT",
    "Access",
    "Error",
    "ServerFinished",
    "access",
    "bound",
    "event",
    "expose",
    "finalize",
    "init",
    "multi_expose",
    "reclaim",
    "release",
    "share",
]

#: PDI neither reads nor writes the datum
NONE = Access.NONE
#: PDI may write into the datum (the program reads what PDI puts there)
IN = Access.IN
#: PDI may read the datum (the program hands it out)
OUT = Access.OUT
#: PDI may read and write the datum
INOUT = Access.INOUT


class _Session:
    """One rank's PDI: its shared data and its Damaris plugin."""

    def __init__(self, store: DataStore, plugin: DamarisPlugin):
        self.store = store
        self.plugin = plugin


_session: ContextVar[_Session | None] = ContextVar("damaris_ref_pdi_session", default=None)
_api: ContextVar[ClientApi | None] = ContextVar("damaris_ref_pdi_api", default=None)


@contextlib.contextmanager
def bound(damaris: ClientApi) -> Iterator[None]:
    """Run PDI calls in this block on ``damaris`` (a rank's ``Damaris``), not the MPI module;
    the block's session ends with it."""
    api_token = _api.set(damaris)
    session_token = _session.set(None)
    try:
        yield
    finally:
        _session.reset(session_token)
        _api.reset(api_token)


def init(spec: str | Mapping[str, Any] | PathLike[str]) -> None:
    """Start PDI with its specification tree: YAML text (the ``pdi`` tree, as PDI's own
    ``init`` takes it, or a whole file with a ``pdi:`` key), a mapping, or a file path (the
    reference's addition: errors then name the file, and script paths are relative to it)."""
    if _session.get() is not None:
        raise Error("pdi.init called twice: call pdi.finalize() first")
    from damaris_ref.core.config.pdi_grammar import load_pdi_text

    text, source = _spec_text(spec)
    try:
        pdi_config = load_pdi_text(text, source=source)
        store = DataStore(remembered_names(pdi_config))
    except DamarisError as error:
        looks_like_a_path = isinstance(spec, str) and spec.strip().endswith((".yml", ".yaml"))
        hint = " (to read a file, pass pathlib.Path(...): a str is YAML text)" * looks_like_a_path
        raise Error(f"{error}{hint}") from error
    api = _api.get()
    if api is None:
        from damaris_ref.runtime import damaris

        api = damaris
    _session.set(_Session(store, DamarisPlugin(pdi_config, api, store)))


def _spec_text(spec: str | Mapping[str, Any] | PathLike[str]) -> tuple[str, Path | None]:
    if isinstance(spec, PathLike):
        path = Path(spec)
        try:
            return path.read_text(encoding="utf-8"), path
        except (OSError, UnicodeDecodeError) as error:
            raise Error(f"pdi.init: cannot read {str(path)!r}: {error}") from None
    if isinstance(spec, Mapping):
        return yaml.safe_dump(dict(spec), sort_keys=False), None
    if isinstance(spec, str | bytes):
        return spec.decode() if isinstance(spec, bytes) else spec, None
    raise Error(f"pdi.init takes YAML text, a mapping or a path, not {type(spec).__name__}")


def _current(call: str) -> _Session:
    session = _session.get()
    if session is None:
        raise Error(f"pdi.{call}: call pdi.init(spec) first")
    return session


def finalize() -> None:
    """End PDI: the plugin stops a client and finalizes Damaris if the program did not."""
    session = _current("finalize")
    try:
        session.plugin.finalize()
    finally:
        _session.set(None)


@contextlib.contextmanager
def _ending_on_a_server() -> Iterator[None]:
    """A server rank that finished serving leaves the program, and its session ends."""
    try:
        yield
    except ServerFinished:
        _session.set(None)
        raise


def event(name: str) -> None:
    """Fire event ``name``; the Damaris plugin's events act, others (for other plugins) pass."""
    session = _current("event")
    with _ending_on_a_server():
        session.plugin.on_event(str(name))


def share(name: str, data: Any, access: int) -> None:
    """Share ``data`` under ``name`` until its reclaim; the plugin sees it at once."""
    session = _current("share")
    item = session.store.share(name, data, access)
    with _ending_on_a_server():
        session.plugin.on_share(item)


def access(name: str, inout: int) -> np.ndarray:
    """The value shared or remembered under ``name`` (shared again until reclaimed)."""
    return _current("access").store.access(name, inout)


def reclaim(name: str) -> None:
    """End the latest share of ``name``; the program owns its array again."""
    _current("reclaim").store.reclaim(name)


def release(name: str) -> None:
    """End the latest share of ``name`` (PDI would free its memory; Python keeps it alive)."""
    _current("release").store.reclaim(name)


def expose(name: str, data: Any, access: int) -> None:
    """Share then reclaim: the plugin reacts to ``data`` while it is shared."""
    share(name, data, access)
    reclaim(name)


def multi_expose(event_name: str, expose_list: Iterable[tuple[str, Any, int]]) -> None:
    """Share each ``(name, data, access)``, fire ``event_name``, then reclaim them all.

    Unlike PDI's own, an error in a share or the event is raised, not swallowed; the data
    shared so far are reclaimed first.
    """
    session = _current("multi_expose")
    shared: list[str] = []
    try:
        for name, data, mode in expose_list:
            share(name, data, mode)
            shared.append(name)
        with _ending_on_a_server():
            session.plugin.on_event(str(event_name))
    finally:
        for name in reversed(shared):
            session.store.reclaim(name)
