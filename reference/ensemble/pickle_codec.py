"""The upstream wire format: base64 text of a pickle.

Decoding a pickle can run arbitrary code chosen by whoever wrote it, so this codec is for
peers you already trust to run code on your machine (see docs/ensembles.md, "Trust model").
"""

from __future__ import annotations

import binascii
import pickle

from damaris_ref.ensemble.codecs import TransportDecodeError, decode_base64, encode_base64

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

#: a pickle starts with the PROTO opcode followed by the protocol number
_PROTO = 0x80
_PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


class PickleCodec:
    """base64(pickle): any picklable object, compatible with upstream ``dask_espresso``."""

    name = "pickle"

    def encode(self, obj: Any) -> str:
        return encode_base64(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def decode(self, text: str | bytes) -> Any:
        raw = decode_base64(text)
        if len(raw) < 3 or raw[0] != _PROTO or raw[-1:] != pickle.STOP:
            raise TransportDecodeError("base64 text does not hold a pickle")
        try:
            return pickle.loads(raw)
        except Exception as exc:
            raise TransportDecodeError(f"pickle could not be loaded: {exc!r}") from exc

    def is_payload(self, line: bytes) -> bool:
        try:
            head = binascii.a2b_base64(line[:4], strict_mode=True)
        except binascii.Error:
            return False
        return len(head) == 3 and head[0] == _PROTO and head[1] in _PROTOCOLS


CODEC = PickleCodec()
