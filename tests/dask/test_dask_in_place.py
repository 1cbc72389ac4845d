"""A server's worker reads a one-block chunk where the client wrote it, and keeps reading the
right bytes however long Dask holds it: when a client needs the space, the worker's copy
replaces the mapping in place, and the client writes only once it has (docs/dask.md, "Who
owns a block's bytes").

Each run publishes its global arrays for several script runs (``keep``), with a buffer of two
iterations per client: from the third iteration on, every client waits for space that only
held blocks can give. A server holds one block (its chunk), or several, each a chunk viewing
one window of the node buffer. At each iteration server 0 looks, on the workers, at which
memory mapping holds each published chunk and whether its values are still that
iteration's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dask_support import SCRIPTS, dask_config, run_generic, unique_name, write_config

from damaris_ref.core.config.model import Architecture, Layout, Variable

ITERATIONS = 6
KEEP = 4
ROWS, COLUMNS = 64, 512  # 256 KiB of doubles per block
BLOCK = ROWS * COLUMNS * 8
FIELD = (
    (Layout("rows", "double", (str(ROWS), str(COLUMNS))),),
    (Variable("field", "rows", script="probe"),),
)


def _run(tmp_path: Path, scheduler_file: Path, monkeypatch, domains: int, chunks: str):
    """A run whose one client per node writes ``domains`` blocks per iteration into room for
    two iterations (and a page to spare); what server 0 saw at each iteration."""
    name = unique_name("inplace")
    architecture = Architecture(
        domains=domains,
        dedicated_cores=1,
        ranks_per_node=2,
        buffer_size=2 * domains * BLOCK + 4096,
    )
    config = dask_config(name, SCRIPTS / "dask_in_place.py", scheduler_file, *FIELD, architecture)
    monkeypatch.setenv("DAMARIS_TEST_KEEP", str(KEEP))
    monkeypatch.setenv("DAMARIS_TEST_CHUNKS", chunks)
    out = tmp_path / "out"
    done = run_generic(4, write_config(config, tmp_path), ITERATIONS, out)
    assert done.returncode == 0, done.stderr
    assert "raised:" not in done.stderr, done.stderr
    return name, {
        iteration: json.loads((out / f"in_place_I{iteration}.json").read_text())
        for iteration in range(ITERATIONS)
    }


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("domains", "chunks"),
    [(1, "server"), (2, "block")],
    ids=["one block per server", "two blocks per client, a chunk each"],
)
def test_held_chunks_are_read_in_place_then_copied_out_for_room_and_stay_right(
    scheduler_file: Path,
    dask_client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    domains: int,
    chunks: str,
) -> None:
    name, seen = _run(tmp_path, scheduler_file, monkeypatch, domains, chunks)
    node_buffer = f"/memfd:damaris-{name}_node-buffer"
    for iteration, published in seen.items():
        # every chunk of every published array still holds its own iteration's values
        assert all(right for chunks in published.values() for _, right in chunks), published
        newest = published[str(iteration)]
        assert len(newest) == 2 * domains  # a chunk per block: 2 servers, 1 client each
        # the newest array is read where the clients wrote it: no copy
        assert {mapping for mapping, _ in newest} == {node_buffer}, (iteration, newest)
    # by the last iteration the clients needed the space of the oldest kept arrays: their
    # chunks were given copies of their own, in place
    oldest = seen[ITERATIONS - 1][str(ITERATIONS - KEEP)]
    assert {mapping for mapping, _ in oldest} == {"/memfd:damaris-copied-out"}, seen
