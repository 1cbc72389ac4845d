"""The checks: compare one run with its expectation and say precisely what differs.

Each check yields messages, the first difference first, each naming the place (server,
iteration, variable, block) and the expected and observed values. Required-tier checks are
what every port must pass; optional ones name the capability they exercise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from damaris_ref.conformance.cases import SEED_VARIABLES, Case
from damaris_ref.conformance.expectations import Expectation, ExpectedBlock
from damaris_ref.conformance.record import Answer, BlockRecord, RunRecord, VariableRecord
from damaris_ref.conformance.runs import Run
from damaris_ref.core.data import (
    DAMARIS_DATA_KEYS,
    DAMARIS_ENV_KEYS,
    DASK_ENV_KEYS,
    iteration_tag,
    parse_block_key,
    reassemble,
)
from damaris_ref.core.errors import UsageError
from damaris_ref.core.output_lines import client_totals

_ENTRY_KEYS = ("numpy_data", "sort_list", "type_string")
#: what a helper that returned no array for a block is compared as
_NOT_RETURNED = BlockRecord(error="not returned")
_NUMBERS = re.compile(r"\d+")

CheckFunction = Callable[[Expectation, Run], Iterator[str]]


@dataclass(frozen=True)
class Check:
    """A named comparison; ``capability`` is None for required-tier checks."""

    name: str
    function: CheckFunction
    capability: str | None = None

    @property
    def tier(self) -> str:
        """``required`` or ``optional``."""
        return "optional" if self.capability else "required"


def _keys(keys: Iterable[str]) -> str:
    """Block keys in numeric order (P2 before P10), comma-separated; ``(none)`` when empty."""
    ordered = sorted(keys, key=lambda k: [int(n) for n in _NUMBERS.findall(k)] or [0])
    return ",".join(ordered) or "(none)"


def _numbers(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in values) or "(none)"


def exit_messages(case: Case, run: Run, finished: bool = False) -> Iterator[str]:
    """The run ended as the case requires: exit 0 and readable records, or a clean error.

    ``finished``: the run did all its work before it failed (a teardown failure), which is
    said as such so that a port's flaky exit is told apart from a broken run.
    """
    if case.expect_error is None:
        failure = run.failure()
        if failure and finished:
            yield (
                f"the run finished every iteration (every script run recorded, every total "
                f"printed), then failed during teardown: {failure}"
            )
        elif failure:
            yield failure
        return
    if run.returncode is None:
        yield f"expected an error ({case.expect_error}) but the run hung: {run.failure()}"
    elif run.returncode == 0:
        yield f"expected an error ({case.expect_error}) but the run exited 0: {run.command}"


def _places(exp: Expectation, run: Run) -> Iterator[tuple[int, int, RunRecord]]:
    """(iteration, server, record) for every place the script ran, first record only."""
    for (iteration, server), records in sorted(run.by_place().items()):
        yield iteration, server, records[0]


def routing(exp: Expectation, run: Run) -> Iterator[str]:
    """The script runs once per server per script iteration, on exactly its clients' blocks."""
    for record in run.records:
        if record.server is None:
            found = list(record.tag_servers)
            yield f"record {record.file}: no single S<server> tag in its sort_lists (found {found})"
        if record.iteration is None:
            yield f"record {record.file}: iteration_data['iteration'] is not an integer"
    places = run.by_place()
    ran = sorted({iteration for iteration, _ in places})
    if ran != list(exp.script_iterations):
        yield (
            f"the script ran at iterations {_numbers(ran)}, expected "
            f"{_numbers(exp.script_iterations)}"
        )
    for iteration in exp.script_iterations:
        servers = sorted(server for i, server in places if i == iteration)
        if servers != list(exp.servers):
            yield f"iteration {iteration}: expected servers {_numbers(exp.servers)}, got " + (
                _numbers(servers)
            )
    steady = [v.name for v in exp.case.variables if v.time_varying]
    for (iteration, server), records in sorted(places.items()):
        where = f"server {server} iteration {iteration}"
        if len(records) > 1:
            yield f"{where}: the script ran {len(records)} times"
        expected = exp.blocks.get((iteration, server))
        if expected is None:
            continue
        for name in steady:
            want = set(expected.get(name, {}))
            got = set(records[0].variable(name).blocks)
            if want != got:
                yield f"{where}: expected {name} keys {_keys(want)}, got {_keys(got)}"


