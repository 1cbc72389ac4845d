"""The interface every codec implements, for type checkers and for writing your own codec.

Kept out of :mod:`damaris_ref.ensemble.codecs` so that simulation processes do not import
``typing`` just to decode their parameters.
"""

from __future__ import annotations

from typing import Any, Protocol


class Codec(Protocol):
    """Turns an object into a single line of ASCII text and back."""

    name: str

    def encode(self, obj: Any) -> str:
        """Return ``obj`` as one line of ASCII text (no newline)."""
        ...

    def decode(self, text: str | bytes) -> Any:
        """Return the object ``encode`` was given; raise TransportDecodeError otherwise."""
        ...

    def is_payload(self, line: bytes) -> bool:
        """Cheaply tell whether ``line`` starts like this codec's output (used for framing)."""
        ...
