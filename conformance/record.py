"""The run record: what one script run on one server received, read back from the probe's JSON.

The probe (and the test recorders, which call it) write records in one format, version
:data:`probe.PROBE_FORMAT`, described by ``probe-record.schema.json``. This module validates a
record against that schema, so a port whose record is malformed gets an error naming the
field, and parses it once into dataclasses, so the checks read attributes. Blocks themselves
are optional: the writer may put them in an ``.npz`` beside the JSON (``blocks_file``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import jsonschema_rs
import numpy as np

from damaris_ref.conformance import probe
from damaris_ref.core.config.schema import surely_valid
from damaris_ref.core.errors import ConformanceError

SCHEMA_PATH = Path(__file__).parent / "probe-record.schema.json"

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class BlockRecord:
    """One block: shape, dtype, exact sum and checksum, or ``error`` saying why there are none."""

    shape: tuple[int, ...] = ()
    dtype: str = ""
    dtype_str: str = ""
    sum: int | float | None = None
    sha256: str = ""
    error: str | None = None


class SortEntry(NamedTuple):
    """One well-formed ``sort_list`` entry (unpacks as ``tag, key, offsets``)."""

    tag: str
    key: str
    offsets: list[int]


@dataclass(frozen=True)
class VariableRecord:
    """One ``iteration_data`` entry; ``error`` is set (and nothing else) when it is no dict."""

    entry_keys: tuple[str, ...] = ()
    type_string: Scalar = None
    has_sort_list: bool = False
    sort_list: tuple[SortEntry, ...] = ()
    #: the text of every ``sort_list`` entry not shaped ``[tag, key, offsets]``
    malformed_sort_entries: tuple[str, ...] = ()
    has_blocks: bool = False
    blocks: Mapping[str, BlockRecord] = field(default_factory=dict)
    error: str | None = None

    @property
    def offsets(self) -> dict[str, list[int]]:
        """Block key -> offsets, from the well-formed ``sort_list`` entries."""
        return {entry.key: entry.offsets for entry in self.sort_list}


@dataclass(frozen=True)
class Answer:
    """What one damaris4py helper returned, or the error it raised (both None: not asked)."""

    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Damaris4pyRecord:
    """The damaris4py helpers' answers; ``*_import_error`` says a module could not be imported."""

    server_import_error: str | None = None
    dask_import_error: str | None = None
    known_clients: Answer = Answer()
    server_id: Answer = Answer()
    magic_number: Answer = Answer()
    iteration: Answer = Answer()
    magic: Answer = Answer()
    numpy_arrays: Mapping[str, BlockRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class Execution:
    """How the script file was executed (specification §3)."""

    separate_locals: bool
    runs_before: int


@dataclass(frozen=True)
class RunRecord:
    """One script run on one server, as recorded."""

    file: str
    python: str
    missing: tuple[str, ...]
    top_keys: tuple[str, ...] | None
    damaris_env: Mapping[str, Scalar] | None
    dask_env: Mapping[str, Scalar] | None
    iteration_value: Scalar
    variables: Mapping[str, VariableRecord]
    tag_servers: tuple[int, ...]
    damaris4py: Damaris4pyRecord | None
    execution: Execution | None
    recorded_server: int | None = None
    #: variable -> block key -> array, when the writer kept the blocks (``blocks_file``)
    arrays: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)

    @property
    def server(self) -> int | None:
        """The server id: as the recorder knew it, else from the ``S<server>`` tags, else what
        damaris4py says when no block arrived (None when nothing tells, or the tags disagree)."""
        if self.recorded_server is not None:
            return self.recorded_server
        if not self.tag_servers:
            fallback = self.damaris4py.server_id.value if self.damaris4py else None
            return fallback if isinstance(fallback, int) else None
        return self.tag_servers[0] if len(self.tag_servers) == 1 else None

    @property
    def iteration(self) -> int | None:
        """``iteration_data["iteration"]`` as the script saw it, when it is an integer."""
        value = self.iteration_value
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def magic(self) -> Scalar:
        """``damaris_env["simulation_magic_number"]`` (None when absent)."""
        return (self.damaris_env or {}).get("simulation_magic_number")

    def variable(self, name: str) -> VariableRecord:
        """The record of variable ``name``, empty when the script did not receive it."""
        return self.variables.get(name, _ABSENT)

    def block_sum(self, name: str) -> int | float:
        """The sum of every block of variable ``name`` (what a script summing them prints)."""
        return sum(block.sum or 0 for block in self.variable(name).blocks.values())


_ABSENT = VariableRecord()


@cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema every record follows."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(record_schema())


@cache
def _fast_validator() -> Any:
    return jsonschema_rs.Draft202012Validator(record_schema())