def damaris_data(exp: Expectation, run: Run) -> Iterator[str]:
    """DamarisData has the SPEC §3 layout: keys, type strings, sort_list tags, dtypes, shapes,
    offsets."""
    for iteration, server, record in _places(exp, run):
        where = f"server {server} iteration {iteration}"
        for missing in record.missing:
            yield f"{where}: DamarisData lacks {missing}"
        top = record.top_keys
        if top is not None and list(top) != sorted(DAMARIS_DATA_KEYS):
            yield (
                f"{where}: DamarisData keys are {','.join(top)}, expected exactly "
                f"{','.join(sorted(DAMARIS_DATA_KEYS))}"
            )
        for section, env, keys in (
            ("damaris_env", record.damaris_env, DAMARIS_ENV_KEYS),
            ("dask_env", record.dask_env, DASK_ENV_KEYS),
        ):
            lacking = [k for k in keys if env is not None and k not in env]
            if lacking:
                yield f"{where}: {section} lacks {','.join(lacking)}"
        expected = exp.blocks.get((iteration, server), {})
        tag = iteration_tag(server, iteration, str(record.magic))
        for name, entry in sorted(record.variables.items(), key=_seed_order):
            yield from _entry_messages(exp, where, name, entry, expected.get(name, {}))
            for text in entry.malformed_sort_entries:
                yield f"{where} {name}: sort_list entry {text} is not [tag, key, offsets]"
            for item in entry.sort_list:
                if item.tag != tag:
                    yield f"{where} {name} {item.key}: sort_list tag {item.tag}, expected {tag}"


def _seed_order(item: tuple[str, object]) -> tuple[int, str]:
    """Seed variables first, in the seed's order (cube_i leads every report)."""
    names = list(SEED_VARIABLES)
    return (names.index(item[0]) if item[0] in names else len(names), item[0])


def _entry_messages(
    exp: Expectation,
    where: str,
    name: str,
    entry: VariableRecord,
    expected: Mapping[str, ExpectedBlock],
) -> Iterator[str]:
    if name not in SEED_VARIABLES:
        yield f"{where}: iteration_data holds {name!r}, which is no variable of the seed"
        return
    if entry.error is not None:
        yield f"{where}: iteration_data[{name!r}]: {entry.error}"
        return
    lacking = [k for k in _ENTRY_KEYS if k not in entry.entry_keys]
    if lacking:
        yield f"{where} {name}: entry lacks {','.join(lacking)}"
    if "type_string" in entry.entry_keys and entry.type_string != exp.type_string(name):
        yield (
            f"{where} {name}: expected type_string {exp.type_string(name)}, got {entry.type_string}"
        )
    listed = Counter(item.key for item in entry.sort_list)
    held = Counter(list(entry.blocks))
    if entry.has_sort_list and entry.has_blocks and listed != held:
        yield (
            f"{where} {name}: sort_list names {_keys(listed.elements())}, numpy_data holds "
            f"{_keys(held.elements())}"
        )
    offsets = entry.offsets
    for key, block in sorted(entry.blocks.items()):
        want = expected.get(key)
        if want is None:
            continue  # a block that should not be here: the routing check names it
        if block.error is not None:
            yield f"{where} {name} {key}: {block.error}"
            continue
        for field, got, wanted in (
            ("dtype", block.dtype, want.dtype),
            ("shape", list(block.shape), list(want.shape)),
            ("offsets", offsets.get(key), list(want.offsets)),
        ):
            if got != wanted:
                yield f"{where} {name} {key}: expected {field} {wanted}, got {got}"


