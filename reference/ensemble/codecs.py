"""Choosing how parameters and results are turned into one line of text.

Two codecs exist: ``pickle`` (the upstream format, any Python object, trusted peers only) and
``safe`` (JSON plus ``.npy`` blocks, cannot run code when decoded). The default is read from
the ``DAMARIS_ENSEMBLE_CODEC`` environment variable so that Dask workers and simulation
processes started later agree with the process that chose it. Codec modules are imported only
when asked for, and ``typing`` only for type checkers, keeping the simulation-side import
cheap (it is paid by every simulation process).
"""

from __future__ import annotations

import binascii
import importlib
import os

from damaris_ref.core.errors import UsageError
from damaris_ref.core.settings import ENSEMBLE_CODEC, ENSEMBLE_CODECS

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from damaris_ref.ensemble.codec_protocol import Codec

#: environment variable holding the default codec name
CODEC_ENV = ENSEMBLE_CODEC.name
DEFAULT_CODEC = "pickle"

#: codec name -> module defining ``CODEC``
_CODEC_MODULES = {name: f"damaris_ref.ensemble.{name}_codec" for name in ENSEMBLE_CODECS}


class TransportDecodeError(UsageError):
    """Text handed to a codec is not a payload that codec wrote.

    A class of its own because the runner catches it to report a simulation's output it
    cannot decode, where a codec's other errors are bugs of the codec."""


def encode_base64(raw: bytes) -> str:
    """Base64 text of ``raw`` on one line."""
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def decode_base64(text: str | bytes) -> bytes:
    """Bytes of base64 ``text``, surrounding whitespace allowed.

    Characters outside the alphabet are skipped rather than validated (validation triples
    the cost on large payloads); each codec checks the structure of what it decoded instead.
    """
    try:
        return binascii.a2b_base64(text)
    except (binascii.Error, ValueError) as exc:  # bad padding, or non-ASCII text
        raise TransportDecodeError(f"not base64 text: {exc}") from None


#: what a codec object must provide (see damaris_ref.ensemble.codec_protocol.Codec)
_CODEC_ATTRIBUTES = ("name", "encode", "decode", "is_payload")


def codec_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_codec`."""
    return tuple(_CODEC_MODULES)


def get_codec(codec: str | Codec | None = None) -> Codec:
    """Resolve a codec name (or pass a codec through); ``None`` means the current default."""
    if codec is None:
        codec = default_codec_name()
    if not isinstance(codec, str):
        if all(hasattr(codec, attribute) for attribute in _CODEC_ATTRIBUTES):
            return codec
        raise TypeError(
            f"codec must be one of {', '.join(_CODEC_MODULES)} or an object with "
            f"{', '.join(_CODEC_ATTRIBUTES)}; got {type(codec).__name__}"
        )
    try:
        module_name = _CODEC_MODULES[codec]
    except KeyError:
        raise UsageError(
            f"unknown codec {codec!r}; valid codecs: {', '.join(_CODEC_MODULES)}"
        ) from None
    codec_object: Codec = importlib.import_module(module_name).CODEC
    return codec_object


def default_codec_name() -> str:
    """The default codec name: ``$DAMARIS_ENSEMBLE_CODEC`` if set, else ``pickle``."""
    return ENSEMBLE_CODEC.read() or DEFAULT_CODEC


def set_default_codec(name: str) -> None:
    """Make ``name`` the default codec here and in every process started from here on.

    It sets ``$DAMARIS_ENSEMBLE_CODEC``; workers of an already running cluster keep theirs,
    so pass ``codec=`` explicitly when submitting to such a cluster.
    """
    get_codec(name)  # validates the name
    os.environ[CODEC_ENV] = name
