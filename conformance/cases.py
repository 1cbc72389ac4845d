"""Conformance cases: one run of a seed simulation (SPEC §6), described as data.

Cases come from ``cases/*.yaml`` (validated against ``case.schema.json``) or from the
generator; both are :class:`Case` objects. A case knows which optional capabilities it needs
and how to write the seed's configuration for it, with the probe as the only pyscript.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from damaris_ref.core.config import dump_pdi, dump_xml, dump_yaml
from damaris_ref.core.config.model import (
    Architecture,
    Config,
    Layout,
    Parameter,
    PyScript,
    Variable,
)
from damaris_ref.core.errors import ConformanceError

CASES_DIR = Path(__file__).parent / "cases"
#: the cases of specification §6 "Golden numbers", observed on upstream Damaris
GOLDEN_FILE = CASES_DIR / "seed-golden.yaml"
SCHEMA_PATH = Path(__file__).parent / "case.schema.json"
PROBE_SCRIPT = "probe"

#: optional capabilities a port may lack; cases and checks needing one are skipped without it
CAPABILITIES: dict[str, str] = {
    "standalone": "no dedicated cores or nodes: the script runs inside each client (SPEC §1)",
    "dedicated-nodes": "architecture.dedicated.node > 0 (SPEC §1)",
    "emulated-nodes": "architecture.ranks_per_node splits one host into nodes (SPEC §1)",
    "domains": "the 3dmesh_py_domains executable and its -d option (SPEC §2, §6)",
    "time-varying": "time_varying: false variables reach the script at iteration 0 only (SPEC §3)",
    "frequency": "pyscript frequency > 1 (SPEC §3)",
    "layout-errors": "impossible layouts and seed arguments end the run in an error (SPEC §1, §6)",
    "damaris4py": "damaris4py.server and damaris4py.dask helpers inside the script (SPEC §4)",
    "dask-env": "dask_env values: dask_nworkers = all servers, no scheduler -> '' (SPEC §3, §5)",
}

#: the seed's variables: name -> (layout, time-varying by default)
SEED_VARIABLES: dict[str, tuple[str, bool]] = {
    "cube_i": ("cells_whd_wf", True),
    "cube_f": ("cells_whd_wf_f", True),
    "last_iter": ("scalar_int", False),
    "array_sum": ("scalar_double", True),
}
#: the seed variables each executable writes (spec §6): 3dmesh_py_domains has no cube_f
WRITTEN_BY: dict[str, frozenset[str]] = {
    "3dmesh_py": frozenset(SEED_VARIABLES),
    "3dmesh_py_domains": frozenset(SEED_VARIABLES) - {"cube_f"},
}
#: the seed's layouts (spec §6), for the (DEPTH, HEIGHT, WIDTH) parameters of a case
SEED_LAYOUTS = (
    Layout(
        "cells_whd_wf",
        "int",
        ("DEPTH/size", "HEIGHT", "WIDTH/blocks"),
        ("DEPTH", "HEIGHT", "WIDTH"),
    ),
    Layout(
        "cells_whd_wf_f",
        "float",
        ("DEPTH/size", "HEIGHT", "WIDTH/blocks"),
        ("DEPTH", "HEIGHT", "WIDTH"),
    ),
    Layout("scalar_int", "int", ("1",)),
    Layout("scalar_double", "double", ("1",)),
)


def seed_type(variable: str) -> str:
    """The config type name of a seed variable (``cube_i`` -> ``int``)."""
    layout = SEED_VARIABLES[variable][0]
    return next(x.type for x in SEED_LAYOUTS if x.name == layout)


@dataclass(frozen=True)
class SeedVariable:
    """How the case configures one seed variable."""

    name: str
    routed: bool
    time_varying: bool


def seed_variables(
    overrides: Mapping[str, Mapping[str, bool]] | None = None,
) -> tuple[SeedVariable, ...]:
    """Every seed variable, routed and with its default time-varying flag unless
    ``overrides`` (name -> ``routed``/``time_varying``) says otherwise."""
    overrides = overrides or {}
    return tuple(
        SeedVariable(
            name,
            overrides.get(name, {}).get("routed", True),
            overrides.get(name, {}).get("time_varying", default_tv),
        )
        for name, (_, default_tv) in SEED_VARIABLES.items()
    )


def seed_config(
    architecture: Architecture,
    shape: tuple[int, int, int],
    pyscript: PyScript,
    variables: tuple[SeedVariable, ...] | None = None,
    simulation: str = "3dmesh_py",
) -> Config:
    """The seed's configuration (spec §6) for a (DEPTH, HEIGHT, WIDTH) cube: its parameters,
    layouts and ``variables`` (default: all four, routed to ``pyscript``). The one source of
    the seed config that cases and tests build on; the example files hold the same layouts."""
    depth, height, width = shape
    parameters = tuple(
        Parameter(name, "int", value)
        for name, value in (
            ("WIDTH", width),
            ("HEIGHT", height),
            ("DEPTH", depth),
            ("size", 1),
            ("blocks", 1),
        )
    )
    declared = tuple(
        Variable(
            v.name,
            SEED_VARIABLES[v.name][0],
            time_varying=v.time_varying,
            script=pyscript.name if v.routed else None,
        )
        for v in (seed_variables() if variables is None else variables)
    )
    return Config(simulation, architecture, parameters, SEED_LAYOUTS, declared, (pyscript,))


@dataclass(frozen=True)
class Golden:
    """A case's golden facts (``expect``), observed on upstream Damaris: client totals per
    iteration, per-server cube_i sums and per-block cube_i sums at some iterations, and the
    clients each server owns."""

    client_totals: tuple[int | float, ...] = ()
    server_sums: Mapping[int, tuple[int | float, ...]] = field(default_factory=dict)
    block_sums: Mapping[int, Mapping[str, int | float]] = field(default_factory=dict)
    known_clients: tuple[tuple[int, ...], ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Golden:
        """Parse a schema-valid ``expect`` mapping."""
        return cls(
            client_totals=tuple(data.get("client_totals", ())),
            server_sums={int(i): tuple(v) for i, v in data.get("server_sums", {}).items()},
            block_sums={int(i): dict(v) for i, v in data.get("block_sums", {}).items()},
            known_clients=tuple(tuple(c) for c in data.get("known_clients", ())),
        )

    @property
    def stated(self) -> bool:
        """Whether the case states any golden fact."""
        return bool(self.client_totals or self.server_sums or self.block_sums or self.known_clients)


@dataclass(frozen=True)
class Case:
    """One run: the seed simulation, its layout and arguments, and optional golden facts."""

    id: str
    title: str
    spec: str
    simulation: str
    np: int
    width: int
    height: int
    depth: int
    iterations: int
    dedicated_cores: int = 0
    dedicated_nodes: int = 0
    ranks_per_node: int = 0
    domains: int = 1
    rank_only: bool = False
    frequency: int = 1
    variables: tuple[SeedVariable, ...] = field(default_factory=seed_variables)
    expect: Golden = field(default_factory=Golden)
    expect_error: str | None = None

    def __post_init__(self) -> None:
        # a case declares only what its executable writes, as upstream's example configs do
        written = WRITTEN_BY[self.simulation]
        declared = tuple(v for v in self.variables if v.name in written)
        object.__setattr__(self, "variables", declared)

    @property
    def requires(self) -> frozenset[str]:
        """The optional capabilities this case needs (empty: a required-tier case)."""
        needs = set()
        if self.dedicated_cores == 0 and self.dedicated_nodes == 0:
            needs.add("standalone")
        if self.dedicated_nodes > 0:
            needs.add("dedicated-nodes")
        if self.ranks_per_node > 0:
            needs.add("emulated-nodes")
        if self.simulation == "3dmesh_py_domains":
            needs.add("domains")
        if self.frequency > 1:
            needs.add("frequency")
        if any(v.time_varying != SEED_VARIABLES[v.name][1] for v in self.variables):
            needs.add("time-varying")
        if self.expect_error is not None:
            needs.add("layout-errors")
        return frozenset(needs)

    @property
    def tier(self) -> str:
        """``required`` when every port must pass it, else ``optional``."""
        return "optional" if self.requires else "required"

    def describe(self) -> str:
        """One line naming everything that varies between cases."""
        dedicated = f"core={self.dedicated_cores} node={self.dedicated_nodes}"
        return (
            f"{self.simulation} np={self.np} WxHxD={self.width}x{self.height}x{self.depth} "
            f"dedicated {dedicated} ranks_per_node={self.ranks_per_node} "
            f"domains={self.domains} -i {self.iterations}{' -r' if self.rank_only else ''} "
            f"frequency={self.frequency}"
        )

    def config(self, probe_file: Path, script_name: str = PROBE_SCRIPT) -> Config:
        """The seed's configuration for this case, with the probe (or another script, as tests
        run one) as its only pyscript."""
        architecture = Architecture(
            domains=self.domains,
            dedicated_cores=self.dedicated_cores,
            dedicated_nodes=self.dedicated_nodes,
            ranks_per_node=self.ranks_per_node,
        )
        probe = PyScript(script_name, probe_file, frequency=self.frequency)
        shape = (self.depth, self.height, self.width)
        return seed_config(architecture, shape, probe, self.variables, self.simulation)


#: the forms a case's config can be written in, and the file name suffix of each
CONFIG_FORMATS = {"yaml": ".yaml", "xml": ".xml", "pdi": ".pdi.yml"}


def write_config(case: Case, probe_file: Path, fmt: str, directory: Path) -> Path:
    """Write the case's config in ``fmt`` (``yaml``, ``xml``, or ``pdi``: the grammar of PDI's
    Damaris plugin) into ``directory``."""
    writers = {"yaml": dump_yaml, "xml": dump_xml, "pdi": dump_pdi}
    if fmt not in writers:
        raise ValueError(f"unknown config format {fmt!r}; allowed: {', '.join(CONFIG_FORMATS)}")
    path = directory / f"{case.simulation}{CONFIG_FORMATS[fmt]}"
    path.write_text(writers[fmt](case.config(probe_file)), encoding="utf-8")
    return path


@cache
def case_schema() -> dict[str, Any]:
    """The JSON Schema every case file follows."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def case_from_mapping(data: Any, source: str = "<case>") -> Case:
    """Validate ``data`` against the schema and build the :class:`Case`."""
    validator = jsonschema.Draft202012Validator(case_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConformanceError(f"{source}: {where}: {error.message}")
    dedicated = data.get("dedicated", {})
    case = Case(
        id=data["id"],
        title=data["title"],
        spec=data["spec"],
        simulation=data["simulation"],
        np=data["np"],
        width=data["parameters"]["WIDTH"],
        height=data["parameters"]["HEIGHT"],
        depth=data["parameters"]["DEPTH"],
        iterations=data["iterations"],
        dedicated_cores=dedicated.get("core", 0),
        dedicated_nodes=dedicated.get("node", 0),
        ranks_per_node=data.get("ranks_per_node", 0),
        domains=data.get("domains", 1),
        rank_only=data.get("rank_only", False),
        frequency=data.get("frequency", 1),
        variables=seed_variables(data.get("variables")),
        expect=Golden.from_mapping(data.get("expect", {})),
        expect_error=data.get("expect_error"),
    )
    if case.domains > 1 and case.simulation != "3dmesh_py_domains":
        raise ConformanceError(f"{source}: domains: only 3dmesh_py_domains takes -d")
    return case


def case_by_id(case_id: str, directory: Path = CASES_DIR) -> Case:
    """The case ``case_id`` of the case files (how tests take golden numbers, as ports do)."""
    cases = {case.id: case for case in load_cases(directory)}
    if case_id not in cases:
        raise ConformanceError(f"no case {case_id!r} in {directory}; known: {', '.join(cases)}")
    return cases[case_id]


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of ``directory/*.yaml``, by file name; ids must be unique."""
    cases: dict[str, Case] = {}
    for path in sorted(directory.glob("*.yaml")):
        for case in load_case_file(path):
            if case.id in cases:
                raise ConformanceError(f"{path.name}: duplicate case id {case.id!r}")
            cases[case.id] = case
    return list(cases.values())


def load_case_file(path: Path) -> list[Case]:
    """The cases of one case file, in order (``GOLDEN_FILE``: the seed's golden numbers)."""
    return [
        case_from_mapping(data, f"{path.name}[{index}]")
        for index, data in enumerate(_documents(path))
    ]


def _documents(path: Path) -> Iterator[Any]:
    """A case file holds a list of cases."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ConformanceError(f"{path.name}: a case file holds a YAML list of cases")
    yield from data