def values(exp: Expectation, run: Run) -> Iterator[str]:
    """Every block holds exactly the seed formula's values (byte for byte)."""
    for iteration, server, record in _places(exp, run):
        for name, blocks in exp.blocks.get((iteration, server), {}).items():
            observed = record.variable(name).blocks
            for key, want in blocks.items():
                got = observed.get(key)
                if got is None or got.error is not None or got.sha256 == want.sha256:
                    continue
                where = f"server {server} iteration {iteration} {name} {key}"
                if got.sum != want.sum:
                    yield f"{where}: expected sum {want.sum}, got {got.sum}"
                else:
                    yield (
                        f"{where}: values differ from the seed formula (same sum {want.sum}, "
                        f"{got.dtype} bytes instead of {want.dtype})"
                    )


def reassembly(exp: Expectation, run: Run) -> Iterator[str]:
    """Sorted by offsets, each server's blocks form one box and all of them tile the global
    array exactly once (with ``values``, this is the exact global array)."""
    for iteration in exp.script_iterations:
        for name in ("cube_i", "cube_f"):
            if not any(exp.blocks.get((iteration, s), {}).get(name) for s in exp.servers):
                continue
            per_server = {
                server: _pieces(record, name)
                for i, server, record in _places(exp, run)
                if i == iteration
            }
            for server, pieces in sorted(per_server.items()):
                if pieces:
                    error = _tiling_error(pieces)
                    if error:
                        yield (
                            f"server {server} iteration {iteration} {name}: its blocks sorted "
                            f"by offsets do not form one box: {error}"
                        )
            everything = [piece for pieces in per_server.values() for piece in pieces]
            error = _tiling_error(everything, exp.global_shape)
            if error:
                yield (
                    f"iteration {iteration} {name}: the blocks of all servers do not rebuild "
                    f"the global array of shape {list(exp.global_shape)}: {error}"
                )


def _pieces(record: RunRecord, name: str) -> list[tuple[list[int], tuple[int, ...]]]:
    entry = record.variable(name)
    offsets = entry.offsets
    return [
        (offsets[key], block.shape)
        for key, block in sorted(entry.blocks.items())
        if key in offsets and block.error is None
    ]


def _tiling_error(
    pieces: list[tuple[list[int], tuple[int, ...]]], shape: tuple[int, ...] | None = None
) -> str | None:
    """Why the boxes do not tile (``shape`` from the origin, or their own bounding box)."""
    if not pieces:
        return "no blocks"
    marks = ((offsets, np.broadcast_to(np.uint8(0), size)) for offsets, size in pieces)
    origin = None if shape is None else (0,) * len(shape)
    try:
        reassemble(marks, origin=origin, shape=shape)
    except UsageError as error:  # the boxes do not tile
        return str(error)
    return None


def totals(exp: Expectation, run: Run) -> Iterator[str]:
    """Client 0 prints the all-client total each iteration (SPEC §6, either line form)."""
    printed = client_totals(run.stdout)
    if not printed:
        yield (
            "no client total lines ('C++    iteration <i> , Sum () = <total>') in the output; "
            "3dmesh_py prints them with -v 2"
        )
        return
    for iteration, want in sorted(exp.client_totals.items()):
        got = printed.get(iteration)
        if got != want:
            yield f"iteration {iteration}: expected client total {want}, got {got}"
    extra = sorted(set(printed) - set(exp.client_totals))
    if extra:
        yield f"client totals printed for iterations {_numbers(extra)} that were not run"


