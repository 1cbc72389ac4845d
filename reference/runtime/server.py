"""The server side: collect each iteration's blocks, run the pyscripts, free the blocks (SPEC §3).

One :class:`Server` per server id, written once for every transport: it consumes
:class:`~damaris_ref.runtime.transport.base.Message` objects and decides when an iteration is
complete, which scripts run, and what ``DamarisData`` they see.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from damaris_ref.core import data
from damaris_ref.core.config.model import Config
from damaris_ref.core.topology import Topology
from damaris_ref.dask_bridge.worker_env import dask_env
from damaris_ref.runtime.scripts.garbage import IterationCollector
from damaris_ref.runtime.scripts.runner import ScriptRunner, main_namespace
from damaris_ref.runtime.transport.base import (
    BlockArrived,
    ClientStopped,
    IterationEnded,
    Message,
    ServerTransport,
)

#: called with (server id, pyscript name, DamarisData) before each script run
Observer = Callable[[int, str, data.DamarisData], None]
#: gives the context one run of a pyscript (by name) executes in, e.g. its Dask client
ScriptScope = Callable[[str], AbstractContextManager[object]]
#: (server id, iteration, variable, its blocks in arrival order) -> the blocks scripts get;
#: a seam for tests (:mod:`damaris_ref.runtime.seams`), the buffers are released as they arrived
BlockFilter = Callable[[int, int, str, list[data.Block]], list[data.Block]]


class Server:
    """Collects blocks per iteration for the clients it owns and runs scripts on them."""

    def __init__(
        self,
        config: Config,
        topology: Topology,
        server_id: int,
        magic: str,
        transport: ServerTransport,
        *,
        scheduler_files: Mapping[str, str] | None = None,
        observer: Observer | None = None,
        stderr: TextIO | None = None,
        script_scope: ScriptScope | None = None,
        block_filter: BlockFilter | None = None,
    ):
        self.config = config
        self.server_id = server_id
        self.magic = magic
        self.transport = transport
        self.known_clients = topology.known_clients(server_id)
        self.observer = observer
        self._script_scope = script_scope or (lambda _name: nullcontext())
        self._block_filter = block_filter
        self._stderr = stderr or sys.stderr
        namespace = main_namespace()  # this server's ``__main__``, shared by its pyscripts
        self._garbage = IterationCollector()
        self._runners = [
            ScriptRunner(
                p, stderr, namespace, watchdog_after=p.watchdog, collect=self._garbage.collect
            )
            for p in config.pyscripts
        ]
        self._type_strings = {
            v.name: data.type_string_of(config.layout(v.layout).type) for v in config.variables
        }
        self._damaris_env = data.damaris_env(topology, config.simulation_name, magic)
        files = scheduler_files or {}
        self._dask_envs = {
            p.name: dask_env(topology, p, config.simulation_name, magic, files.get(p.name, ""))
            for p in config.pyscripts
        }
        self._pending: dict[int, list[BlockArrived]] = defaultdict(list)
        self._last_ended = dict.fromkeys(self.known_clients, -1)
        self._stopped: set[int] = set()
        self._next_iteration = 0

    @property
    def done(self) -> bool:
        """True once every owned client has stopped."""
        return len(self._stopped) == len(self.known_clients)

    def serve(self) -> None:
        """Handle messages until every owned client has stopped, then flush what is left."""
        try:
            while not self.done:
                self.handle(self.transport.receive())
        except BaseException:
            self._garbage.release()  # finish() does so on the way out otherwise
            raise
        self.finish()

    def handle(self, message: Message) -> None:
        """Apply one message; runs the scripts of every iteration it completes."""
        if type(message) is BlockArrived:
            self._check_source(message.block.source)
            self._pending[message.block.iteration].append(message)
            return  # a block completes no iteration: only ends and stops do
        if isinstance(message, IterationEnded):
            self._check_source(message.source)
            self._last_ended[message.source] = message.iteration
        elif isinstance(message, ClientStopped):
            self._check_source(message.source)
            self._stopped.add(message.source)
        else:
            raise TypeError(f"server {self.server_id} received an unknown message: {message!r}")
        self._run_complete_iterations()

    def finish(self) -> None:
        """Report and free blocks of iterations that no client ever ended; the objects frozen
        to make the collections after each script cheap are collected again from here."""
        self._garbage.release()
        for iteration in sorted(self._pending):
            arrived = self._pending.pop(iteration)
            self._stderr.write(
                f"[damaris-ref] server {self.server_id}: {len(arrived)} block(s) of iteration "
                f"{iteration} were written but the iteration was never ended; dropped\n"
            )
            for item in arrived:
                self.transport.release(item)

    def _check_source(self, source: int) -> None:
        if source not in self._last_ended:
            raise RuntimeError(
                f"server {self.server_id} received a message from client {source}, which it "
                f"does not own (it owns {list(self.known_clients)}): routing is broken"
            )

    def _is_complete(self, iteration: int) -> bool:
        return all(
            last >= iteration or client in self._stopped
            for client, last in self._last_ended.items()
        )

    def _run_complete_iterations(self) -> None:
        while self._is_complete(self._next_iteration):
            iteration = self._next_iteration
            if self.done and iteration > max(self._last_ended.values()):
                return
            self._process(iteration)
            self._next_iteration += 1

    def _process(self, iteration: int) -> None:
        arrived = self._pending.pop(iteration, [])
        by_variable: dict[str, list[data.Block]] = defaultdict(list)
        for item in arrived:
            by_variable[item.block.variable].append(item.block)
        if self._block_filter is not None:
            for name, blocks in by_variable.items():
                by_variable[name] = self._block_filter(self.server_id, iteration, name, blocks)
        try:
            for runner in self._runners:
                if runner.should_run(iteration):
                    self._run_script(runner, iteration, by_variable)
        finally:
            for item in arrived:
                self.transport.release(item)

    def _run_script(self, runner: ScriptRunner, iteration: int, by_variable: Mapping) -> None:
        name = runner.pyscript.name
        routed = {
            v.name: by_variable[v.name]
            for v in self.config.variables_of_script(name)
            if v.name in by_variable
        }
        iteration_data = data.iteration_data(
            iteration, routed, self.server_id, self.magic, self._type_strings
        )
        damaris_data = data.damaris_data(self._damaris_env, self._dask_envs[name], iteration_data)
        if self.observer is not None:
            self.observer(self.server_id, name, damaris_data)
        with self._script_scope(name):
            runner.run(damaris_data, self.server_id, iteration)
