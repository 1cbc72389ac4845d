"""Read the seed simulations' output lines (spec §6) back into numbers.

Client 0 prints ``C++    iteration  <i> , Sum () = <total>`` (upstream's domains variant prints
``C++    iteration <i>  Sum = <float>``); each server prints
``Python iteration  <i> , Sum() =  <sum>``. Tools that check runs (the demo, the conformance
suite) read both forms through this one module.
"""

from __future__ import annotations

import re
from collections import defaultdict

_CLIENT_TOTAL = re.compile(
    r"^C\+\+\s+iteration\s+(?P<i>\d+)\s*(?:,\s*Sum \(\)\s*=|Sum\s*=)\s*(?P<v>[-+0-9.eE]+)\s*$"
)
_SERVER_SUM = re.compile(
    r"^Python iteration\s+(?P<i>\d+)\s*,\s*Sum\(\)\s*=\s*(?P<v>[-+0-9.eE]+)\s*$"
)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def client_totals(output: str) -> dict[int, int | float]:
    """``{iteration: total}`` from the client-side total lines (either form)."""
    return {
        int(m["i"]): _number(m["v"]) for m in map(_CLIENT_TOTAL.match, output.splitlines()) if m
    }


def server_sums(output: str) -> dict[int, list[int | float]]:
    """``{iteration: [per-server sums, in print order]}`` from the Python sum lines."""
    sums: dict[int, list[int | float]] = defaultdict(list)
    for m in map(_SERVER_SUM.match, output.splitlines()):
        if m:
            sums[int(m["i"])].append(_number(m["v"]))
    return dict(sums)
