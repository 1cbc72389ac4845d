"""The client side of the Damaris API: parameters, positions, writes, iterations (SPEC §2–§3).

Written once for every transport. It validates what the simulation hands over (variable,
block number, shape, dtype, offsets) and sends each block to the server the topology names.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

from damaris_ref.core import data
from damaris_ref.core.config.errors import echo
from damaris_ref.core.config.evaluation import block_shape, parameter_problem
from damaris_ref.core.config.expressions import evaluate_dims, names_in
from damaris_ref.core.config.model import Config, Layout, Variable
from damaris_ref.core.errors import ConfigError, UsageError
from damaris_ref.core.topology import Topology
from damaris_ref.runtime.transport.base import BlockPart, ClientTransport

__all__ = [
    "Client",
    "ClientError",
    "UnknownNameError",
    "UnknownParameterError",
    "UnknownVariableError",
]


class UnknownNameError(UsageError):
    """A variable or parameter the configuration does not declare: ``name``, and ``kind``
    (``"variable"`` or ``"parameter"``).

    A class of its own because upstream's C API answers these with an error code that its
    examples ignore, so a simulation may catch this type and go on (the seed executables do,
    warning once per name).
    """

    def __init__(self, message: str, name: str, kind: str) -> None:
        super().__init__(message)
        self.name = name
        self.kind = kind


#: the earlier names of these errors: deprecated aliases, kept for one release
ClientError = UsageError
UnknownVariableError = UnknownNameError
UnknownParameterError = UnknownNameError


def _keeps_every_value(source: np.dtype, target: np.dtype) -> bool:
    """Whether every value of ``source`` is exactly a value of ``target``.

    Stricter than NumPy's "safe" casting, which lets int64 become float64 although integers
    above 2**53 round there; such casts are checked value by value instead.
    """
    if source == target:
        return True
    if not np.can_cast(source, target, "safe"):
        return False
    if source.kind in "iu" and target.kind == "f":
        value_bits = source.itemsize * 8 - (source.kind == "i")
        return np.finfo(target).nmant + 1 >= value_bits
    return True


#: what a write of one variable needs: the variable, its block shape and dtype, and the
#: offsets of a block never placed (all 0)
_WritePlan = tuple[Variable, tuple[int, ...], np.dtype, tuple[int, ...]]


class Client:
    """One simulation rank's Damaris state."""

    def __init__(
        self, config: Config, topology: Topology, client_id: int, transport: ClientTransport
    ):
        self.config = config
        self.client_id = client_id
        self.server = topology.server_for(client_id)
        self.transport = transport
        self.iteration = 0
        self._parameters = {p.name: p.value for p in config.parameters}
        self._types = {p.name: p.type for p in config.parameters}
        self._users: dict[str, list[Layout]] | None = None  # parameter -> layouts using it
        self._dims: dict[str, tuple[int, ...]] = {}
        # per variable, keyed by block number: positions set, blocks written this iteration
        self._positions: defaultdict[str, dict[int, tuple[int, ...]]] = defaultdict(dict)
        self._written: defaultdict[str, set[int]] = defaultdict(set)
        self._stopped = False
        # what writes look up instead of checking again: per variable a write plan (made by
        # its first write), global bounds and the blocks found inside them; parameter_set
        # clears them with the block shapes above
        self._domains = config.architecture.domains
        self._dtypes = {
            v.name: data.dtype_of(config.layout(v.layout).type) for v in config.variables
        }
        self._global_dims: dict[str, tuple[int, ...]] = {}
        self._inside_global: defaultdict[str, set[int]] = defaultdict(set)
        self._plans: dict[str, _WritePlan] = {}
        self._plan_shapes()

    def _plan_shapes(self) -> None:
        """Work out every block shape now, so the first iteration's writes find them ready.

        A layout invalid with the current values is left for its write to report.
        """
        for variable in self.config.variables:
            with contextlib.suppress(UsageError):
                self.variable_shape(variable.name)

    # parameters -------------------------------------------------------------------------
    def parameter_get(self, name: str) -> int | float:
        """Current value of parameter ``name``."""
        self._check_parameter(name)
        return self._parameters[name]

    def parameter_set(self, name: str, value: int | float) -> None:
        """Change parameter ``name``, once every layout using it is valid with the new value.

        A value that overflows the parameter's type, or would make a layout divide by zero,
        overflow, have a dimension <= 0 or a block larger than the buffer, raises UsageError
        and is not set.
        """
        self._check_parameter(name)
        call = f"parameter_set({name!r}, {echo(value)})"
        problem = parameter_problem(self._types[name], value)
        if problem is not None:
            raise UsageError(f"{call}: {problem}; the value was not set")
        values = {**self._parameters, name: value}
        for layout in self._layouts_using(name):
            try:
                block_shape(layout, values, self.config.architecture.buffer_size)
            except ConfigError as exc:
                users = [v.name for v in self.config.variables if v.layout == layout.name]
                raise UsageError(
                    f"{call} would make layout {layout.name!r} (of variable(s) "
                    f"{', '.join(map(repr, users)) or 'none'}) invalid: {exc.key}: {exc}; "
                    "the value was not set"
                ) from None
        self._parameters[name] = value
        self._dims.clear()
        self._plans.clear()
        self._global_dims.clear()
        self._inside_global.clear()
        self._plan_shapes()

    def _layouts_using(self, name: str) -> list[Layout]:
        if self._users is None:
            self._users = {}
            for layout in self.config.layouts:
                for parameter in {
                    n
                    for e in layout.dimensions + (layout.global_dimensions or ())
                    for n in names_in(e)
                }:
                    self._users.setdefault(parameter, []).append(layout)
        return self._users.get(name, [])

    def _check_parameter(self, name: str) -> None:
        if name not in self._parameters:
            known = ", ".join(self._parameters) or "none"
            raise UnknownNameError(
                f"unknown parameter {name!r}; known parameters: {known}", name, "parameter"
            )

    # layouts and positions --------------------------------------------------------------
    def variable_shape(self, name: str) -> tuple[int, ...]:
        """The block shape of variable ``name`` with the current parameter values."""
        variable = self._variable(name)
        if variable.layout not in self._dims:
            layout = self.config.layout(variable.layout)
            try:
                dims = block_shape(layout, self._parameters, self.config.architecture.buffer_size)
            except ConfigError as exc:
                raise UsageError(
                    f"layout {layout.name!r} of variable {name!r}: {exc.key}: {exc}"
                ) from None
            self._dims[variable.layout] = dims
        return self._dims[variable.layout]

    def set_position(self, name: str, offsets) -> None:
        """Offsets of block 0 of ``name`` in the global array."""
        self.set_block_position(name, 0, offsets)

    def set_block_position(self, name: str, block: int, offsets) -> None:
        """Offsets of block ``block`` of ``name`` in the global array (one per dimension)."""
        values = tuple(map(int, offsets))
        placed = self._positions.get(name)
        if placed is not None and placed.get(block) == values:
            # where it was already, checked then: a layout's rank and the domains never change
            return
        self._check_block(name, block)
        ndim = len(self.variable_shape(name))
        if len(values) != ndim:
            raise UsageError(
                f"set_block_position({name!r}, {block}): {len(values)} offset(s) given, the "
                f"layout has {ndim} dimension(s)"
            )
        if any(o < 0 for o in values):
            raise UsageError(
                f"set_block_position({name!r}, {block}): offsets {list(values)} must all be >= 0 "
                "(they place the block in the global array, which starts at 0)"
            )
        self._positions[name][block] = values
        self._inside_global[name].discard(block)

    # writing ----------------------------------------------------------------------------
    def write(self, name: str, array) -> None:
        """Write block 0 of ``name`` for the current iteration."""
        self.write_block(name, 0, array)

    def write_block(self, name: str, block: int, array) -> None:
        """Copy ``array`` as block ``block`` of ``name`` to this client's server.

        A variable with ``time_varying: false`` is only delivered at iteration 0; later
        writes of it are accepted and dropped here, so they cost no buffer space.
        """
        # the path of every write: one lookup of what the checks found the first time
        plan = self._plans.get(name)
        if plan is None or self._stopped or not 0 <= block < self._domains:
            plan = self._write_plan(name, block)
        written = self._written[name]
        if block in written:
            raise UsageError(
                f"block {block} of variable {name!r} was already written in iteration "
                f"{self.iteration}; each block is written at most once per iteration"
            )
        variable, shape, dtype, origin = plan
        if type(array) is not np.ndarray or array.shape != shape or array.dtype != dtype:
            array = self._as_layout_array(variable, np.asarray(array))
        if self.iteration and not variable.time_varying:
            written.add(block)
            return
        offsets = self._positions[name].get(block, origin)
        inside = self._inside_global[name]
        if block not in inside:
            self._check_inside_global(variable, block, offsets, shape)
            inside.add(block)
        written.add(block)
        self.transport.send_block(
            self.server, data.Block(name, self.client_id, block, self.iteration, offsets, array)
        )

    def write_blocks(
        self, name: str, blocks: Mapping[int, object] | Iterable[tuple[int, object]]
    ) -> None:
        """Write many blocks of ``name`` for the current iteration in one call.

        ``blocks`` maps block numbers to arrays (``{block: array}``) or is an iterable of
        ``(block, array)`` pairs; each block goes where ``set_block_position`` put it, as with
        :meth:`write_block`, and the result is that of the same ``write_block`` calls in the
        same order. It costs one lookup of the variable's write plan, one piece of buffer and
        one batch of notices. Every block is checked before any is copied: a block that
        ``write_block`` would refuse (or that appears twice) raises ClientError naming it, and
        no block of the call is written.
        """
        plan = self._plans.get(name)
        if plan is None or self._stopped:
            plan = self._write_plan(name)
        items = blocks.items() if isinstance(blocks, Mapping) else blocks
        written = self._written[name]
        try:
            keys, parts = self._batch(plan, items)
            before = len(written)
            written.update(keys)
            if len(written) - before < len(keys):  # none was written before: one came twice
                written.difference_update(keys)
                twice = next(b for b, n in Counter(keys).items() if n > 1)
                raise ClientError(
                    f"block {twice} is written twice in this call; each block is written at "
                    "most once per iteration"
                )
        except ClientError as exc:
            raise ClientError(
                f"write_blocks({name!r}): {exc}; no block of this call was written"
            ) from None
        if parts:
            try:
                self.transport.send_blocks(self.server, name, self.client_id, self.iteration, parts)
            except BaseException:  # the transport wrote none of them (a full buffer)
                written.difference_update(keys)
                raise

    def _batch(
        self, plan: _WritePlan, items: Iterable[tuple[int, object]]
    ) -> tuple[list[int], list[BlockPart]]:
        """The blocks a ``write_blocks`` call marks written and the blocks it sends, once each
        passed the checks of :meth:`write_block` but the one for a block given twice (without
        marking or sending anything)."""
        variable, shape, dtype, origin = plan
        name = variable.name
        dropped = bool(self.iteration) and not variable.time_varying
        bounded = self.config.layout(variable.layout).global_dimensions is not None
        written, positions, inside, domains = (
            self._written[name],
            self._positions[name],
            self._inside_global[name],
            self._domains,
        )
        ndarray = np.ndarray
        keys: list[int] = []
        parts: list[BlockPart] = []
        for item in items:
            try:
                block, array = item
            except (TypeError, ValueError):
                what = f"a {type(item).__name__}"
                if isinstance(item, tuple | list):
                    what += f" of {len(item)} item(s)"
                raise ClientError(
                    f"item {len(keys)} is {what}, not a (block, array) pair (pass "
                    "{block: array, ...} or [(block, array), ...])"
                ) from None
            if not 0 <= block < domains:
                self._check_block(name, block)
            if block in written:
                raise ClientError(
                    f"block {block} is written earlier in this iteration; each block is "
                    "written at most once per iteration"
                )
            keys.append(block)
            if (
                type(array) is not ndarray
                or array.shape != shape
                or (array.dtype is not dtype and array.dtype != dtype)
            ):
                try:
                    array = self._as_layout_array(variable, np.asarray(array))
                except ClientError as exc:
                    raise ClientError(f"block {block}: {exc}") from None
            if dropped:
                continue
            offsets = positions.get(block, origin)
            if bounded and block not in inside:
                self._check_inside_global(variable, block, offsets, shape)
                inside.add(block)
            parts.append((block, offsets, array))
        return keys, parts

    def _write_plan(self, name: str, block: int | None = None) -> _WritePlan:
        """What a write of ``name`` needs, once every check a write makes before its data
        passed (the client runs, the variable and ``block`` exist, the layout is valid)."""
        self._check_running()
        variable = self._variable(name)
        if block is not None:
            self._check_block(name, block)
        shape = self.variable_shape(name)
        plan = self._plans[name] = (variable, shape, self._dtypes[name], (0,) * len(shape))
        return plan

    def _check_inside_global(
        self, variable: Variable, block: int, offsets: tuple[int, ...], shape: tuple[int, ...]
    ) -> None:
        """A layout with ``global`` dimensions bounds where its blocks may sit."""
        layout = self.config.layout(variable.layout)
        if layout.global_dimensions is None:
            return
        whole = self._global_dims.get(layout.name)
        if whole is None:
            whole = self._global_dims[layout.name] = evaluate_dims(
                layout.global_dimensions, self._parameters
            )
        if any(o + n > g for o, n, g in zip(offsets, shape, whole, strict=True)):
            raise UsageError(
                f"write of variable {variable.name!r} block {block}: a block of shape "
                f"{list(shape)} at offsets {list(offsets)} reaches past the global array "
                f"{list(whole)} of layout {layout.name!r} ({','.join(layout.global_dimensions)})"
            )

    def _as_layout_array(self, variable: Variable, array: np.ndarray) -> np.ndarray:
        shape = self.variable_shape(variable.name)
        dtype = self._dtypes[variable.name]
        if array.size != math.prod(shape):
            raise UsageError(
                f"write of variable {variable.name!r}: got {array.size} element(s) with shape "
                f"{array.shape}, the layout {variable.layout!r} needs shape {shape}"
            )
        if _keeps_every_value(array.dtype, dtype):
            return array.astype(dtype, copy=False).reshape(shape)
        if not np.can_cast(array.dtype, dtype, "same_kind"):
            raise UsageError(
                f"write of variable {variable.name!r}: dtype {array.dtype} cannot be stored "
                f"as {dtype} (layout {variable.layout!r}) without changing its kind"
            )
        if dtype.kind in "iu" and array.dtype.kind in "iu" and array.size:
            limits = np.iinfo(dtype)
            low, high = array.min(), array.max()
            if low < limits.min or high > limits.max:
                raise UsageError(
                    f"write of variable {variable.name!r}: values {low}..{high} do not fit "
                    f"{dtype} (layout {variable.layout!r}, range {limits.min}..{limits.max})"
                )
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
            converted = array.astype(dtype)
        back = converted.astype(array.dtype)
        if not np.array_equal(back, array, equal_nan=True):
            first = int(np.flatnonzero(~((back == array) | (back != back)).ravel())[0])
            raise UsageError(
                f"write of variable {variable.name!r}: storing dtype {array.dtype} as {dtype} "
                f"(layout {variable.layout!r}) would change values, e.g. element {first}: "
                f"{array.ravel()[first].item()!r} becomes {converted.ravel()[first].item()!r}; "
                "convert it yourself if that is what you want"
            )
        return converted.reshape(shape)

    # iterations -------------------------------------------------------------------------
    def end_iteration(self) -> None:
        """Close the current iteration; the server runs its scripts once all its clients did."""
        self._check_running()
        self.transport.send_end_iteration(self.server, self.client_id, self.iteration)
        self.iteration += 1
        self._written.clear()

    def stop(self) -> None:
        """Tell the server this client sends nothing more."""
        self._check_running()
        self._stopped = True
        self.transport.send_stop(self.server, self.client_id)

    # checks -----------------------------------------------------------------------------
    def _variable(self, name: str) -> Variable:
        try:
            return self.config.variable(name)
        except KeyError as exc:
            raise UnknownNameError(exc.args[0], name, "variable") from None

    def _check_block(self, name: str, block: int) -> None:
        domains = self.config.architecture.domains
        if not 0 <= block < domains:
            raise UsageError(
                f"block {block} of variable {name!r} is out of range: architecture.domains is "
                f"{domains}, so valid blocks are 0..{domains - 1}"
            )

    def _check_running(self) -> None:
        if self._stopped:
            raise UsageError("this client already called stop(); no more writes or iterations")