def validate(data: Any, source: str) -> None:
    """Raise :class:`ConformanceError` naming the first field of ``data`` that breaks the schema."""
    if not isinstance(data, dict) or data.get("probe_format") != probe.PROBE_FORMAT:
        found = data.get("probe_format") if isinstance(data, dict) else type(data).__name__
        raise ConformanceError(
            f"probe record {source} has format {found!r}, this suite reads "
            f"{probe.PROBE_FORMAT}: use the probe.py shipped with it"
        )
    if surely_valid(_fast_validator(), data):  # compiled: every record of a run is checked
        return
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConformanceError(
            f"probe record {source}: {where}: {error.message} (see probe-record.schema.json)"
        )


def parse(
    data: Any, source: str, arrays: Mapping[str, Mapping[str, np.ndarray]] | None = None
) -> RunRecord:
    """Validate ``data`` (a decoded record) and build its :class:`RunRecord`.

    A record of a probe that failed raises :class:`ConformanceError` with the probe's traceback.
    """
    validate(data, source)
    if "probe_error" in data:
        raise ConformanceError(f"the probe failed inside the port: {data['probe_error']}")
    helpers = data.get("damaris4py")
    execution = data.get("execution")
    return RunRecord(
        file=source,
        python=data["python"],
        missing=tuple(data["missing"]),
        top_keys=tuple(data["top_keys"]) if "top_keys" in data else None,
        damaris_env=data.get("damaris_env"),
        dask_env=data.get("dask_env"),
        iteration_value=data.get("iteration"),
        variables={name: _variable(entry) for name, entry in data.get("variables", {}).items()},
        tag_servers=tuple(data.get("tag_servers", ())),
        damaris4py=None if helpers is None else _damaris4py(helpers),
        execution=None if execution is None else Execution(**execution),
        recorded_server=data.get("server"),
        arrays=arrays or {},
    )


def _block(data: Mapping[str, Any]) -> BlockRecord:
    if "error" in data:
        return BlockRecord(error=data["error"])
    return BlockRecord(
        shape=tuple(data["shape"]),
        dtype=data["dtype"],
        dtype_str=data["dtype_str"],
        sum=data["sum"],
        sha256=data["sha256"],
    )


def _variable(data: Mapping[str, Any]) -> VariableRecord:
    if "error" in data:
        return VariableRecord(error=data["error"])
    items = data.get("sort_list", [])
    return VariableRecord(
        entry_keys=tuple(data["entry_keys"]),
        type_string=data.get("type_string"),
        has_sort_list="sort_list" in data,
        sort_list=tuple(SortEntry(*item) for item in items if isinstance(item, list)),
        malformed_sort_entries=tuple(item for item in items if isinstance(item, str)),
        has_blocks="blocks" in data,
        blocks={key: _block(block) for key, block in data.get("blocks", {}).items()},
    )


def _damaris4py(data: Mapping[str, Any]) -> Damaris4pyRecord:
    def answer(name: str) -> Answer:
        return Answer(data.get(name), data.get(f"{name}_error"))

    return Damaris4pyRecord(
        server_import_error=data.get("server_error"),
        dask_import_error=data.get("dask_error"),
        known_clients=answer("known_clients"),
        server_id=answer("server_id"),
        magic_number=answer("magic_number"),
        iteration=answer("iteration"),
        magic=answer("magic"),
        numpy_arrays={key: _block(block) for key, block in data.get("numpy_arrays", {}).items()},
    )


def read(path: Path) -> RunRecord:
    """Read, validate and parse one record file, and its ``blocks_file`` when it names one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConformanceError(f"probe record {path.name} is unreadable: {error}") from error
    arrays = None
    if isinstance(data, dict) and isinstance(data.get("blocks_file"), str):
        arrays = _arrays(path.parent / data["blocks_file"])
    return parse(data, path.name, arrays)


def _arrays(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """variable -> block key -> array, from a ``blocks_file``."""
    try:
        with np.load(path) as saved:
            return nest_arrays({name: saved[name] for name in saved.files})
    except (OSError, ValueError) as error:
        raise ConformanceError(f"blocks file {path.name} is unreadable: {error}") from error


def nest_arrays(flat: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """variable -> block key -> array, from the ``<variable>::<key>`` names of
    :func:`probe.block_arrays` (a name without the separator raises ValueError)."""
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for name, array in flat.items():
        variable, key = name.rsplit(probe.ARRAY_SEPARATOR, 1)
        arrays.setdefault(variable, {})[key] = array
    return arrays


def load_records(directory: Path) -> tuple[list[RunRecord], list[str]]:
    """Every record of a run, and a description of each that cannot be used."""
    records, problems = [], []
    for path in _record_files(directory):
        try:
            records.append(read(path))
        except ConformanceError as error:
            problems.append(str(error))
    return records, problems


def _record_files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))
