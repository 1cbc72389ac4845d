"""PDI's Damaris plugin as it is meant to behave, over the project's client API.

The plugin turns PDI events and shared data into Damaris calls:

- **events** ``initialize``, ``damaris_start``, ``damaris_client_comm_get``,
  ``damaris_parameter_get``/``_set``, ``damaris_set_position``, ``damaris_write``,
  ``damaris_set_block_position``, ``damaris_write_block``, ``damaris_end_iteration``,
  ``damaris_stop``, ``finalize`` (and the names the config gives them with ``*_on_event``).
  An event takes its arguments from the data shared last, by position, as the plugin does:
  ``damaris_write`` the last two (variable name, data), and so on;
- **shared data** the configuration names: a ``write:`` entry is written (if its ``when``
  holds, at its ``position`` and ``block``), and once every entry was handled the
  ``after_write`` events fire; ``parameter_get``/``parameter_set`` metadata read or set a
  Damaris parameter; the ``get_is_client`` datum receives ``is_client``; the
  ``client_comm_get`` datum receives the client communicator; ``depends_on`` metadata update
  the parameters that depend on them, at every change.

Damaris is initialized by the first event or datum that needs it, and started when the
program asks (``damaris_start``, the start event, or the ``is_client`` datum) or, failing
that, when a client call first needs it. A server rank that the program asked returns from
that call once every client stopped; one that started on its own finishes and leaves the
program (:class:`~damaris_ref.pdi.errors.ServerFinished`), as the plugin ends such a process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from damaris_ref.core.config import pdi_expressions
from damaris_ref.core.config.errors import did_you_mean, echo, listing
from damaris_ref.core.config.expressions import names_in
from damaris_ref.core.config.model import Config
from damaris_ref.core.config.pdi_grammar import PdiConfig, WriteEntry
from damaris_ref.core.data import dtype_of
from damaris_ref.core.errors import ConfigError, UsageError

from .errors import Error, ServerFinished
from .store import DataStore, Shared

__all__ = ["EVENT_ARGUMENTS", "ClientApi", "DamarisPlugin", "remembered_names"]

#: the plugin's events that take data, and the labels of the data each takes (last shared)
EVENT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "damaris_parameter_get": ("prm_name", "prm_buffer", "prm_size"),
    "damaris_parameter_set": ("prm_name", "prm_buffer", "prm_size"),
    "damaris_set_position": ("pos_var_name", "position"),
    "damaris_write": ("w_var_name", "data"),
    "damaris_set_block_position": ("bpos_var_name", "block", "position"),
    "damaris_write_block": ("wb_var_name", "block", "data"),
    "damaris_client_comm_get": ("client_comm",),
}
#: names the plugin registers but never handles (it asserts); the reference refuses them
_UNHANDLED = ("damaris_get_iteration", "damaris_signal", "damaris_bind")


class ClientApi(Protocol):
    """The public client API the plugin drives: ``damaris_ref.runtime.damaris`` or a ``Damaris``."""

    def initialize(self, config: Config, comm: Any = None) -> None: ...
    def start(self) -> bool: ...
    def client_comm_get(self) -> Any: ...
    def parameter_get(self, name: str) -> int | float: ...
    def parameter_set(self, name: str, value: int | float) -> None: ...
    def set_position(self, name: str, offsets: Any) -> None: ...
    def set_block_position(self, name: str, block: int, offsets: Any) -> None: ...
    def write(self, name: str, array: Any) -> None: ...
    def write_block(self, name: str, block: int, array: Any) -> None: ...
    def end_iteration(self) -> None: ...
    def stop(self) -> None: ...
    def finalize(self) -> None: ...


def remembered_names(pdi: PdiConfig) -> set[str]:
    """Names whose values the configuration's expressions read, so must outlive a reclaim.

    The loader has parsed every expression already (one outside the subset is a located
    ``ConfigError`` there), so parsing here cannot fail.
    """
    runtime = pdi.runtime
    names: set[str] = set()
    expressions = [u.expression for u in runtime.parameter_updates]
    for entry in runtime.writes:
        expressions += [entry.when, entry.block, *entry.position]
    for update in runtime.parameter_updates:
        names.update(update.depends_on)
    for text in expressions:
        names.update(pdi_expressions.parse(text).references)
    return names


class DamarisPlugin:
    """One rank's plugin: reacts to :meth:`on_share` and :meth:`on_event` of a PDI session."""

    def __init__(self, pdi: PdiConfig, api: ClientApi, store: DataStore):
        self.config = pdi.config
        self.runtime = pdi.runtime
        self.api = api
        self.store = store
        self._initialized = False
        self._finalized = False
        self._is_client: bool | None = None  # known once started
        self._stopped = False
        self._handled_writes: set[str] = set()
        self._wrote_this_round = False
        self._pushed: dict[str, int | float] = {}  # parameter -> last value sent
        self._parameter_types = {p.name: p.type for p in self.config.parameters}
        self._writes = {entry.data: entry for entry in self.runtime.writes}
        self._events = self._event_table()

    # events -------------------------------------------------------------------------------
    def _event_table(self) -> dict[str, Callable[[str], None]]:
        table: dict[str, Callable[[str], None]] = {
            "initialize": lambda _name: self._initialize(),
            "damaris_start": self._start_event,
            "damaris_client_comm_get": self._client_comm_event,
            "damaris_parameter_get": self._parameter_get_event,
            "damaris_parameter_set": self._parameter_set_event,
            "damaris_set_position": self._set_position_event,
            "damaris_write": self._write_event,
            "damaris_set_block_position": self._set_block_position_event,
            "damaris_write_block": self._write_block_event,
            "damaris_end_iteration": self._end_iteration_event,
            "damaris_stop": self._stop_event,
            "finalize": lambda _name: self.finalize(),
        }
        configured = {
            "init": table["initialize"],
            "start": table["damaris_start"],
            "end_iteration": table["damaris_end_iteration"],
            "stop": table["damaris_stop"],
            "finalize": table["finalize"],
        }
        for kind, name in self.runtime.events.items():
            if name and kind in configured:
                table[name] = configured[kind]
        return table

    def on_event(self, name: str) -> None:
        """Do what event ``name`` means; names not the plugin's belong to others and pass."""
        handler = self._events.get(name)
        if handler is not None:
            handler(name)
        elif name in _UNHANDLED:
            raise Error(
                f"event {name!r}: PDI's Damaris plugin registers it but has no handler; "
                "the reference has none either"
            )
        elif name.startswith("damaris_"):
            known = sorted(n for n in self._events if n.startswith("damaris_"))
            raise Error(
                f"unknown Damaris event {name!r}{did_you_mean(name, known)} "
                f"(the plugin's events: {listing(sorted(self._events))})"
            )

    def _arguments(self, event: str) -> list[Shared]:
        labels = EVENT_ARGUMENTS[event]
        shared = self.store.last(len(labels))
        if len(shared) < len(labels):
            got = listing(item.name for item in shared) or "none"
            raise Error(
                f"event {event!r} takes the last {len(labels)} data shared "
                f"({', '.join(labels)}), but {len(shared)} are shared ({got}); "
                f"use pdi.multi_expose({event!r}, [...])"
            )
        return shared

    def _start_event(self, event: str) -> None:
        self._start()
        last = self.store.last(1)
        if last and last[0].name in ("is_client", self.runtime.is_client_data):
            self._give_is_client(last[0], event)

    def _client_comm_event(self, event: str) -> None:
        (datum,) = self._arguments(event)
        if self._client(event, explicit=True):
            self._give(datum, self.api.client_comm_get(), event)

    def _parameter_get_event(self, event: str) -> None:
        name, buffer, size = self._arguments(event)
        if self._client(event, explicit=True):
            value = self._call(event, self.api.parameter_get, self._text(name, event))
            self._check_size(buffer, size, event)
            self._give(buffer, value, event)

    def _parameter_set_event(self, event: str) -> None:
        name, buffer, size = self._arguments(event)
        if self._client(event, explicit=True):
            self._check_size(buffer, size, event)
            value = self._scalar(buffer, event)
            self._call(event, self.api.parameter_set, self._text(name, event), value)

    def _set_position_event(self, event: str) -> None:
        name, position = self._arguments(event)
        if self._client(event, explicit=True):
            offsets = self._offsets(position, event)
            self._call(event, self.api.set_position, self._text(name, event), offsets)

    def _write_event(self, event: str) -> None:
        name, data = self._arguments(event)
        if self._client(event, explicit=True):
            variable = self._text(name, event)
            self._check_layout_known(variable, event)
            self._call(event, self.api.write, variable, self._readable(data, event))

    def _set_block_position_event(self, event: str) -> None:
        name, block, position = self._arguments(event)
        if self._client(event, explicit=True):
            args = (self._text(name, event), self._integer(block, event))
            self._call(event, self.api.set_block_position, *args, self._offsets(position, event))

    def _write_block_event(self, event: str) -> None:
        name, block, data = self._arguments(event)
        if self._client(event, explicit=True):
            variable = self._text(name, event)
            self._check_layout_known(variable, event)
            args = (variable, self._integer(block, event), self._readable(data, event))
            self._call(event, self.api.write_block, *args)

    def _end_iteration_event(self, event: str) -> None:
        if self._client(event, explicit=True):
            self._call(event, self.api.end_iteration)

    def _stop_event(self, event: str) -> None:
        if self._client(event, explicit=True) and not self._stopped:
            self._call(event, self.api.stop)
            self._stopped = True

    def finalize(self) -> None:
        """The ``finalize`` event, and PDI's finalize: stop a client, finalize Damaris, once."""
        if not self._initialized or self._finalized:
            return
        self._finalized = True
        if self._is_client and not self._stopped:
            self._stopped = True
            self._call("finalize", self.api.stop)
        self.api.finalize()

    # shared data --------------------------------------------------------------------------
    def on_share(self, item: Shared) -> None:
        """React to a datum just shared, if the configuration names it."""
        name, runtime = item.name, self.runtime
        if name == runtime.is_client_data:
            self._start()
            self._give_is_client(item, f"get_is_client datum {name!r}")
        if name == runtime.client_comm_data and self._client(name, explicit=False):
            self._give(item, self.api.client_comm_get(), f"client_comm_get datum {name!r}")
        for metadata, parameter in runtime.parameter_get:
            if metadata == name and self._client(name, explicit=False):
                what = f"parameter_get of {parameter!r} into {name!r}"
                self._give(item, self._call(what, self.api.parameter_get, parameter), what)
        for metadata, parameter in runtime.parameter_set:
            if metadata == name and self._client(name, explicit=False):
                what = f"parameter_set of {parameter!r} from {name!r}"
                self._call(what, self.api.parameter_set, parameter, self._scalar(item, what))
        if item.readable:
            self._update_parameters(name)
        entry = self._writes.get(name)
        if entry is not None:
            self._write_entry(entry, item)

    def _update_parameters(self, name: str) -> None:
        """Send every ``depends_on`` parameter of ``name`` whose metadata are all known."""
        values: dict[str, Any] | None = None
        for update in self.runtime.parameter_updates:
            if name not in update.depends_on:
                continue
            if not all(self.store.known(m) for m in update.depends_on):
                continue
            if not self._client(name, explicit=False):
                return
            values = self.store.values() if values is None else values
            value = self._parameter_value(update.parameter, update.expression, values)
            if self._pushed.get(update.parameter) != value:
                what = f"depends_on update of {update.parameter!r}"
                self._call(what, self.api.parameter_set, update.parameter, value)
                self._pushed[update.parameter] = value

    def _parameter_value(self, parameter: str, text: str, values: dict[str, Any]) -> int | float:
        expression = pdi_expressions.parse(text)
        try:
            if dtype_of(self._parameter_types.get(parameter, "int")).kind in "iu":
                return expression.evaluate_int(values, f"parameter {parameter!r}")
            return float(expression.evaluate(values))
        except ConfigError as error:
            raise Error(f"parameter {parameter!r}: {error}") from None

    def _write_entry(self, entry: WriteEntry, item: Shared) -> None:
        """A ``write:`` entry: when, position, block, then after_write once all were handled."""
        values = self.store.values()
        what = f"write of {entry.data!r}"
        if self._evaluate(entry.when, values, f"{what}: when") and self._client(what, False):
            block = self._evaluate_int(entry.block, values, f"{what}: block")
            offsets = tuple(
                self._evaluate_int(p, values, f"{what}: position") for p in entry.position
            )
            self._check_layout_known(entry.dataset, what)
            data = self._readable(item, what)
            if block > 0:
                self._call(what, self.api.set_block_position, entry.dataset, block, offsets)
                self._call(what, self.api.write_block, entry.dataset, block, data)
            else:
                self._call(what, self.api.set_position, entry.dataset, offsets)
                self._call(what, self.api.write, entry.dataset, data)
            self._wrote_this_round = True
        self._handled_writes.add(entry.data)
        if len(self._handled_writes) == len(self._writes):
            wrote, self._wrote_this_round = self._wrote_this_round, False
            self._handled_writes.clear()
            if wrote:
                for event in self.runtime.after_write:
                    self.on_event(event)

    def _check_layout_known(self, variable: str, what: str) -> None:
        """A ``depends_on`` parameter of the variable's layout must have been sent by now."""
        layout = next((v.layout for v in self.config.variables if v.name == variable), None)
        spec = next((lay for lay in self.config.layouts if lay.name == layout), None)
        if spec is None:
            return  # the client names an unknown variable or layout itself
        used: set[str] = set()
        for text in (*spec.dimensions, *(spec.global_dimensions or ())):
            used |= names_in(text)
        for update in self.runtime.parameter_updates:
            if update.parameter in used and update.parameter not in self._pushed:
                missing = [m for m in update.depends_on if not self.store.known(m)]
                if not missing:
                    continue  # sent as soon as the last of them is exposed
                raise Error(
                    f"{what}: layout {layout!r} takes {update.parameter!r} from "
                    f"{update.expression!r} (depends_on: {', '.join(update.depends_on)}), but "
                    f"metadata {listing(repr(m) for m in missing)} was never exposed; "
                    "expose it before the first write"
                )

    # starting and roles --------------------------------------------------------------------
    def _initialize(self) -> None:
        if not self._initialized:
            self._initialized = True
            self.api.initialize(self.config)

    def _start(self) -> None:
        self._initialize()
        if self._is_client is None:
            self._is_client = bool(self.api.start())

    def _client(self, what: str, explicit: bool) -> bool:
        """Whether this rank is a client that may act now (starting Damaris if needed).

        A server that starts here has served every client by the time ``start`` returns; it
        finalizes and leaves the program. On a server the program asked, an event is an error
        and a configured datum is ignored.
        """
        if self._is_client is None:
            self._start()
            if not self._is_client:
                self._finalized = True
                self.api.finalize()
                raise ServerFinished()
        if self._is_client:
            return True
        if explicit:
            raise Error(
                f"{what}: this rank is a Damaris server (is_client = 0); only clients "
                "write, set positions or parameters and end iterations"
            )
        return False

    def _give_is_client(self, datum: Shared, what: str) -> None:
        self._give(datum, int(bool(self._is_client)), what)

    # data conversions ---------------------------------------------------------------------
    def _give(self, datum: Shared, value: Any, what: str) -> None:
        """Write ``value`` into a one-element datum the program shared writable (IN)."""
        array = datum.array
        if not datum.writable or not array.flags.writeable:
            raise Error(
                f"{what}: {datum.name!r} is not writable; share it with pdi.INOUT (a "
                "writable one-element NumPy array) to receive the value"
            )
        if array.size != 1:
            raise Error(f"{what}: {datum.name!r} has {array.size} elements; one receives the value")
        try:
            array.reshape(-1)[0] = value
        except (TypeError, ValueError) as error:
            raise Error(
                f"{what}: {datum.name!r} (dtype {array.dtype}) cannot hold {echo(value)}: {error}"
                + ("; use np.empty(1, dtype=object)" if array.dtype != object else "")
            ) from None

    @staticmethod
    def _readable(datum: Shared, what: str) -> np.ndarray:
        if not datum.readable:
            raise Error(f"{what}: {datum.name!r} was shared without OUT access; PDI cannot read it")
        return datum.array

    def _text(self, datum: Shared, what: str) -> str:
        """A name passed as data: a str, bytes, or an array of characters."""
        value = self._readable(datum, what)
        if value.dtype.kind in "US" and value.size == 1:
            text = value.reshape(-1)[0]
            return text.decode() if isinstance(text, bytes) else str(text)
        if value.dtype.kind in "iu" and value.dtype.itemsize == 1 and value.ndim == 1:
            return value.tobytes().split(b"\0", 1)[0].decode()
        raise Error(f"{what}: {datum.name!r} should hold a name (a str), got {echo(value)}")

    def _scalar(self, datum: Shared, what: str) -> int | float:
        value = self._readable(datum, what)
        if value.size != 1 or value.dtype.kind not in "biuf":
            raise Error(f"{what}: {datum.name!r} should hold one number, got {echo(value)}")
        item = value.reshape(-1)[0].item()
        return int(item) if value.dtype.kind in "biu" else float(item)

    def _integer(self, datum: Shared, what: str) -> int:
        value = self._scalar(datum, what)
        if isinstance(value, float):
            raise Error(f"{what}: {datum.name!r} should hold an integer, got {value!r}")
        return value

    def _offsets(self, datum: Shared, what: str) -> tuple[int, ...]:
        value = self._readable(datum, what)
        if value.dtype.kind not in "iu":
            raise Error(f"{what}: {datum.name!r} should hold integer offsets, got {echo(value)}")
        return tuple(int(v) for v in value.reshape(-1))

    def _check_size(self, buffer: Shared, size: Shared, what: str) -> None:
        nbytes = self._integer(size, what)
        if not 0 < nbytes <= buffer.array.nbytes:
            raise Error(
                f"{what}: {size.name!r} says {nbytes} bytes, but {buffer.name!r} holds "
                f"{buffer.array.nbytes} ({buffer.array.dtype}, {buffer.array.size} element(s))"
            )

    # expressions and client calls ---------------------------------------------------------
    def _evaluate(self, text: str, values: dict[str, Any], what: str) -> int | float:
        try:
            return pdi_expressions.parse(text).evaluate(values)
        except ConfigError as error:
            raise Error(f"{what}: {error}") from None

    def _evaluate_int(self, text: str, values: dict[str, Any], what: str) -> int:
        try:
            return pdi_expressions.parse(text).evaluate_int(values, what)
        except ConfigError as error:
            raise Error(f"{what}: {error}") from None

    @staticmethod
    def _call(what: str, method: Callable[..., Any], *args: Any) -> Any:
        """A client call; its misuse errors become one ``pdi.Error`` naming the PDI call."""
        try:
            return method(*args)
        except UsageError as error:
            raise Error(f"{what}: {error}") from error
