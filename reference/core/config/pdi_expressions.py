"""PDI ``$``-expressions, the subset PDI's Damaris plugin and its examples use.

``$name`` and ``$name[i]`` (indexes are expressions, and may be chained: ``$a[0][1]``),
integer literals, parentheses, unary ``-``, ``+ - * / %``, the comparisons ``<``, ``>`` and
``=`` (PDI's equality; ``==`` is accepted too), and ``&``/``&&``, ``|``/``||``. Precedence is
PDI's, loosest first: ``|``, ``&``, ``=``, ``< >``, ``+ -``, ``* / %``; every operator is
left-associative. Integers follow C: ``/`` truncates toward zero, ``%`` takes the dividend's
sign, and a value past 64 bits is an error; a comparison or a logical operator gives 0 or 1.
A referenced value that is a float makes its operation a float one (``%`` of a float is an
error, as in PDI). Anything else (``<=``, ``!``, ``${name}``, ``$name.member``, float
literals, text) is refused with an error that names the expression and what is supported.

A small tokenizer and recursive-descent parser, never ``eval``: a config can never run code.
An expression is parsed once into postfix steps and run by a stack machine, so a long chain
like ``1+1+...+1`` needs no deep recursion; nesting (parentheses, signs, brackets) is bounded
by :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from damaris_ref.core.errors import ConfigError

from .errors import ECHO_LIMIT, echo, listing

__all__ = ["MAX_DEPTH", "PdiExpression", "PdiExpressionError", "evaluate", "parse"]

#: deepest nesting of parentheses, unary signs and index brackets an expression may have
MAX_DEPTH = 100
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

SUPPORTED = (
    "supported: integers, $name, $name[i], ( ), unary -, + - * / %, < > = (or ==), "
    "& (or &&), | (or ||)"
)

#: loosest level first; each level's operators and the canonical operator each spelling means
_LEVELS: tuple[dict[str, str], ...] = (
    {"|": "|", "||": "|"},
    {"&": "&", "&&": "&"},
    {"=": "=", "==": "="},
    {"<": "<", ">": ">"},
    {"+": "+", "-": "-"},
    {"*": "*", "/": "/", "%": "%"},
)
#: spellings a reader may try that PDI has not got, and what to write instead
_REFUSED = {
    "<=": "PDI has no '<='; write $a<$b+1",
    ">=": "PDI has no '>='; write $a>$b-1",
    "!=": "PDI has no '!='; write ($a=$b)=0",
    "!": "PDI has no '!'; write ($a)=0",
}
#: characters of PDI's full expression language that the subset has not got
_OTHER_CHARACTERS = {
    "{": "uses ${...}; the subset has $name and $name[i] only",
    "}": "uses ${...}; the subset has $name and $name[i] only",
    ".": "uses '.' (a member access or a float); the subset has neither",
    ":": "uses ':' (a format); the subset has none",
}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>&&|\|\||==|<=|>=|!=|[-+*/%<>=&|!()\[\]$])|(?P<other>\S))"
)

Value = int | float
#: postfix steps: ("num", int), ("ref", name, index count), ("op", operator), ("neg",)
Step = tuple[Any, ...]


#: the earlier name of this module's error: a deprecated alias, kept for one release
PdiExpressionError = ConfigError


@dataclass(frozen=True)
class PdiExpression:
    """A parsed expression: its text, the names it references and its postfix program."""

    text: str
    references: frozenset[str]
    steps: tuple[Step, ...]

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        """The value with ``values`` (name -> scalar, NumPy array or nested sequence)."""
        stack: list[Value] = []
        for step in self.steps:
            kind = step[0]
            if kind == "num":
                stack.append(step[1])
            elif kind == "ref":
                count = step[2]
                indexes = stack[len(stack) - count :] if count else []
                del stack[len(stack) - count :]
                stack.append(self._reference(values, step[1], indexes))
            elif kind == "neg":
                stack.append(self._checked(-stack.pop(), "-"))
            else:
                rhs = stack.pop()
                stack.append(self._combine(step[1], stack.pop(), rhs))
        return stack[0]

    def evaluate_int(self, values: Mapping[str, Any], what: str) -> int:
        """The value as an integer (``what`` names its use in the error for a fraction)."""
        value = self.evaluate(values)
        if isinstance(value, float):
            if not value.is_integer():
                self._refuse(f"the value {value!r} is no integer, but {what} must be one")
            self._checked(int(value), "the value")
            return int(value)
        return value

    def _reference(self, values: Mapping[str, Any], name: str, indexes: list[Value]) -> Value:
        if name not in values:
            known = listing(sorted(values)) or "none yet"
            self._refuse(f"${name} is not exposed (exposed: {known})")
        value = values[name]
        for depth, index in enumerate(indexes):
            path = f"${name}" + "".join(f"[{i}]" for i in indexes[:depth])
            if isinstance(index, float):
                self._refuse(f"the index of {path} is the float {index!r}")
            try:
                count = len(value)
            except TypeError:
                self._refuse(f"{path} is a scalar and has no index")
            if not 0 <= index < count:
                self._refuse(f"index {index} is out of range for {path} of length {count}")
            value = value[index]
        return self._scalar(name, indexes, value)

    def _scalar(self, name: str, indexes: list[Value], value: Any) -> Value:
        shape = getattr(value, "shape", None)
        if shape or isinstance(value, list | tuple):
            length = shape[0] if shape else len(value)
            self._refuse(f"${name} is an array of length {length}; index it, as in ${name}[0]")
        item = value.item() if hasattr(value, "item") else value
        if isinstance(item, bool):
            return int(item)
        if isinstance(item, int):
            return self._checked(item, f"${name}")
        if isinstance(item, float):
            return item
        where = f"${name}" + "".join(f"[{i}]" for i in indexes)
        self._refuse(f"{where} is {echo(item)}, not a number")

    def _combine(self, op: str, lhs: Value, rhs: Value) -> Value:
        """``lhs op rhs`` as PDI computes it (C integer rules when both are integers)."""
        if op in "|&=<>":
            truth = {
                "|": bool(lhs) or bool(rhs),
                "&": bool(lhs) and bool(rhs),
                "=": lhs == rhs,
                "<": lhs < rhs,
                ">": lhs > rhs,
            }[op]
            return int(truth)
        if op in "/%" and rhs == 0:
            self._refuse(f"division by zero ({lhs} {op} {rhs})")
        if isinstance(lhs, float) or isinstance(rhs, float):
            if op == "%":
                self._refuse(f"% of a float ({lhs} % {rhs}); PDI allows it on integers only")
            return {"+": lhs + rhs, "-": lhs - rhs, "*": lhs * rhs, "/": lhs / rhs}[op]
        if op == "/":
            quotient = abs(lhs) // abs(rhs)
            return quotient if (lhs < 0) == (rhs < 0) else -quotient
        if op == "%":
            remainder = abs(lhs) % abs(rhs)
            return remainder if lhs >= 0 else -remainder
        value = {"+": lhs + rhs, "-": lhs - rhs, "*": lhs * rhs}[op]
        return self._checked(value, f"{lhs} {op} {rhs}")

    def _checked(self, value: Value, what: str) -> Value:
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            self._refuse(f"overflows a 64-bit integer: {what} = {value}")
        return value

    def _refuse(self, why: str) -> NoReturn:
        raise ConfigError(f"PDI expression {echo(self.text)}: {why}")


def parse(text: str) -> PdiExpression:
    """Parse ``text`` (cached; a text over :data:`ECHO_LIMIT` characters is not kept)."""
    text = str(text)
    return _cached(text) if len(text) <= ECHO_LIMIT else _Parser(text).parse()


def evaluate(text: str, values: Mapping[str, Any]) -> Value:
    """Parse and evaluate ``text`` with ``values``."""
    return parse(text).evaluate(values)


@lru_cache(maxsize=4096)
def _cached(text: str) -> PdiExpression:
    return _Parser(text).parse()


class _Parser:
    """Recursive descent from tokens to postfix steps, one method per precedence level."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = self._tokenize()
        self.pos = 0
        self.depth = 0
        self.steps: list[Step] = []
        self.references: set[str] = set()

    def _tokenize(self) -> list[tuple[str, str]]:
        tokens = []
        for match in _TOKEN.finditer(self.text):
            kind = match.lastgroup
            if kind is None:  # only trailing blanks
                continue
            token = match.group(kind)
            if kind == "other":
                self._fail(_OTHER_CHARACTERS.get(token, f"has the character {echo(token)}"))
            if kind == "number" and "." in token:
                self._fail(f"has the float literal {token}; the subset has integers only")
            if token in _REFUSED:
                self._fail(f"uses {token!r}: {_REFUSED[token]}")
            tokens.append((kind, token))
        return tokens

    def parse(self) -> PdiExpression:
        if not self.tokens:
            self._fail("is empty")
        self._level(0)
        if self.pos != len(self.tokens):
            self._fail(f"has {echo(self.tokens[self.pos][1])} where an operator or the end was due")
        return PdiExpression(self.text, frozenset(self.references), tuple(self.steps))

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, expected: str) -> None:
        found = self._peek()
        if found != expected:
            self._fail(f"has {echo(found) if found else 'its end'} where {expected!r} was due")
        self.pos += 1

    def _level(self, level: int) -> None:
        if level == len(_LEVELS):
            self._unary()
            return
        operators = _LEVELS[level]
        self._level(level + 1)
        while (token := self._peek()) in operators:
            self.pos += 1
            self._level(level + 1)
            self.steps.append(("op", operators[str(token)]))

    def _unary(self) -> None:
        if self._peek() == "-":
            self.pos += 1
            self._nested(self._unary)
            self.steps.append(("neg",))
        else:
            self._term()

    def _nested(self, parse: Any) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(f"is nested deeper than {MAX_DEPTH} levels")
        parse()
        self.depth -= 1

    def _term(self) -> None:
        if self.pos >= len(self.tokens):
            self._fail("ends where a value was due")
        kind, token = self.tokens[self.pos]
        self.pos += 1
        if kind == "number":
            value = int(token) if len(token) <= 19 else INT64_MAX + 1
            if value > INT64_MAX:
                self._fail(f"has the literal {echo(token)}, past 64 bits")
            self.steps.append(("num", value))
        elif token == "(":
            self._nested(lambda: self._level(0))
            self._take(")")
        elif token == "$":
            self._reference()
        elif kind == "name":
            self._fail(f"has the bare name {token!r}; a reference is written ${token}")
        else:
            self._fail(f"has {echo(token)} where a value was due")

    def _reference(self) -> None:
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "name":
            self._fail("has a '$' not followed by a name")
        name = self.tokens[self.pos][1]
        self.pos += 1
        indexes = 0
        while self._peek() == "[":
            self.pos += 1
            self._nested(lambda: self._level(0))
            self._take("]")
            indexes += 1
        self.references.add(name)
        self.steps.append(("ref", name, indexes))

    def _fail(self, why: str) -> NoReturn:
        raise ConfigError(f"PDI expression {echo(self.text)} {why} ({SUPPORTED})")
