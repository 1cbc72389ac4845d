"""PDI ``$``-expressions: PDI's values and precedence, and refusals that name the text."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from damaris_ref.core.config.pdi_expressions import MAX_DEPTH, PdiExpressionError, evaluate, parse

from profiles import examples

#: PDI's levels, loosest first, as the reader of the plugin's examples meets them
LEVEL = {"|": 1, "&": 2, "=": 3, "<": 4, ">": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
VALUES = {"iter": 3, "frequency": 2, "dsize": np.array([22, 14], dtype=np.int32), "n": -7}


def model(node) -> int:
    """The value of a tree with C's integer rules, computed without the module."""
    if isinstance(node, int):
        return node
    if isinstance(node, str):
        return VALUES[node] if node != "dsize0" else int(VALUES["dsize"][0])
    op, lhs, rhs = node
    a, b = model(lhs), model(rhs)
    if op in "/%":
        quotient = int(Fraction(a, b))  # int() of a Fraction truncates toward zero
        return quotient if op == "/" else a - b * quotient
    return int(
        {
            "+": a + b,
            "-": a - b,
            "*": a * b,
            "<": a < b,
            ">": a > b,
            "=": a == b,
            "&": bool(a) and bool(b),
            "|": bool(a) or bool(b),
        }[op]
    )


def text(node, minimal: bool) -> str:
    """The expression of a tree: every operation in parentheses, or only those PDI needs."""
    if isinstance(node, int):
        return str(node) if node >= 0 else f"({node})"
    if isinstance(node, str):
        return "$dsize[0]" if node == "dsize0" else f"${node}"
    op, lhs, rhs = node
    left, right = text(lhs, minimal), text(rhs, minimal)
    if not minimal:
        return f"({left}{op}{right})"
    if isinstance(lhs, tuple) and LEVEL[lhs[0]] < LEVEL[op]:
        left = f"({left})"
    if isinstance(rhs, tuple) and LEVEL[rhs[0]] <= LEVEL[op]:  # left-associative
        right = f"({right})"
    return f"{left}{op}{right}"


def nonzero_divisors(tree):
    """Trees whose ``/`` and ``%`` never divide by zero."""
    return tree.filter(lambda node: _divisions_ok(node))


def _divisions_ok(node) -> bool:
    if not isinstance(node, tuple):
        return True
    op, lhs, rhs = node
    return _divisions_ok(lhs) and _divisions_ok(rhs) and not (op in "/%" and model(rhs) == 0)


#: small values, so that 0 and 1 (where & and | differ) and negative remainders come often
leaves = st.integers(-9, 9) | st.sampled_from(["iter", "frequency", "n", "dsize0"])
trees = nonzero_divisors(
    st.recursive(
        leaves,
        lambda children: st.tuples(st.sampled_from(sorted(LEVEL)), children, children),
        max_leaves=12,
    )
)


@settings(max_examples=examples(400))
@given(trees)
def test_a_parenthesised_expression_computes_what_c_would(tree):
    assert evaluate(text(tree, minimal=False), VALUES) == model(tree)


@settings(max_examples=examples(400))
@given(trees)
def test_pdi_precedence_and_left_association_make_parentheses_unneeded(tree):
    assert evaluate(text(tree, minimal=True), VALUES) == model(tree)


@given(st.text(alphabet="$ab01[]()+-*/%<>=&|!{}.: ", max_size=30))
def test_any_text_gives_a_value_or_one_error_naming_it(expression):
    try:
        evaluate(expression, {"a": np.array([1, 2]), "b": 0})
    except PdiExpressionError as error:
        assert repr(expression)[1:-1] in str(error) or len(expression) > 190


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("$iter<10", 1),  # the plugin's example `when`
        ("$iter%$frequency=0", 0),  # the plugin's test `when`
        ("$iter%$frequency==1", 1),
        ("($dsize[0]-2)*$iter", 60),
        ("$dsize[1]", 14),
        ("$dsize[$iter-2]", 14),
        ("-7/2", -3),
        ("$n%3", -1),
        ("1&&0||1", 1),
        ("1|0&0", 1),  # & binds tighter than |
        ("2>1=1", 1),  # < > bind tighter than =
        ("  42  ", 42),
    ],
)
def test_values_of_the_plugins_forms(expression, value):
    assert evaluate(expression, VALUES) == value


def test_references_are_the_names_after_dollars():
    assert parse("$psize[0]*($dsize[0]-$g)").references == {"psize", "dsize", "g"}


def test_a_float_reference_makes_a_float_operation():
    assert evaluate("$dt*2", {"dt": 0.25}) == 0.5


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("$iter<=3", "'<='"),
        ("$iter!=3", "'!='"),
        ("${iter}", "${...}"),
        ("$rec.member", "'.'"),
        ("1.5", "float literal"),
        ("$x:04d", "':'"),
        ("iter", "bare name 'iter'"),
        ("$", "'$' not followed"),
        ("(1", "')' was due"),
        ("$dsize[0", "']' was due"),
        ("", "is empty"),
        ("1 2", "where an operator"),
        ("$dsize", "index it"),
        ("$iter[0]", "is a scalar"),
        ("$dsize[2]", "out of range"),
        ("$missing+1", "$missing is not exposed"),
        ("1/($iter-3)", "division by zero"),
        ("$dt%2", "% of a float"),
        ("9223372036854775807+1", "overflows"),
        ("99999999999999999999", "past 64 bits"),
        ("-" * (MAX_DEPTH + 1) + "1", "nested deeper"),
    ],
)
def test_refusals_name_the_expression_and_the_problem(expression, names):
    with pytest.raises(PdiExpressionError) as caught:
        evaluate(expression, {**VALUES, "dt": 0.5})
    message = str(caught.value)
    assert names in message
    assert f"PDI expression {expression!r}" in message


def test_an_integer_use_refuses_a_fraction():
    with pytest.raises(PdiExpressionError, match="position must be one"):
        parse("$dt").evaluate_int({"dt": 0.5}, "position")
    assert parse("$dt*4").evaluate_int({"dt": 0.5}, "position") == 2


def test_a_long_chain_needs_no_deep_recursion():
    assert evaluate("+".join(["1"] * 5000), {}) == 5000
