"""Finding the result in a simulation's stdout.

Upstream scripts print exactly one base64 line; real codes also print banners and stray
``print`` output. The result is the last non-empty line that starts like the codec's output
(a pickle's PROTO opcode, or the safe codec's magic), so lines printed before or after it
are ignored and a plain upstream line still works. Nothing is decoded here.
"""

from __future__ import annotations

from damaris_ref.ensemble.codec_protocol import Codec


def find_payload(stdout: bytes, codec: Codec) -> bytes | None:
    """Return the last stdout line that ``codec`` recognises as its payload, or ``None``."""
    end = len(stdout)
    while end > 0:
        start = stdout.rfind(b"\n", 0, end) + 1
        line = stdout[start:end].strip()
        if line and codec.is_payload(line):
            return line
        end = start - 1
    return None
