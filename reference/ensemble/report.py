"""Presenting an ensemble's outcome: a text table for people, JSON for programs."""

from __future__ import annotations

import json
from typing import Any

from damaris_ref.ensemble.sweep import EnsembleResult


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _result_columns(result: Any) -> dict[str, Any]:
    """A result as table columns: a dict's items, otherwise one ``result`` column."""
    if isinstance(result, dict):
        return {str(k): v for k, v in result.items()}
    return {"result": result}


def format_table(outcome: EnsembleResult) -> str:
    """One row per task: its parameters, then its result columns (``FAILED`` if it failed)."""
    rows = []
    for params, result, failure in outcome.outcomes():
        columns = {str(k): v for k, v in params.items()}
        if failure is not None:
            columns["status"] = "FAILED"
        else:
            columns.update(_result_columns(result))
        rows.append({name: _cell(value) for name, value in columns.items()})
    names = list(dict.fromkeys(name for row in rows for name in row))
    widths = {name: max(len(name), *(len(row.get(name, "")) for row in rows)) for name in names}
    lines = ["  ".join(name.rjust(widths[name]) for name in names)]
    lines += ["  ".join(row.get(name, "").rjust(widths[name]) for name in names) for row in rows]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: NumPy values as their Python equivalents, anything else as repr."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def to_json(outcome: EnsembleResult) -> str:
    """``[{"params": ..., "result": ..., "error": null | "message"}, ...]`` in submission order."""
    records = [
        {
            "params": params,
            "result": result,
            "error": None if failure is None else str(failure.error),
        }
        for params, result, failure in outcome.outcomes()
    ]
    return json.dumps(records, indent=2, default=_jsonable)
