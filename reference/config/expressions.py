"""Integer dimension expressions over parameters (spec §2): ``+ - * /``, parentheses, literals.

A tiny recursive-descent parser instead of ``eval`` so a config file can never run code and
so errors can name the exact expression and the unknown parameter. ``/`` is integer division
(C semantics on non-negative values, which is what layouts use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(.))")


class ExpressionError(ValueError):
    """A dimension expression that cannot be parsed or evaluated."""


def names_in(expression: str) -> set[str]:
    """Parameter names an expression refers to (after checking its syntax)."""
    names: set[str] = set()
    _Parser(expression, None, names).parse()
    return names


def evaluate(expression: str, parameters: Mapping[str, int | float]) -> int:
    """Evaluate ``expression`` with the current parameter values; the result is an int."""
    return _Parser(expression, parameters, set()).parse()


def evaluate_dims(
    expressions: tuple[str, ...], parameters: Mapping[str, int | float]
) -> tuple[int, ...]:
    """Evaluate every dimension of a layout."""
    return tuple(evaluate(e, parameters) for e in expressions)


def split_dimensions(text: str) -> tuple[str, ...]:
    """Split a ``"a,b*2,c"`` dimension list into its expressions (commas inside none)."""
    parts = tuple(part.strip() for part in str(text).split(","))
    if not parts or any(not p for p in parts):
        raise ExpressionError(f"dimension list {text!r} has an empty dimension")
    return parts


class _Parser:
    def __init__(self, text: str, parameters: Mapping[str, int | float] | None, names: set[str]):
        self.text = str(text)
        self.parameters = parameters
        self.names = names
        self.tokens = self._tokenize()
        self.pos = 0

    def _tokenize(self) -> list[tuple[str, str]]:
        tokens = []
        for number, name, other in _TOKEN.findall(self.text):
            if number:
                tokens.append(("num", number))
            elif name:
                tokens.append(("name", name))
            elif other.strip():
                if other not in "+-*/()":
                    self._fail(f"unexpected character {other!r}")
                tokens.append(("op", other))
        return tokens

    def _fail(self, why: str):
        raise ExpressionError(
            f"invalid dimension expression {self.text!r}: {why} "
            "(allowed: integers, parameter names, + - * / and parentheses)"
        )

    def parse(self) -> int:
        if not self.tokens:
            self._fail("it is empty")
        value = self._sum()
        if self.pos != len(self.tokens):
            self._fail(f"unexpected {self.tokens[self.pos][1]!r}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _sum(self) -> int:
        value = self._product()
        while (tok := self._peek()) and tok[1] in "+-" and tok[0] == "op":
            self.pos += 1
            rhs = self._product()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def _product(self) -> int:
        value = self._unary()
        while (tok := self._peek()) and tok[1] in "*/" and tok[0] == "op":
            self.pos += 1
            rhs = self._unary()
            if tok[1] == "*":
                value *= rhs
            elif self.parameters is not None:
                if rhs == 0:
                    self._fail("division by zero")
                value = int(value / rhs)  # C truncation toward zero
        return value

    def _unary(self) -> int:
        tok = self._peek()
        if tok == ("op", "-"):
            self.pos += 1
            return -self._unary()
        if tok == ("op", "+"):
            self.pos += 1
            return self._unary()
        return self._atom()

    def _atom(self) -> int:
        tok = self._peek()
        if tok is None:
            self._fail("it ends too early")
        self.pos += 1
        kind, text = tok
        if kind == "num":
            return int(text)
        if kind == "name":
            self.names.add(text)
            if self.parameters is None:
                return 1
            if text not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "none"
                self._fail(f"unknown parameter {text!r} (known parameters: {known})")
            return int(self.parameters[text])
        if text == "(":
            value = self._sum()
            if self._peek() != ("op", ")"):
                self._fail("missing ')'")
            self.pos += 1
            return value
        self._fail(f"unexpected {text!r}")
        raise AssertionError("unreachable")