def golden(exp: Expectation, run: Run) -> Iterator[str]:
    """The case's golden facts (observed on upstream Damaris) hold in this run too."""
    facts = exp.case.expect
    printed = client_totals(run.stdout)
    for iteration, want in enumerate(facts.client_totals):
        if printed.get(iteration) != want:
            yield (
                f"iteration {iteration}: client total {printed.get(iteration)}, golden value "
                f"{want} ({exp.case.spec})"
            )
    places = run.by_place()
    for iteration, server_sums in facts.server_sums.items():
        wanted_sums = list(server_sums)
        got_sums = [
            places[(iteration, s)][0].block_sum("cube_i") if (iteration, s) in places else None
            for s in exp.servers
        ]
        if got_sums != wanted_sums:
            yield (
                f"iteration {iteration}: per-server cube_i sums {got_sums}, golden values "
                f"{wanted_sums} ({exp.case.spec})"
            )
    for iteration, sums in facts.block_sums.items():
        blocks = {
            key: block.sum
            for (i, _), records in places.items()
            if i == iteration
            for key, block in records[0].variable("cube_i").blocks.items()
        }
        for key, block_sum in sums.items():
            if blocks.get(key) != block_sum:
                yield (
                    f"iteration {iteration}: cube_i {key} sum {blocks.get(key)}, golden value "
                    f"{block_sum} ({exp.case.spec})"
                )
    for server, clients in enumerate(facts.known_clients):
        known = list(clients)
        for iteration in exp.script_iterations:
            records = places.get((iteration, server))
            received = _sources(records[0]) if records else None
            if received != known:
                yield (
                    f"iteration {iteration}: server {server} received the blocks of clients "
                    f"{received}, golden known clients {known} ({exp.case.spec})"
                )


def _sources(record: RunRecord) -> list[int]:
    """The clients whose blocks a script run received: the ``P<source>`` of its block keys
    (the server's known clients, SPEC §1), ascending."""
    sources = set()
    for entry in record.variables.values():
        for key in entry.blocks:
            try:
                sources.add(parse_block_key(key)[0])
            except ValueError:
                continue  # not a block name: the damaris-data check names it
    return sorted(sources)


def environment(exp: Expectation, run: Run) -> Iterator[str]:
    """``damaris_env`` reports the layout, and one decimal magic number for the whole run."""
    expected = exp.damaris_env()
    magics = set()
    for iteration, server, record in _places(exp, run):
        env = record.damaris_env or {}
        yield from _env_differences("damaris_env", env, expected, server, iteration)
        magic = env.get("simulation_magic_number")
        if magic is not None:
            magics.add(magic)
            if not (isinstance(magic, str) and magic.isdigit()):
                yield f"server {server}: simulation_magic_number {magic!r} is not a decimal string"
    if len(magics) > 1:
        yield f"servers report different simulation_magic_number values: {sorted(magics)}"


def time_varying(exp: Expectation, run: Run) -> Iterator[str]:
    """Variables declared ``time_varying: false`` arrive at iteration 0 only."""
    fixed = [v.name for v in exp.case.variables if v.routed and not v.time_varying]
    for iteration, server, record in _places(exp, run):
        expected = exp.blocks.get((iteration, server), {})
        for name in fixed:
            want = set(expected.get(name, {}))
            got = set(record.variable(name).blocks)
            if iteration > 0 and got:
                yield (
                    f"server {server} iteration {iteration}: {name} is not time-varying but "
                    f"was delivered again ({_keys(got)})"
                )
            elif want != got:
                yield (
                    f"server {server} iteration {iteration}: expected {name} keys {_keys(want)}, "
                    f"got {_keys(got)}"
                )


def known_clients(exp: Expectation, run: Run) -> Iterator[str]:
    """``damaris4py.server.listknownclients()`` names the clients each server owns."""
    reported = set()
    for _, server, record in _places(exp, run):
        if server in reported:
            continue
        reported.add(server)
        helpers = record.damaris4py
        answer = helpers.known_clients if helpers else Answer()
        want = list(exp.topology.known_clients(server))
        if answer.value is None:
            reason = answer.error or (
                helpers.server_import_error if helpers else "the record holds no damaris4py answers"
            )
            yield f"server {server}: listknownclients() failed: {reason}"
        elif answer.value != want:
            got = answer.value
            reordered = " (the same clients, not in ascending order)" if sorted(got) == want else ""
            yield f"server {server}: listknownclients() returned {got}, expected {want}{reordered}"


