"""The one exception every config problem becomes, and the wording helpers its messages share.

A message always reads ``<file>:<line>: <key path>: <what is wrong>``, so a user can jump to the
spot in an editor whether the file was YAML or XML. The "did you mean" hint lives here so both
loaders phrase it the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class ConfigError(ValueError):
    """An invalid configuration: ``file``, key/element ``path`` and ``line`` (1-based or None)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        path: str = "",
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else "<config>"
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else an empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def allowed(choices: Iterable[str]) -> str:
    """``"(allowed: a, b, c)"``, or ``"(allowed: none)"`` when nothing is."""
    return f"(allowed: {', '.join(choices) or 'none'})"


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """The standard message for a name that is not one of ``choices``."""
    choices = list(choices)
    return f"unknown {kind} {word!r}{did_you_mean(word, choices)} {allowed(choices)}"


class Locator:
    """Turns a key path inside the damaris section into what a user sees: a path and a line.

    Each loader subclasses it so that shared checks (schema, cross-references) can report in
    the file's own terms: dotted YAML keys, or XML element paths with hyphenated attributes.
    """

    #: what a leaf is called in this format: "key" (YAML) or "attribute" (XML)
    noun = "key"

    def __init__(self, file: str | Path | None) -> None:
        self.file = file

    def locate(self, path: tuple[str | int, ...]) -> tuple[str, int | None]:
        """Display path and 1-based line of ``path`` (its nearest known ancestor's line)."""
        raise NotImplementedError

    def key_name(self, key: str) -> str:
        """How the model key ``key`` is spelled in this format."""
        return key

    def error(self, path: tuple[str | int, ...], message: str) -> ConfigError:
        """A :class:`ConfigError` located at ``path``."""
        display, line = self.locate(path)
        return ConfigError(message, file=self.file, path=display, line=line)
