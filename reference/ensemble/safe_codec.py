"""A wire format that cannot execute code when decoded: a JSON tree plus ``.npy`` blocks.

Layout (then base64): ``MAGIC | header length (u64 LE) | header JSON | npy block ...``.
The header is ``{"tree": node, "blocks": [length, ...]}``. In the tree, ``None``, booleans,
integers, floats (NaN and infinities included), strings and lists are plain JSON; every
other value is a JSON object with exactly one tag key, so user data never looks like a tag:
``tuple``, ``dict`` (a list of ``[key, value]`` pairs, so keys need not be strings), ``set``,
``frozenset``, ``bytes`` (base64), ``complex`` (``[real, imag]``), ``ndarray`` and
``npscalar`` (index of an ``.npy`` block, read with ``allow_pickle=False``). Anything else is
refused on both sides. NumPy is imported only when a payload holds arrays.
"""

from __future__ import annotations

import binascii
import io
import json
import math
import struct
import sys

from damaris_ref.ensemble.codecs import TransportDecodeError, decode_base64, encode_base64

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _Set = TypeVar("_Set", set[Any], frozenset[Any])

MAGIC = b"\x93DRS\x01\x00"
_LENGTH = struct.Struct("<Q")
#: the base64 text of every safe payload starts with this (MAGIC is 6 bytes = 8 characters)
TEXT_PREFIX = encode_base64(MAGIC).encode("ascii")
#: .npy format major versions written and read (3.0 exists only for non-Latin-1 field names)
_NPY_MAJOR_VERSIONS = (1, 2)
#: the most tree nodes one payload may decode to (a JSON node is at least one character, so
#: this bounds work, not just memory); each ``.npy`` block may be referenced once, so decoded
#: arrays never take more memory than the payload carries
MAX_NODES = 1_000_000

SUPPORTED = (
    "None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, "
    "NumPy arrays and scalars (not of object dtype)"
)


class SafeCodec:
    """JSON + ``.npy`` codec: decoding builds data, never calls code named by the payload."""

    name = "safe"

    def encode(self, obj: Any) -> str:
        blocks: list[tuple[bytes, bytes]] = []
        tree = _to_node(obj, "value", blocks)
        lengths = [len(npy_header) + len(data) for npy_header, data in blocks]
        header = json.dumps({"tree": tree, "blocks": lengths}, separators=(",", ":")).encode()
        parts = [part for block in blocks for part in block]
        return encode_base64(b"".join([MAGIC, _LENGTH.pack(len(header)), header, *parts]))

    def decode(self, text: str | bytes) -> Any:
        raw = decode_base64(text)
        if not raw.startswith(MAGIC):
            raise TransportDecodeError(
                "not a safe-codec payload (wrong magic); refusing to interpret it "
                "(a pickle payload is never decoded by the safe codec)"
            )
        start = len(MAGIC) + _LENGTH.size
        if len(raw) < start:
            raise TransportDecodeError("safe-codec payload is truncated")
        (header_len,) = _LENGTH.unpack_from(raw, len(MAGIC))
        try:
            header = json.loads(raw[start : start + header_len])
            lengths = header["blocks"]
            tree = header["tree"]
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise TransportDecodeError(f"safe-codec header is malformed: {exc}") from None
        if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
            raise TransportDecodeError("safe-codec header 'blocks' must list block lengths")
        offset = start + header_len
        if offset + sum(lengths) != len(raw):
            raise TransportDecodeError("safe-codec payload length does not match its header")
        blocks = []
        for n in lengths:
            blocks.append(memoryview(raw)[offset : offset + n])
            offset += n
        try:
            return _Decoder(blocks).node(tree, "value")
        except RecursionError:
            raise TransportDecodeError("safe-codec tree is nested too deeply") from None

    def is_payload(self, line: bytes) -> bool:
        return line.startswith(TEXT_PREFIX)


