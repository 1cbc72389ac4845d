"""Integer dimension expressions over parameters (spec §2): ``+ - * /``, parentheses, literals.

A tiny recursive-descent parser instead of ``eval`` so a config file can never run code and
so errors can name the exact expression and the unknown parameter. ``/`` is integer division
truncating toward zero, as in C; every value is a 64-bit signed integer, as in C. Nesting
(parentheses and unary signs) is bounded by :data:`MAX_DEPTH`, so a hostile expression gets an
error, not a ``RecursionError``.

An expression is parsed once into postfix form (cached by its text, since a config repeats
them and the client evaluates them again at every ``parameter_set``) and then evaluated by a
small stack machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Literal, NoReturn

from damaris_ref.core.errors import ConfigError

from .errors import ECHO_LIMIT, echo, listing

#: deepest nesting of parentheses and unary signs an expression may have
MAX_DEPTH = 100
#: every value an expression computes is a 64-bit signed integer, as in C
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(.))")
_NEGATE = "neg"

#: postfix steps: ("num", int), ("name", str), ("op", "+-*/") or ("op", "neg")
Step = tuple[Literal["num"], int] | tuple[Literal["name", "op"], str]
Program = tuple[Step, ...]


def names_in(expression: str) -> set[str]:
    """Parameter names an expression refers to (after checking its syntax)."""
    return {step[1] for step in _program(str(expression)) if step[0] == "name"}


def evaluate(expression: str, parameters: Mapping[str, int | float]) -> int:
    """Evaluate ``expression`` with the current parameter values; the result is an int."""
    text = str(expression)
    stack: list[int] = []
    for step in _program(text):
        if step[0] == "num":
            stack.append(step[1])
        elif step[0] == "name":
            name = step[1]
            if name not in parameters:
                known = listing(sorted(parameters)) or "none"
                _fail(text, f"unknown parameter {echo(name)} (known parameters: {known})")
            stack.append(_int64(text, parameters[name], name))
        elif step[1] == _NEGATE:
            stack.append(_int64(text, -stack.pop(), "-"))
        else:
            rhs = stack.pop()
            stack.append(_combine(text, step[1], stack.pop(), rhs))
    return stack[0]


def evaluate_dims(
    expressions: tuple[str, ...], parameters: Mapping[str, int | float]
) -> tuple[int, ...]:
    """Evaluate every dimension of a layout."""
    return tuple(evaluate(e, parameters) for e in expressions)


def split_dimensions(text: str) -> tuple[str, ...]:
    """Split a ``"a,b*2,c"`` dimension list into its expressions (commas inside none)."""
    parts = tuple(part.strip() for part in str(text).split(","))
    if not parts or any(not p for p in parts):
        raise ConfigError(f"dimension list {echo(text)} has an empty dimension")
    return parts


def _combine(text: str, op: str, lhs: int, rhs: int) -> int:
    """``lhs op rhs`` on 64-bit integers, ``/`` truncating toward zero as C does."""
    if op == "/":
        if rhs == 0:
            _refuse(text, "divides by zero")
        quotient = abs(lhs) // abs(rhs)
        return quotient if (lhs < 0) == (rhs < 0) else -quotient
    value = lhs + rhs if op == "+" else lhs - rhs if op == "-" else lhs * rhs
    return _int64(text, value, f"{lhs} {op} {rhs}")


def _int64(text: str, value: int | float, what: str) -> int:
    if not (INT64_MIN <= value <= INT64_MAX):  # also refuses NaN
        _refuse(text, f"overflows a 64-bit integer: {what} = {echo(value)}")
    return int(value)


def _fail(text: str, why: str) -> NoReturn:
    """A syntax error: what is wrong and what the syntax allows."""
    raise ConfigError(
        f"invalid dimension expression {echo(text)}: {why} "
        "(allowed: integers, parameter names, + - * / and parentheses)"
    )


def _refuse(text: str, why: str) -> NoReturn:
    """An expression that is well-formed but cannot be computed (with these values)."""
    raise ConfigError(f"dimension expression {echo(text)} {why}")


def _program(text: str) -> Program:
    """The postfix form of ``text``; short texts are cached, a huge one is not kept."""
    return _cached_program(text) if len(text) <= ECHO_LIMIT else _Parser(text).parse()


@lru_cache(maxsize=65536)
def _cached_program(text: str) -> Program:
    return _Parser(text).parse()


class _Parser:
    """Recursive descent from tokens to postfix steps."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = self._tokenize()
        self.pos = 0
        self.depth = 0
        self.steps: list[Step] = []

    def _tokenize(self) -> list[tuple[str, str]]:
        tokens = []
        for number, name, other in _TOKEN.findall(self.text):
            if number:
                tokens.append(("num", number))
            elif name:
                tokens.append(("name", name))
            elif other.strip():
                if other not in "+-*/()":
                    _fail(self.text, f"unexpected character {echo(other)}")
                tokens.append(("op", other))
        return tokens

    def parse(self) -> Program:
        if not self.tokens:
            _fail(self.text, "it is empty")
        self._sum()
        if self.pos != len(self.tokens):
            _fail(self.text, f"unexpected {echo(self.tokens[self.pos][1])}")
        return tuple(self.steps)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _binary(self, ops: str, operand: Callable[[], None]) -> None:
        operand()
        while (tok := self._peek()) and tok[0] == "op" and tok[1] in ops:
            self.pos += 1
            operand()
            self.steps.append(("op", tok[1]))

    def _sum(self) -> None:
        self._binary("+-", self._product)

    def _product(self) -> None:
        self._binary("*/", self._unary)

    def _unary(self) -> None:
        tok = self._peek()
        if tok in (("op", "-"), ("op", "+")):
            self.pos += 1
            self._nested(self._unary)
            if tok[1] == "-":
                self.steps.append(("op", _NEGATE))
        else:
            self._atom()

    def _nested(self, parse: Callable[[], None]) -> None:
        """``parse()`` one nesting level deeper, refusing to go past :data:`MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(
                self.text, f"it is nested deeper than {MAX_DEPTH} levels of parentheses and signs"
            )
        parse()
        self.depth -= 1

    def _atom(self) -> None:
        tok = self._peek()
        if tok is None:
            _fail(self.text, "it ends too early")
        self.pos += 1
        kind, text = tok
        if kind == "num":
            value = int(text) if len(text) <= len(str(INT64_MAX)) else INT64_MAX + 1
            if value > INT64_MAX:
                _fail(self.text, f"the literal {echo(text)} overflows a 64-bit integer")
            self.steps.append(("num", value))
        elif kind == "name":
            self.steps.append(("name", text))
        elif text == "(":
            self._nested(self._sum)
            if self._peek() != ("op", ")"):
                _fail(self.text, "missing ')'")
            self.pos += 1
        else:
            _fail(self.text, f"unexpected {echo(text)}")
