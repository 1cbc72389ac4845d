"""The worker's node reader, in one process (its worker and its server stand-ins): a hold's
window reads the buffer in place and read-only, its end is told once, an ended hold is never
read again however many holds came since, and a copy-out keeps a window's values while the
next hold reads the buffer's new bytes."""

from __future__ import annotations

import gc
import mmap
import os
import select
import struct
import types

import pytest

from damaris_ref.core.errors import DaskError
from damaris_ref.dask_bridge import in_place, shared_files

pytestmark = pytest.mark.skipif(not shared_files.supported(), reason="needs memfd and /proc")

PAGE = mmap.PAGESIZE
SIZE = 4 * PAGE
WORKER = "tcp://worker"


class Server:
    """The server's side: the buffer's file and its ends of the two pipes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(in_place, "get_worker", lambda: types.SimpleNamespace(address=WORKER))
        self.file = os.memfd_create("damaris-test-reader")
        os.ftruncate(self.file, SIZE)
        self.write(1)
        asked, self.requests = os.pipe()
        self.ends, told = os.pipe()
        self.reader = in_place.NodeReader(
            os.getpid(), (self.file, asked, told), SIZE, WORKER, "reader"
        )
        os.close(asked)  # the reader has its own now
        os.close(told)

    def write(self, value: int) -> None:
        os.pwrite(self.file, bytes([value]) * SIZE, 0)

    def ended(self, timeout: float = 10.0) -> int:
        """The next hold the reader says ended."""
        ready, _, _ = select.select([self.ends], [], [], timeout)
        assert ready, "the reader said nothing"
        return struct.unpack("<q", os.read(self.ends, 8))[0]

    def close(self) -> None:
        for fd in (self.requests, self.ends, self.file):
            os.close(fd)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    made = Server(monkeypatch)
    yield made
    made.close()


def test_a_window_reads_the_buffer_in_place_and_its_end_is_told_once(server):
    window = server.reader.window(0, PAGE + 8, 100, ((0, 100),))
    assert not window.flags.writeable
    server.write(2)
    assert (window == 2).all()  # the bytes the clients write, no copy
    del window
    gc.collect()
    assert server.ended() == 0
    server.reader.copy_out(0)  # asked after it ended: nothing, and nothing said again
    assert select.select([server.ends], [], [], 0.2)[0] == []


def test_an_ended_hold_is_never_read_again_however_many_came_since(server):
    for hold in range(50):
        server.reader.window(hold, 0, 8, ((0, 8),))
        gc.collect()
        assert server.ended() == hold
    for hold in (0, 25, 49):
        with pytest.raises(DaskError, match=f"hold {hold} of server process .* has ended"):
            server.reader.window(hold, 0, 8, ((0, 8),))
    assert len(server.reader._ended) == 0  # ended in order: remembered by the floor alone


def test_a_copied_out_window_keeps_its_values_and_the_next_hold_reads_new_bytes(server):
    kept = server.reader.window(0, 0, 64, ((0, 64),))
    os.write(server.requests, struct.pack("<q", 0))  # the server asks for a copy-out
    assert server.ended() == 0
    server.write(3)
    assert (kept == 1).all()
    fresh = server.reader.window(1, 0, 64, ((0, 64),))
    assert (fresh == 3).all()  # through a new mapping: the old one's page is a copy
