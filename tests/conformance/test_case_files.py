"""The case files follow their schema, and their golden facts agree with the model the suite
computes expectations from (so the suite cannot drift from what upstream was seen to do)."""

from __future__ import annotations

import pytest
from hypothesis import given

from damaris_ref.conformance.cases import case_from_mapping, load_cases
from damaris_ref.conformance.expectations import case_topology, expect
from damaris_ref.conformance.generate import generated_cases
from damaris_ref.conformance.impls import InProcessReference, parse_capabilities
from damaris_ref.core.errors import ConfigError, ConformanceError

CASES = load_cases()
RUNNING = [c for c in CASES if c.expect_error is None]


def _cube_sums(expectation, iteration):
    return [
        sum(b.sum for b in expectation.blocks[(iteration, s)].get("cube_i", {}).values())
        for s in expectation.servers
    ]


@pytest.mark.parametrize("case", RUNNING, ids=lambda c: c.id)
def test_golden_facts_agree_with_the_model(case):
    facts, model = case.expect, expect(case)
    for iteration, total in enumerate(facts.client_totals):
        assert model.client_totals[iteration] == total
    for iteration, sums in facts.server_sums.items():
        assert _cube_sums(model, iteration) == list(sums)
    for iteration, sums in facts.block_sums.items():
        blocks = {
            key: block.sum
            for (i, _), variables in model.blocks.items()
            if i == iteration
            for key, block in variables.get("cube_i", {}).items()
        }
        assert blocks == sums
    if facts.known_clients:
        topo = model.topology
        owned = tuple(topo.known_clients(s) for s in range(topo.server_count))
        assert owned == facts.known_clients


@pytest.mark.parametrize("case", [c for c in CASES if c.expect_error], ids=lambda c: c.id)
def test_error_cases_are_errors_of_the_model(case):
    with pytest.raises((ConfigError, ValueError)):
        expect(case)


def test_every_case_names_a_spec_section_and_the_required_tier_is_not_empty():
    assert all(case.spec.startswith("specification.md §") for case in CASES)
    assert sum(case.tier == "required" for case in CASES) >= 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"np": 0}, "np: 0 is less than the minimum of 1"),
        ({"simulation": "heat"}, "simulation: 'heat' is not one of"),
        ({"variables": {"cube_x": {}}}, "variables: 'cube_x' does not match any of the regexes"),
        ({"domains": 2}, "domains: only 3dmesh_py_domains takes -d"),
    ],
)
def test_a_bad_case_is_rejected_with_its_location(change, message):
    data = {
        "id": "bad",
        "title": "t",
        "spec": "specification.md §6",
        "simulation": "3dmesh_py",
        "np": 5,
        "parameters": {"WIDTH": 4, "HEIGHT": 2, "DEPTH": 4},
        "iterations": 1,
    } | change
    with pytest.raises(ConformanceError, match=message):
        case_from_mapping(data, "bad.yaml[0]")


@given(generated_cases(InProcessReference(parse_capabilities("all", ""), "yaml")))
def test_generated_cases_are_valid_layouts_with_computable_expectations(case):
    assert case.depth % case_topology(case).client_count == 0
    assert expect(case).script_iterations[0] == 0