def damaris4py_accessors(exp: Expectation, run: Run) -> Iterator[str]:
    """``damaris4py.dask.damaris_dask`` accessors read the same DamarisData the script got."""
    for iteration, server, record in _places(exp, run):
        where = f"server {server} iteration {iteration}"
        helpers = record.damaris4py
        if helpers is None:
            yield f"{where}: the record holds no damaris4py answers"
            continue
        if helpers.dask_import_error:
            yield f"{where}: {helpers.dask_import_error}"
            continue
        for answer, call, want in (
            (helpers.iteration, "return_iteration", iteration),
            (helpers.magic, "return_magic_number", record.magic),
        ):
            if answer.value != want:
                got = f"error {answer.error}" if answer.error else repr(answer.value)
                yield f"{where}: {call}(DD) gave {got}, expected {want!r}"
        for variable, entry in record.variables.items():
            for key, block in entry.blocks.items():
                returned = helpers.numpy_arrays.get(f"{variable}/{key}", _NOT_RETURNED)
                if returned.sha256 != block.sha256:
                    yield (
                        f"{where}: return_numpy_array(DD, {variable!r}, {key}) differs from "
                        f"numpy_data[{key!r}] ({returned.error or 'other values'})"
                    )


def exec_model(exp: Expectation, run: Run) -> Iterator[str]:
    """The script is executed as upstream does it (spec §3): separate globals and locals, and
    its top-level names kept from one run to the next on the same server."""
    for iteration, server, record in _places(exp, run):
        where = f"server {server} iteration {iteration}"
        execution = record.execution
        if execution is None:
            yield f"{where}: the probe did not record how it was executed"
            continue
        if not execution.separate_locals:
            yield (
                f"{where}: the script ran with one namespace (globals() is locals()); "
                "upstream runs it as exec(code, G, L), so its functions do not see its "
                "top-level names"
            )
        want = exp.script_iterations.index(iteration)
        if execution.runs_before != want:
            yield (
                f"{where}: the script's top-level names had survived "
                f"{execution.runs_before} earlier run(s), expected {want} (they persist "
                "between runs on one server)"
            )


def dask_environment(exp: Expectation, run: Run) -> Iterator[str]:
    """``dask_env`` without a scheduler: no scheduler file, one worker per server in all."""
    expected = {
        "dask_scheduler_file": "",
        "dask_nworkers": exp.topology.server_count,
        "dask_threads_per_worker": 1,
    }
    for iteration, server, record in _places(exp, run):
        env = record.dask_env or {}
        yield from _env_differences("dask_env", env, expected, server, iteration)


def _env_differences(
    section: str, env: Mapping[str, object], expected: dict, server: int, iteration: int
) -> Iterator[str]:
    """Keys of an environment dictionary whose value differs from the expected one."""
    for key, want in expected.items():
        if key in env and env[key] != want:
            yield (
                f"server {server} iteration {iteration}: {section}.{key} expected {want!r}, "
                f"got {env[key]!r}"
            )


#: every check, in the order a failing port should read them
CHECKS: tuple[Check, ...] = (
    Check("routing", routing),
    Check("damaris-data", damaris_data),
    Check("values", values),
    Check("reassembly", reassembly),
    Check("totals", totals),
    Check("golden", golden),
    Check("env", environment),
    Check("exec-model", exec_model),
    Check("time-varying", time_varying, "time-varying"),
    Check("known-clients", known_clients, "damaris4py"),
    Check("damaris4py", damaris4py_accessors, "damaris4py"),
    Check("dask-env", dask_environment, "dask-env"),
)


def checks_for(case: Case) -> tuple[Check, ...]:
    """The checks that apply to a case (an error case has only its exit to check)."""
    if case.expect_error is not None:
        return ()
    return tuple(c for c in CHECKS if c.name != "golden" or case.expect.stated)


def tier_of(case: Case | None, check: Check | None) -> str:
    """The tier of one test (one check of one case; ``check`` None is the exit check):
    ``optional`` when its case or its check is, so a required case's optional check is optional
    (``case`` None: a generated case, whose tier is its check's)."""
    tiers = {case.tier if case else "required", check.tier if check else "required"}
    return "optional" if "optional" in tiers else "required"
