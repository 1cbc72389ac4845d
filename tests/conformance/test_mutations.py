"""The suite fails every deliberately broken reference, naming what differs, and passes the
reference itself (the suite's self-test, spec §1-§3, §6)."""

from __future__ import annotations

import pytest

#: mutation -> (test id, the first difference it must report) on the 6-rank, 2-core golden
#: case, whose servers own clients {0,1} and {2,3}
EXPECTED = {
    "round-robin-routing": (
        "routing",
        "server 0 iteration 0: expected cube_i keys P0_B0,P1_B0, got P0_B0,P2_B0",
    ),
    "drop-block": (
        "reassembly",
        "iteration 0 cube_i: the blocks of all servers do not rebuild the global array of "
        "shape [4, 8, 16]: gap: cell [1, 0, 0] is covered by no block",
    ),
    "offsets-off-by-one": (
        "damaris-data",
        "server 0 iteration 0 cube_i P0_B0: expected offsets [0, 0, 0], got [0, 0, 1]",
    ),
    "p-numbering-from-one": (
        "routing",
        "server 0 iteration 0: expected cube_i keys P0_B0,P1_B0, got P1_B0,P2_B0",
    ),
    "wrong-dtype": (
        "damaris-data",
        "server 0 iteration 0 cube_i P0_B0: expected dtype int32, got int64",
    ),
    "server-ids-reversed": (
        "routing",
        "server 0 iteration 0: expected cube_i keys P0_B0,P1_B0, got P2_B0,P3_B0",
    ),
}
CASE = "seed-6ranks-2cores-r"


@pytest.mark.parametrize("mutation", sorted(EXPECTED))
def test_suite_fails_a_broken_reference_with_a_precise_message(run_suite, mutation):
    check, message = EXPECTED[mutation]
    run = run_suite("--mutation", mutation, "--max-examples", "30", "--derandomize")
    assert run.returncode == 1, run.output[-3000:]
    assert run.report["implementation"]["mutation"] == mutation
    failure = run.failure(f"test_port.py::test_case[{CASE}/{check}]")
    assert failure["message"] == message
    assert failure["case"] == CASE and failure["check"] == check
    generated = run.failure("test_port.py::test_generated_cases")
    assert generated["message"].startswith("generated case generated-")


def test_drop_block_is_also_a_routing_difference(run_suite):
    run = run_suite("--mutation", "drop-block", "--max-examples", "0", "-k", CASE)
    failure = run.failure(f"test_port.py::test_case[{CASE}/routing]")
    assert failure["message"] == "server 0 iteration 0: expected cube_i keys P0_B0,P1_B0, got P0_B0"


def test_golden_facts_catch_routing_bugs_on_their_own(run_suite):
    run = run_suite("--mutation", "round-robin-routing", "--max-examples", "0", "-k", CASE)
    failure = run.failure(f"test_port.py::test_case[{CASE}/golden]")
    assert failure["message"] == (
        "iteration 0: per-server cube_i sums [32768, 65536], golden values [16384, 81920] "
        "(specification.md §6 Known results; §1 dedicated cores)"
    )


def test_a_port_misreading_the_pdi_list_entries_is_caught(run_suite):
    """A PDI-based port that declares only the first '- dataset:' entry loses cube_f."""
    run = run_suite(
        "--mutation",
        "pdi-first-dataset-only",
        "--config-format",
        "pdi",
        "--max-examples",
        "0",
        "-k",
        CASE,
    )
    assert run.returncode == 1, run.output[-3000:]
    failure = run.failure(f"test_port.py::test_case[{CASE}/routing]")
    assert (
        failure["message"] == "server 0 iteration 0: expected cube_f keys P0_B0,P1_B0, got (none)"
    )


def test_the_pdi_misreading_needs_the_pdi_form(run_suite):
    run = run_suite("--mutation", "pdi-first-dataset-only", "--config-format", "yaml")
    assert run.returncode != 0
    assert "--mutation pdi-first-dataset-only needs --config-format pdi" in run.output


@pytest.mark.parametrize("config_format", ["yaml", "xml", "pdi"])
def test_the_reference_passes(run_suite, config_format):
    run = run_suite(
        "--config-format", config_format, "--max-examples", "10", "--ensemble-impl", "dask_espresso"
    )
    assert run.returncode == 0, run.output[-3000:]
    counts = run.report["counts"]
    assert counts["failed"] == counts["error"] == counts["skipped"] == 0
    assert counts["passed"] > 150
