"""The server's iteration logic, driven message by message through ``Server.handle`` (spec §3)."""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, PyScript, Variable
from damaris_ref.core.data import Block
from damaris_ref.core.topology import compute_topology, emulated_nodes
from damaris_ref.runtime.server import Server
from damaris_ref.runtime.transport.base import BlockArrived, ClientStopped, IterationEnded

SCRIPTS = Path(__file__).parent / "scripts"
MAGIC = "424242"
#: two emulated nodes of 6 ranks with 2 dedicated cores each: 4 servers, server 0 owns 0 and 1
TOPOLOGY = compute_topology(emulated_nodes(12, 6), dedicated_cores=2)


@dataclass
class RecordingServerTransport:
    """A ServerTransport whose messages come from a list; it records every release."""

    messages: list = field(default_factory=list)
    released: list[BlockArrived] = field(default_factory=list)

    def receive(self):
        return self.messages.pop(0)

    def release(self, arrived: BlockArrived) -> None:
        self.released.append(arrived)


@dataclass
class Harness:
    """A server 0 with its transport, the script runs it made and its stderr."""

    server: Server
    transport: RecordingServerTransport
    runs: list[tuple[str, int, dict]]
    stderr: io.StringIO

    def send(self, *messages) -> None:
        for message in messages:
            self.server.handle(message)

    def iterations(self, pyscript: str = "main") -> list[int]:
        return [iteration for name, iteration, _ in self.runs if name == pyscript]


def make_config(main_script: Path = SCRIPTS / "noop.py", frequency: int = 1) -> Config:
    """``a`` goes to pyscript ``main``, ``b`` to ``other``, ``c`` to no script."""
    return Config(
        "server-test",
        Architecture(dedicated_cores=2, ranks_per_node=6),
        layouts=(Layout("pair", "int", ("2",)),),
        variables=(
            Variable("a", "pair", script="main"),
            Variable("b", "pair", script="other"),
            Variable("c", "pair"),
        ),
        pyscripts=(
            PyScript("main", main_script, frequency=frequency),
            PyScript("other", SCRIPTS / "noop.py"),
        ),
    )


def make_harness(config: Config | None = None, **server_options) -> Harness:
    transport = RecordingServerTransport()
    runs: list[tuple[str, int, dict]] = []
    stderr = io.StringIO()
    server = Server(
        config or make_config(),
        TOPOLOGY,
        0,
        MAGIC,
        transport,
        observer=lambda sid, name, dd: runs.append((name, dd["iteration_data"]["iteration"], dd)),
        stderr=stderr,
        **server_options,
    )
    return Harness(server, transport, runs, stderr)


@pytest.fixture
def harness() -> Harness:
    return make_harness()


def arrive(source: int, iteration: int, variable: str = "a", number: int = 0) -> BlockArrived:
    values = np.full(2, 100 * iteration + source, dtype=np.int32)
    block = Block(variable, source, number, iteration, (2 * source,), values)
    return BlockArrived(block, handle=object())


def end(source: int, *iterations: int) -> list[IterationEnded]:
    return [IterationEnded(source, i) for i in iterations]


# completion and order -----------------------------------------------------------------------
def test_iteration_runs_only_once_every_owned_client_ended_it(harness):
    harness.send(arrive(0, 0), arrive(1, 0), *end(0, 0))
    assert harness.runs == []
    assert harness.transport.released == []
    harness.send(*end(1, 0))
    assert harness.iterations() == [0]
    assert set(harness.runs[0][2]["iteration_data"]["a"]["numpy_data"]) == {"P0_B0", "P1_B0"}


def test_a_stopped_client_does_not_hold_back_the_others(harness):
    harness.send(ClientStopped(1), arrive(0, 0), *end(0, 0))
    assert harness.iterations() == [0]


def test_iterations_run_in_order_when_one_client_runs_ahead(harness):
    harness.send(*end(0, 0, 1, 2), arrive(0, 2), arrive(0, 1))
    assert harness.runs == []
    harness.send(*end(1, 0))
    assert harness.iterations() == [0]
    harness.send(*end(1, 1, 2))
    assert harness.iterations() == [0, 1, 2]
    assert harness.iterations("other") == [0, 1, 2]
    assert [run[2]["iteration_data"]["a"]["sort_list"][0][0] for run in harness.runs[2::2]] == [
        f"S0_I1_{MAGIC}",
        f"S0_I2_{MAGIC}",
    ]


def test_script_runs_only_when_frequency_divides_the_iteration_but_blocks_are_freed():
    harness = make_harness(make_config(frequency=2))
    for iteration in range(5):
        harness.send(arrive(0, iteration), arrive(1, iteration), *end(0, iteration))
        harness.send(*end(1, iteration))
        assert len(harness.transport.released) == 2 * (iteration + 1)
    assert harness.iterations() == [0, 2, 4]
    assert harness.iterations("other") == [0, 1, 2, 3, 4]


# releases -----------------------------------------------------------------------------------
def all_released_once(harness: Harness, sent: list[BlockArrived]) -> bool:
    counts = Counter(id(item) for item in harness.transport.released)
    return counts == Counter(id(item) for item in sent)


def test_every_block_is_released_exactly_once_also_when_the_script_raises():
    harness = make_harness(make_config(SCRIPTS / "raises.py"))
    sent = [arrive(s, i, v) for i in range(2) for s in (0, 1) for v in "abc"]
    harness.send(*sent, *end(0, 0, 1), *end(1, 0, 1), ClientStopped(0), ClientStopped(1))
    harness.server.finish()
    assert all_released_once(harness, sent)
    assert harness.iterations() == [0, 1]
    assert harness.stderr.getvalue().count("RuntimeError: deliberate failure") == 2


