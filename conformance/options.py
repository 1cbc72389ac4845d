"""The suite's own command-line options, in a module of their own: the suite's command reads
them to turn ``DAMARIS_CONFORMANCE_*`` variables into options before pytest starts, and so must
not import the plugin (pytest could no longer rewrite its assertions, nor Hypothesis's)."""

from __future__ import annotations

from typing import Any

from damaris_ref.conformance.cases import CAPABILITIES
from damaris_ref.conformance.mutations import MUTATIONS

#: option -> (default, argparse keywords)
OPTIONS: dict[str, tuple[Any, dict[str, Any]]] = {
    "--impl": ("reference", {"help": "reference (in-process) or reference-mpi"}),
    "--impl-cmd": (
        None,
        {
            "metavar": "TEMPLATE",
            "help": "command running the port's 3dmesh_py: {np} {config} {iterations} "
            "required, {r} and {domains} optional; the suite adds nothing to it",
        },
    ),
    "--impl-cmd-domains": (
        None,
        {"metavar": "TEMPLATE", "help": "the same for 3dmesh_py_domains (else: no domains)"},
    ),
    "--config-format": (
        "yaml",
        {"help": "config format the port reads: yaml, xml or pdi (the PDI Damaris plugin's)"},
    ),
    "--capabilities": (
        "all",
        {"help": "optional capabilities the port has: all or a list of " + ", ".join(CAPABILITIES)},
    ),
    "--without": ("", {"help": "comma list of capabilities the port lacks"}),
    "--tier": ("all", {"help": "required: only what every port must pass; all (default)"}),
    "--skip-file": (None, {"help": "test id substrings to skip, one per line"}),
    "--xfail-file": (None, {"help": "test id substrings expected to fail (a pass is reported)"}),
    "--deviations": (
        None,
        {
            "metavar": "NAME_OR_FILE",
            "help": "the port's known deviations (spec §9): a shipped name such as "
            "upstream-1.7.1, or a YAML file of the same form",
        },
    ),
    "--max-examples": (10, {"type": int, "help": "generated cases (0: none); default 10"}),
    "--derandomize": (False, {"action": "store_true", "help": "same generated cases every run"}),
    "--run-timeout": (120.0, {"type": float, "help": "seconds per run before it is stopped"}),
    "--workdir": (None, {"help": "where runs keep configs, output and probe records"}),
    "--keep-workdir": (False, {"action": "store_true", "help": "keep it even when all pass"}),
    "--report-json": (None, {"help": "write the JSON summary here"}),
    "--mutation": (
        None,
        {"help": "suite self-test: break the in-process reference: " + ", ".join(MUTATIONS)},
    ),
    "--list-cases": (
        False,
        {"action": "store_true", "help": "list the cases, checks and what they need; run none"},
    ),
    "--ensemble-impl": (
        None,
        {"metavar": "MODULE", "help": "module of an ESPResSo-style ensemble port to check"},
    ),
}


def environment_name(option: str) -> str:
    """``--impl-cmd`` -> ``DAMARIS_CONFORMANCE_IMPL_CMD``."""
    return "DAMARIS_CONFORMANCE_" + option[2:].upper().replace("-", "_")
