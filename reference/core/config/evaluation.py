"""What parameter values make of a layout (spec §2): its block shape, checked.

The loader runs these checks against the initial parameter values and the client again at every
``parameter_set``, so that a layout dividing by zero, giving a dimension <= 0, overflowing, or
describing a block larger than the whole buffer is reported where the values are decided,
not by a failed write in the middle of a run. A parameter value must also fit its declared
integer type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from damaris_ref.core.errors import ConfigError

from ..data import dtype_of
from .errors import echo
from .expressions import evaluate, names_in
from .model import Layout

Values = Mapping[str, int | float]


def parameter_problem(type_name: str, value: int | float) -> str | None:
    """Why ``value`` does not fit the integer type ``type_name``; None when it does."""
    dtype = dtype_of(type_name)
    if dtype.kind not in "iu":
        return None
    limits = np.iinfo(dtype)
    if limits.min <= value <= limits.max:
        return None
    return (
        f"value {echo(value)} overflows type {type_name!r} ({dtype.name}); "
        f"allowed: {limits.min}..{limits.max}"
    )


def block_shape(layout: Layout, values: Values, buffer_size: int) -> tuple[int, ...]:
    """The block shape ``values`` give ``layout``; its global dimensions are checked too.

    Raises a :class:`~damaris_ref.core.errors.ConfigError`, its ``key`` the layout key, when a
    dimension cannot be computed, is <= 0, or the block is larger than ``buffer_size`` bytes
    (no transport could ever hold it).
    """
    shape = _dimensions(layout.dimensions, values, "dimensions")
    if layout.global_dimensions is not None:
        _dimensions(layout.global_dimensions, values, "global")
    nbytes = math.prod(shape) * dtype_of(layout.type).itemsize
    if nbytes > buffer_size:
        raise ConfigError(
            f"a block of {' x '.join(map(str, shape))} {layout.type!r} elements is {nbytes} "
            f"bytes{_with(layout.dimensions, values)}, more than the whole buffer "
            f"(architecture.buffer.size = {buffer_size} bytes); allowed: a block that fits "
            "in the buffer",
            key="dimensions",
        )
    return shape


def _dimensions(expressions: tuple[str, ...], values: Values, key: str) -> tuple[int, ...]:
    shape = []
    for expression in expressions:
        try:
            dimension = evaluate(expression, values)
        except ConfigError as exc:  # the expression itself
            raise ConfigError(f"{exc}{_with((expression,), values)}", key=key) from None
        if dimension <= 0:
            raise ConfigError(
                f"dimension {echo(expression)} is {dimension}{_with((expression,), values)}; "
                "allowed: every dimension > 0",
                key=key,
            )
        shape.append(dimension)
    return tuple(shape)


def _with(expressions: tuple[str, ...], values: Values) -> str:
    """``" (with WIDTH=16, size=4)"``: the values ``expressions`` use, or nothing."""
    try:
        used = sorted({n for e in expressions for n in names_in(e) if n in values})
    except ConfigError:  # a syntax error says enough by itself
        return ""
    return f" (with {', '.join(f'{n}={echo(values[n])}' for n in used)})" if used else ""