def test_blocks_of_never_ended_iterations_are_reported_and_released_by_finish(harness):
    sent = [arrive(0, 0), arrive(1, 0), arrive(0, 1), arrive(0, 1, "b")]
    harness.send(*sent, *end(0, 0), *end(1, 0), ClientStopped(0), ClientStopped(1))
    assert harness.server.done
    assert harness.iterations() == [0]
    assert len(harness.transport.released) == 2
    harness.server.finish()
    assert all_released_once(harness, sent)
    report = harness.stderr.getvalue()
    assert "server 0: 2 block(s) of iteration 1" in report
    assert "never ended" in report
    assert harness.iterations() == [0]  # the unfinished iteration never reaches a script


def test_serve_handles_messages_until_every_client_stopped(harness):
    harness.transport.messages = [
        arrive(0, 0),
        *end(0, 0),
        ClientStopped(0),
        arrive(1, 0),
        *end(1, 0),
        arrive(1, 1),
        ClientStopped(1),
    ]
    harness.server.serve()
    assert harness.transport.messages == []
    assert harness.iterations() == [0]
    assert len(harness.transport.released) == 3


@pytest.mark.parametrize(
    "message",
    [arrive(2, 0), IterationEnded(5, 0), ClientStopped(3)],
    ids=["block", "end_iteration", "stop"],
)
def test_message_from_a_client_the_server_does_not_own_names_the_owned_ones(harness, message):
    with pytest.raises(RuntimeError, match=r"server 0 .* does not own \(it owns \[0, 1\]\)"):
        harness.send(message)


# what scripts receive -----------------------------------------------------------------------
def test_damaris_data_environment_for_dedicated_cores(harness):
    harness.send(*end(0, 0), *end(1, 0))
    damaris_data = harness.runs[0][2]
    assert list(damaris_data) == ["dask_env", "damaris_env", "iteration_data"]
    assert damaris_data["damaris_env"] == {
        "is_dedicated_node": False,
        "is_dedicated_core": True,
        "servers_per_node": 2,
        "clients_per_node": 4,
        "ranks_per_node": 6,
        "cores_per_node": 6,
        "number_of_nodes": 2,
        "simulation_name": "server-test",
        "simulation_magic_number": MAGIC,
    }
    assert damaris_data["dask_env"] == {
        "dask_scheduler_file": "",
        "dask_workers_name": f"server-test_{MAGIC}",
        "dask_nworkers": 4,  # every server of the run, not servers per node
        "dask_threads_per_worker": 1,
    }


def test_dask_env_carries_the_scheduler_file_of_each_pyscript():
    harness = make_harness(scheduler_files={"other": "/tmp/scheduler.json"})
    harness.send(*end(0, 0), *end(1, 0))
    files = {name: dd["dask_env"]["dask_scheduler_file"] for name, _, dd in harness.runs}
    assert files == {"main": "", "other": "/tmp/scheduler.json"}


def test_only_variables_routed_to_a_pyscript_reach_it(harness):
    harness.send(*(arrive(s, 0, v) for s in (0, 1) for v in "abc"), *end(0, 0), *end(1, 0))
    seen = {name: set(dd["iteration_data"]) for name, _, dd in harness.runs}
    assert seen == {"main": {"iteration", "a"}, "other": {"iteration", "b"}}
    entry = harness.runs[0][2]["iteration_data"]["a"]
    assert entry["type_string"] == "_int"
    assert entry["sort_list"] == [
        [f"S0_I0_{MAGIC}", "P0_B0", [0]],
        [f"S0_I0_{MAGIC}", "P1_B0", [2]],
    ]


def test_an_iteration_without_blocks_still_runs_with_only_its_number(harness):
    harness.send(*end(0, 0), *end(1, 0))
    assert [dd["iteration_data"] for _, _, dd in harness.runs] == [{"iteration": 0}] * 2


def test_each_pyscript_has_its_own_watchdog_delay(tmp_path):
    """``watchdog`` (seconds, 0: never) of a pyscript sets when its long runs are reported."""
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(0.3)\n")
    config = make_config(slow)
    quick_watch = dataclasses.replace(config.pyscripts[0], watchdog=0.05)
    never = dataclasses.replace(config.pyscripts[0], name="other", watchdog=0.0)
    harness = make_harness(dataclasses.replace(config, pyscripts=(quick_watch, never)))
    harness.send(IterationEnded(0, 0), IterationEnded(1, 0))
    lines = harness.stderr.getvalue().splitlines()
    reports = [line for line in lines if line.startswith("[damaris-ref] watchdog:")]
    assert reports and all("pyscript 'main'" in line for line in reports)


# the block filter seam ----------------------------------------------------------------------
def test_the_block_filter_decides_what_scripts_see_and_every_arrived_block_is_released():
    seen = []

    def drop_source_1(server_id, iteration, variable, blocks):
        seen.append((server_id, iteration, variable, [b.source for b in blocks]))
        return [b for b in blocks if b.source != 1]

    harness = make_harness(block_filter=drop_source_1)
    arrived = [arrive(1, 0), arrive(0, 0)]
    harness.send(*arrived, *end(0, 0), *end(1, 0))
    assert seen == [(0, 0, "a", [1, 0])]  # once per iteration and variable, in arrival order
    [damaris_data] = [dd for name, _, dd in harness.runs if name == "main"]
    assert sorted(damaris_data["iteration_data"]["a"]["numpy_data"]) == ["P0_B0"]
    assert harness.transport.released == arrived