def _to_node(obj: Any, path: str, blocks: list[tuple[bytes, bytes]]) -> Any:
    """Turn ``obj`` into a JSON-ready node, appending array blocks; ``path`` names it in errors."""
    kind = type(obj)
    if obj is None or kind in (bool, int, float, str):
        return obj
    if kind is list:
        return [_to_node(item, f"{path}[{i}]", blocks) for i, item in enumerate(obj)]
    if kind is tuple:
        return {"tuple": [_to_node(item, f"{path}[{i}]", blocks) for i, item in enumerate(obj)]}
    if kind is dict:
        return {
            "dict": [
                [_to_node(k, f"{path} key {k!r}", blocks), _to_node(v, f"{path}[{k!r}]", blocks)]
                for k, v in obj.items()
            ]
        }
    if kind in (set, frozenset):
        return {kind.__name__: [_to_node(item, f"{path} item", blocks) for item in obj]}
    if kind is bytes:
        return {"bytes": encode_base64(obj)}
    if kind is complex:
        return {"complex": [obj.real, obj.imag]}
    np = sys.modules.get("numpy")  # an array can only exist if NumPy was imported
    if np is not None and (kind is np.ndarray or isinstance(obj, np.generic)):
        array = np.asarray(obj)
        if array.dtype.hasobject:
            raise TypeError(
                f"safe codec cannot encode a NumPy array of object dtype at {path}; "
                f"supported: {SUPPORTED}"
            )
        blocks.append(_npy_block(np, array, path))
        return {"ndarray" if kind is np.ndarray else "npscalar": len(blocks) - 1}
    raise TypeError(
        f"safe codec cannot encode {kind.__module__}.{kind.__qualname__} at {path}; "
        f"supported: {SUPPORTED}"
    )


def _npy_block(np: Any, array: Any, path: str) -> tuple[bytes, bytes]:
    """``array`` in ``.npy`` format 1.0 (2.0 for huge headers), as its header and its data.

    Kept apart until the payload is joined, so the data is copied once here and once there.
    """
    header = np.lib.format.header_data_from_array_1_0(array)
    stream = io.BytesIO()
    try:
        try:
            np.lib.format.write_array_header_1_0(stream, header)
        except ValueError:  # header longer than 64 KiB (many structured fields)
            stream = io.BytesIO()
            np.lib.format.write_array_header_2_0(stream, header)
    except UnicodeEncodeError:
        raise TypeError(
            f"safe codec cannot encode the dtype {array.dtype} at {path}: "
            "structured field names must be Latin-1"
        ) from None
    order = "F" if header["fortran_order"] else "C"
    return stream.getvalue(), array.tobytes(order=order)


