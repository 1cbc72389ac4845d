"""The wording helpers every config problem's message shares, and where it is located.

A message always reads ``<file>:<line>: <key path>: <what is wrong>``, so a user can jump to the
spot in an editor whether the file was YAML or XML. The "did you mean" hint lives here so both
loaders phrase it the same way.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from pathlib import Path

#: the error every config problem becomes, defined with the rest of the family
from damaris_ref.core.errors import ConfigError as ConfigError

#: about how many characters of a bad value a message echoes (a 50 MB value, a 50 MB message)
ECHO_LIMIT = 200

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = ECHO_LIMIT


def echo(value: object) -> str:
    """``repr(value)`` cut to about :data:`ECHO_LIMIT` characters, with a long string's length."""
    text = _REPR.repr(value)
    if len(text) > ECHO_LIMIT:
        text = text[: ECHO_LIMIT - 3] + "..."
    if isinstance(value, str) and len(value) > ECHO_LIMIT:
        text += f" ({len(value)} characters)"
    return text


def clip(text: str) -> str:
    """``text`` (a name in a key path, say) cut to :data:`ECHO_LIMIT` characters."""
    return text if len(text) <= ECHO_LIMIT else f"{text[:ECHO_LIMIT]}...({len(text)} characters)"


def listing(names: Iterable[str]) -> str:
    """``"a, b, c"``: as many names as fit in about :data:`ECHO_LIMIT` characters, then a count."""
    names = list(names)
    shown: list[str] = []
    length = 0
    for name in names:
        if shown and length + len(name) > ECHO_LIMIT:
            break
        shown.append(clip(name))
        length += len(shown[-1]) + 2
    rest = len(names) - len(shown)
    return ", ".join(shown) + (f", and {rest} more" if rest else "")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else an empty string.

    A word longer than :data:`ECHO_LIMIT` gets no suggestion: it is no typo, and matching it
    would cost time and memory in proportion to its length.
    """
    word = str(word)
    if len(word) > ECHO_LIMIT:
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def allowed(choices: Iterable[str]) -> str:
    """``"(allowed: a, b, c)"``, or ``"(allowed: none)"`` when nothing is."""
    return f"(allowed: {listing(choices) or 'none'})"


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """The standard message for a name that is not one of ``choices``."""
    choices = list(choices)
    return f"unknown {kind} {echo(word)}{did_you_mean(word, choices)} {allowed(choices)}"


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
