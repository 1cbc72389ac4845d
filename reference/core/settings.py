"""Every ``DAMARIS_*`` setting read from the environment, parsed in one place.

Each :class:`Setting` names its variable, how its text is read and what would be valid. An
unset or empty variable gives the setting's default; a bad value is a
:class:`~damaris_ref.core.config.ConfigError` located like a config key, ``environment: NAME:
invalid value 'x'; allowed: ...``, never a silent fallback.

Kept import-light (simulation tasks read the ensemble settings in every short-lived process):
the config package, which words the error, is imported only when a value is bad.
"""

from __future__ import annotations

import math
import os
import re

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Generic, TypeVar

    from damaris_ref.core.config.errors import ConfigError

    T = TypeVar("T")

    class _Generic(Generic[T]):
        """What type checkers see: a setting is generic in its value's type."""

else:
    T = object  # only subscripts ``_Generic`` at run time

    class _Generic:
        """At run time ``_Generic[T]`` is this plain base: typing stays unimported."""

        __slots__ = ()

        def __class_getitem__(cls, _item: object) -> type:
            return cls


#: the ensemble codecs by name: module ``damaris_ref.ensemble.<name>_codec`` implements each
ENSEMBLE_CODECS = ("pickle", "safe")


class Setting(_Generic[T]):
    """One environment variable: ``parse`` turns its text into a value or raises ValueError."""

    __slots__ = ("allowed", "default", "name", "parse")

    def __init__(self, name: str, parse: Callable[[str], T], allowed: str, default: T) -> None:
        self.name = name
        self.parse = parse
        self.allowed = allowed
        self.default = default

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"

    def read(self, environ: Mapping[str, str] | None = None) -> T:
        """The value in ``environ`` (default ``os.environ``); the default when unset or empty."""
        text = (os.environ if environ is None else environ).get(self.name, "").strip()
        if not text:
            return self.default
        try:
            return self.parse(text)
        except ValueError:
            raise self.error(text) from None

    def error(self, text: str) -> ConfigError:
        """The error for a bad ``text``: it names the variable, the value and what is valid."""
        from damaris_ref.core.config.errors import ConfigError, echo

        return ConfigError(
            f"invalid value {echo(text)}; allowed: {self.allowed}",
            file="environment",
            path=self.name,
        )


def _count(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(text)
    return int(text)


def _seconds(*, zero_allowed: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not (value >= 0 if zero_allowed else value > 0):  # also refuses NaN
            raise ValueError(text)
        return value

    return parse


def _time_limit(text: str) -> float:
    if text.lower() in ("none", "inf"):
        return math.inf
    return _seconds(zero_allowed=False)(text)


#: the levels DAMARIS_LOG_LEVEL takes, quietest last
LOG_LEVELS = ("debug", "info", "warning", "error")


def _log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise ValueError(text)
    return text.lower()


def _codec(text: str) -> str:
    if text not in ENSEMBLE_CODECS:
        raise ValueError(text)
    return text


#: overrides ``architecture.ranks_per_node`` (spec §1); None: the file's value
RANKS_PER_NODE: Setting[int | None] = Setting(
    "DAMARIS_RANKS_PER_NODE", _count, "an integer >= 0 (0 = real hosts)", None
)
#: seconds a client waits for its server to free room in a full shared buffer
BUFFER_WAIT: Setting[float] = Setting(
    "DAMARIS_BUFFER_WAIT", _seconds(zero_allowed=True), "a number of seconds >= 0", 60.0
)
#: seconds a failed MPI rank waits for the others to agree before it aborts the job
SHARED_ERROR_DEADLINE: Setting[float] = Setting(
    "DAMARIS_SHARED_ERROR_DEADLINE", _seconds(zero_allowed=False), "a number of seconds > 0", 60.0
)
#: the default time limit of one ensemble simulation; ``inf``: none
ENSEMBLE_TIMEOUT: Setting[float] = Setting(
    "DAMARIS_ENSEMBLE_TIMEOUT",
    _time_limit,
    "a number of seconds > 0, or 'none' for no limit",
    math.inf,
)
#: the default ensemble codec; None: the caller's own default
ENSEMBLE_CODEC: Setting[str | None] = Setting(
    "DAMARIS_ENSEMBLE_CODEC", _codec, "one of " + ", ".join(ENSEMBLE_CODECS), None
)

#: how much the reference's own processes log (:mod:`damaris_ref.launch.log_level`)
LOG_LEVEL: Setting[str] = Setting(
    "DAMARIS_LOG_LEVEL", _log_level, "one of " + ", ".join(LOG_LEVELS), "warning"
)

#: what every rank of an in-situ run reads, whatever its role
RUN_SETTINGS = (RANKS_PER_NODE, BUFFER_WAIT, SHARED_ERROR_DEADLINE, LOG_LEVEL)


def check_run_settings(environ: Mapping[str, str] | None = None) -> None:
    """Read every run setting, so that a bad value is the same error on every rank.

    A setting only some ranks use (clients wait for buffer space, servers do not) would
    otherwise fail on those ranks alone while the others wait for them.
    """
    for setting in RUN_SETTINGS:
        setting.read(environ)


#: every setting, for documentation and tests
SETTINGS = (
    RANKS_PER_NODE,
    BUFFER_WAIT,
    SHARED_ERROR_DEADLINE,
    ENSEMBLE_TIMEOUT,
    ENSEMBLE_CODEC,
    LOG_LEVEL,
)
