"""The simulation-side helpers: parameters in on stdin, result out on stdout.

This is what every simulation process imports, so it uses the standard library only; the
codec is the one named by ``$DAMARIS_ENSEMBLE_CODEC`` (the runner sets it for the child, so
a script replies in the codec its parent expects without knowing about codecs at all).
"""

from __future__ import annotations

import sys

from damaris_ref.ensemble.codecs import get_codec

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from damaris_ref.ensemble.codec_protocol import Codec


def encode_transport_data(data: Any, codec: str | Codec | None = None) -> str:
    """Return ``data`` as one line of text to ``print`` for the parent to pick up."""
    return get_codec(codec).encode(data)


def decode_transport_data(encoded_data: str | bytes, codec: str | Codec | None = None) -> Any:
    """Turn text written by :func:`encode_transport_data` back into the object."""
    return get_codec(codec).decode(encoded_data)


def get_data_from_stdin(codec: str | Codec | None = None) -> Any:
    """Read the parameters the parent wrote to this process's stdin (a text stream works too)."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)  # bytes skip a text decode of big payloads
    return decode_transport_data(stream.read(), codec)
