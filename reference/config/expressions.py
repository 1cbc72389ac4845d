"""Integer dimension expressions over parameters (spec §2): ``+ - * /``, parentheses, literals.

A tiny recursive-descent parser instead of ``eval`` so a config file can never run code and
so errors can name the exact expression and the unknown parameter. ``/`` is integer division
(C semantics on non-negative values, which is what layouts use). Nesting (parentheses and
unary signs) is bounded by :data:`MAX_DEPTH`, so a hostile expression gets an error, not a
``RecursionError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import echo, listing

#: deepest nesting of parentheses and unary signs an expression may have
MAX_DEPTH = 100
#: every value an expression computes is a 64-bit signed integer, as in C
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

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
        raise ExpressionError(f"dimension list {echo(text)} has an empty dimension")
    return parts


class _Parser:
    def __init__(self, text: str, parameters: Mapping[str, int | float] | None, names: set[str]):
        self.text = str(text)
        self.parameters = parameters
        self.names = names
        self.tokens = self._tokenize()
        self.pos = 0
        self.depth = 0

    def _tokenize(self) -> list[tuple[str, str]]:
        tokens = []
        for number, name, other in _TOKEN.findall(self.text):
            if number:
                tokens.append(("num", number))
            elif name:
                tokens.append(("name", name))
            elif other.strip():
                if other not in "+-*/()":
                    self._fail(f"unexpected character {echo(other)}")
                tokens.append(("op", other))
        return tokens

    def _fail(self, why: str):
        """A syntax error: what is wrong and what the syntax allows."""
        raise ExpressionError(
            f"invalid dimension expression {echo(self.text)}: {why} "
            "(allowed: integers, parameter names, + - * / and parentheses)"
        )

    def _refuse(self, why: str):
        """An expression that is well-formed but cannot be computed (with these values)."""
        raise ExpressionError(f"dimension expression {echo(self.text)} {why}")

    def parse(self) -> int:
        if not self.tokens:
            self._fail("it is empty")
        value = self._sum()
        if self.pos != len(self.tokens):
            self._fail(f"unexpected {echo(self.tokens[self.pos][1])}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _sum(self) -> int:
        value = self._product()
        while (tok := self._peek()) and tok[1] in "+-" and tok[0] == "op":
            self.pos += 1
            value = self._combine(tok[1], value, self._product())
        return value

    def _product(self) -> int:
        value = self._unary()
        while (tok := self._peek()) and tok[1] in "*/" and tok[0] == "op":
            self.pos += 1
            value = self._combine(tok[1], value, self._unary())
        return value

    def _combine(self, op: str, lhs: int, rhs: int) -> int:
        """``lhs op rhs`` on 64-bit integers, ``/`` truncating toward zero as C does.

        When only the syntax is checked (no parameter values) nothing is computed, so that no
        chain of literals can grow a huge integer.
        """
        if self.parameters is None:
            return 1
        if op == "/":
            if rhs == 0:
                self._refuse("divides by zero")
            quotient = abs(lhs) // abs(rhs)
            return quotient if (lhs < 0) == (rhs < 0) else -quotient
        value = lhs + rhs if op == "+" else lhs - rhs if op == "-" else lhs * rhs
        return self._int64(value, f"{lhs} {op} {rhs}")

    def _int64(self, value: int | float, what: str) -> int:
        if not (INT64_MIN <= value <= INT64_MAX):  # also refuses NaN
            self._refuse(f"overflows a 64-bit integer: {what} = {echo(value)}")
        return int(value)

    def _unary(self) -> int:
        tok = self._peek()
        if tok in (("op", "-"), ("op", "+")):
            self.pos += 1
            value = self._nested(self._unary)
            return -value if tok[1] == "-" else value
        return self._atom()

    def _nested(self, parse) -> int:
        """``parse()`` one nesting level deeper, refusing to go past :data:`MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(f"it is nested deeper than {MAX_DEPTH} levels of parentheses and signs")
        value = parse()
        self.depth -= 1
        return value

    def _atom(self) -> int:
        tok = self._peek()
        if tok is None:
            self._fail("it ends too early")
        self.pos += 1
        kind, text = tok
        if kind == "num":
            value = int(text) if len(text) <= len(str(INT64_MAX)) else INT64_MAX + 1
            if value > INT64_MAX:
                self._fail(f"the literal {echo(text)} overflows a 64-bit integer")
            return value
        if kind == "name":
            self.names.add(text)
            if self.parameters is None:
                return 1
            if text not in self.parameters:
                known = listing(sorted(self.parameters)) or "none"
                self._fail(f"unknown parameter {echo(text)} (known parameters: {known})")
            return self._int64(self.parameters[text], text)
        if text == "(":
            value = self._nested(self._sum)
            if self._peek() != ("op", ")"):
                self._fail("missing ')'")
            self.pos += 1
            return value
        self._fail(f"unexpected {echo(text)}")
        raise AssertionError("unreachable")