class _Decoder:
    """Rebuilds values from tree nodes, checking every node's shape before using it."""

    def __init__(self, blocks: list[memoryview]) -> None:
        self.blocks = blocks
        self.used: set[int] = set()
        self.nodes = 0
        self.handlers = {
            "tuple": self.tag_tuple,
            "dict": self.tag_dict,
            "set": self.tag_set,
            "frozenset": self.tag_frozenset,
            "bytes": self.tag_bytes,
            "complex": self.tag_complex,
            "ndarray": self._array,
            "npscalar": self.tag_npscalar,
        }

    def node(self, node: Any, path: str) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise TransportDecodeError(
                f"safe-codec payload has more than {MAX_NODES} nodes (at {path}); refused"
            )
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.node(item, f"{path}[{i}]") for i, item in enumerate(node)]
        if type(node) is not dict or len(node) != 1:
            raise TransportDecodeError(f"malformed node at {path}: {node!r:.80}")
        ((tag, value),) = node.items()
        handler = self.handlers.get(tag)
        if handler is None:
            raise TransportDecodeError(f"unknown tag {tag!r} at {path}")
        return handler(value, path)

    def _items(self, value: Any, path: str) -> list[Any]:
        if type(value) is not list:
            raise TransportDecodeError(f"expected a list at {path}, got {type(value).__name__}")
        return [self.node(item, f"{path}[{i}]") for i, item in enumerate(value)]

    def tag_tuple(self, value: Any, path: str) -> tuple[Any, ...]:
        return tuple(self._items(value, path))

    def tag_set(self, value: Any, path: str) -> set[Any]:
        return self._hashable(set, value, path)

    def tag_frozenset(self, value: Any, path: str) -> frozenset[Any]:
        return self._hashable(frozenset, value, path)

    def _hashable(self, kind: type[_Set], value: Any, path: str) -> _Set:
        try:
            return kind(self._items(value, path))
        except TypeError as exc:
            raise TransportDecodeError(f"unhashable set item at {path}: {exc}") from None

    def tag_dict(self, value: Any, path: str) -> dict[Any, Any]:
        pairs = self._items(value, path)
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise TransportDecodeError(f"dict at {path} must be a list of [key, value] pairs")
        try:
            return {key: item for key, item in pairs}
        except TypeError as exc:
            raise TransportDecodeError(f"unhashable dict key at {path}: {exc}") from None

    def tag_bytes(self, value: Any, path: str) -> bytes:
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except (ValueError, TypeError) as exc:  # binascii.Error, non-ASCII text, not a string
            raise TransportDecodeError(f"bad bytes at {path}: {exc}") from None

    def tag_complex(self, value: Any, path: str) -> complex:
        if (
            type(value) is not list
            or len(value) != 2
            or not all(type(part) in (int, float) for part in value)
        ):
            raise TransportDecodeError(f"complex at {path} must be [real, imag]")
        try:
            return complex(*value)
        except OverflowError as exc:  # an integer part too large for a float
            raise TransportDecodeError(f"complex at {path} is out of range: {exc}") from None

    def tag_npscalar(self, value: Any, path: str) -> Any:
        array = self._array(value, path)
        if array.ndim != 0:
            raise TransportDecodeError(f"npscalar at {path} holds a {array.ndim}-d array")
        return array[()]

    def _array(self, index: Any, path: str) -> Any:
        """Read one ``.npy`` block, checking its header against its size before allocating."""
        if type(index) is not int or not 0 <= index < len(self.blocks):
            raise TransportDecodeError(f"array at {path} names a missing block {index!r}")
        if index in self.used:
            raise TransportDecodeError(
                f"array at {path} names block {index} again; each block is decoded once"
            )
        self.used.add(index)
        import numpy as np

        stream = io.BytesIO(self.blocks[index])
        try:
            version = np.lib.format.read_magic(stream)
            if version[0] not in _NPY_MAJOR_VERSIONS:
                raise ValueError(f".npy format {version} is not accepted")
            read_header = (
                np.lib.format.read_array_header_1_0
                if version[0] == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(stream)
        except ValueError as exc:
            raise TransportDecodeError(f"array block at {path} refused: {exc}") from None
        if dtype.hasobject:
            raise TransportDecodeError(f"array at {path} has object dtype {dtype}; refused")
        if dtype.itemsize == 0:
            raise TransportDecodeError(f"array at {path} has dtype {dtype.str} of size 0; refused")
        data = self.blocks[index][stream.tell() :]
        count = math.prod(shape)
        if min(shape, default=0) < 0 or count * dtype.itemsize != len(data):
            raise TransportDecodeError(
                f"array at {path} declares shape {shape} of {dtype} but carries {len(data)} bytes"
            )
        try:
            # a bytearray copy makes the result writable, as a pickled array would be
            flat = np.frombuffer(bytearray(data), dtype=dtype, count=count)
            return flat.reshape(shape, order="F" if fortran_order else "C")
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. shape (0, 2**62)
            raise TransportDecodeError(f"array at {path} of shape {shape} refused: {exc}") from None


CODEC = SafeCodec()
