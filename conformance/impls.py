"""The implementation under test, plugged in from outside.

``reference`` runs the reference in this process (threads), ``reference-mpi`` runs it under
``mpiexec`` through ``damaris-ref run``, and a command template runs any port's executables.
Every implementation is handed the case's config (written by the suite, in the port's format)
and observed only through the probe pyscript and its printed totals.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from damaris_ref.conformance import probe
from damaris_ref.conformance.cases import CAPABILITIES, Case, write_config
from damaris_ref.conformance.record import load_records
from damaris_ref.conformance.runs import Run, read_bounded
from damaris_ref.core.errors import ConformanceError
from damaris_ref.launch import processes

#: what a port's template may use; the first three are required
TEMPLATE_FIELDS = ("np", "config", "iterations", "r", "domains")
#: the seed's own arguments, as the reference's executables take them (spec §6)
SEED_ARGS = {
    "3dmesh_py": "{config} -i {iterations} -v 2 {r} -s 0",
    "3dmesh_py_domains": "{config} -i {iterations} -d {domains} {r} -s 0",
}


@dataclass(frozen=True)
class CommandTemplate:
    """A port's command line with ``{np}``, ``{config}``, ``{iterations}``, ``{r}``, ``{domains}``.

    Without ``{r}`` the template's own ``-r`` (or its absence) is fixed, and cases that need
    the other choice are skipped; likewise ``-d N`` without ``{domains}``.
    """

    text: str

    def __post_init__(self) -> None:
        fields = self.fields
        unknown = fields - set(TEMPLATE_FIELDS)
        if unknown:
            raise ConformanceError(
                f"unknown placeholder(s) {', '.join(sorted(unknown))} in {self.text!r}; "
                f"allowed: {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}"
            )
        missing = {"np", "config", "iterations"} - fields
        if missing:
            raise ConformanceError(
                f"the command template {self.text!r} lacks "
                + ", ".join("{" + f + "}" for f in sorted(missing))
            )

    @property
    def fields(self) -> set[str]:
        """The placeholders the template uses."""
        try:
            parsed = list(string.Formatter().parse(self.text))
        except ValueError as error:
            raise ConformanceError(
                f"cannot parse the command template {self.text!r}: {error}"
            ) from None
        return {name for _, name, _, _ in parsed if name is not None}

    @property
    def fixed_rank_only(self) -> bool | None:
        """Whether the template always passes ``-r`` (None when ``{r}`` chooses)."""
        return None if "r" in self.fields else "-r" in shlex.split(self.text)

    @property
    def fixed_domains(self) -> int | None:
        """The domain count the template always passes (None when ``{domains}`` chooses)."""
        if "domains" in self.fields:
            return None
        words = shlex.split(self.text)
        return int(words[words.index("-d") + 1]) if "-d" in words[:-1] else 1

    def unsupported(self, case: Case) -> str | None:
        """Why this template cannot express ``case``; None when it can."""
        if self.fixed_rank_only is not None and self.fixed_rank_only != case.rank_only:
            fixed = "always passes -r" if self.fixed_rank_only else "never passes -r"
            return f"the command template {fixed} and has no {{r}} placeholder"
        if self.fixed_domains is not None and self.fixed_domains != case.domains:
            return (
                f"the command template fixes {self.fixed_domains} domain(s) and has no "
                "{domains} placeholder"
            )
        return None

    def render(self, case: Case, config: Path) -> list[str]:
        """The argv for ``case`` with its config file at ``config``."""
        return render(self.text, case, config)


def render(text: str, case: Case, config: Path) -> list[str]:
    """Fill a command template's placeholders for ``case`` and split it into argv."""
    values = {
        "np": str(case.np),
        "config": shlex.quote(str(config)),
        "iterations": str(case.iterations),
        "r": "-r" if case.rank_only else "",
        "domains": str(case.domains),
    }
    return shlex.split(text.format(**values))


class Implementation:
    """An implementation under test: how to run a case, and what it claims to support."""

    name = "implementation"

    def __init__(self, capabilities: frozenset[str], config_format: str):
        self.capabilities = capabilities
        self.config_format = config_format

    def describe(self) -> dict[str, Any]:
        """What reports say about the implementation."""
        return {
            "name": self.name,
            "config_format": self.config_format,
            "capabilities": sorted(self.capabilities),
        }

    def unsupported(self, case: Case) -> str | None:
        """Why ``case`` is skipped for this implementation; None when it runs."""
        lacking = sorted(case.requires - self.capabilities)
        if lacking:
            return f"needs capability {', '.join(lacking)}"
        return None

    def fixed_arguments(self, simulation: str) -> dict[str, Any]:
        """Seed arguments this implementation cannot vary (``rank_only``, ``domains``)."""
        return {}

    def run(self, case: Case, workdir: Path, probe_file: Path, timeout: float) -> Run:
        """Write the case's config into ``workdir``, run it, collect output and records."""
        records_dir = workdir / "records"
        shutil.rmtree(records_dir, ignore_errors=True)  # a reused --workdir: no stale records
        records_dir.mkdir(parents=True)
        config = write_config(case, probe_file, self.config_format, workdir)
        run = self._execute(case, config, records_dir, timeout)
        run.records, run.problems = load_records(records_dir)
        return run

    def _execute(self, case: Case, config: Path, records_dir: Path, timeout: float) -> Run:
        raise NotImplementedError


class CommandImplementation(Implementation):
    """Any executable that follows the seed CLI, one template per seed simulation."""

    name = "command"

    def __init__(
        self,
        templates: Mapping[str, CommandTemplate],
        capabilities: frozenset[str],
        config_format: str,
        name: str = "command",
    ):
        if "3dmesh_py_domains" not in templates:
            capabilities = capabilities - {"domains"}
        super().__init__(capabilities, config_format)
        self.name = name
        self.templates = dict(templates)

    def describe(self) -> dict[str, Any]:
        """The templates are what identifies a port's build."""
        return super().describe() | {"templates": {k: t.text for k, t in self.templates.items()}}

    def unsupported(self, case: Case) -> str | None:
        """Capabilities first, then what the template can express."""
        return super().unsupported(case) or self.templates[case.simulation].unsupported(case)

    def fixed_arguments(self, simulation: str) -> dict[str, Any]:
        """What the template fixes (absent placeholders)."""
        template = self.templates[simulation]
        fixed = {"rank_only": template.fixed_rank_only, "domains": template.fixed_domains}
        return {key: value for key, value in fixed.items() if value is not None}

    def _execute(self, case: Case, config: Path, records_dir: Path, timeout: float) -> Run:
        argv = self.templates[case.simulation].render(case, config)
        env = {**os.environ, probe.DIR_VARIABLE: str(records_dir)}
        workdir = records_dir.parent
        out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
        started = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            try:
                child = processes.start(argv, stdout=out, stderr=err, env=env)
            except OSError as error:
                err.write(f"cannot start {argv[0]}: {error}\n".encode())
                returncode: int | None = 127
            else:
                returncode = _wait(child, timeout)
        return Run(
            command=shlex.join(argv),
            workdir=workdir,
            returncode=returncode,
            stdout=read_bounded(out_path),
            stderr=read_bounded(err_path),
            seconds=time.monotonic() - started,
            timeout=timeout,
        )


def _wait(child: processes.Child, timeout: float) -> int | None:
    """The exit code, or None after stopping the whole tree on a timeout."""
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.stop()
        return None


def _reference_mpi(capabilities: frozenset[str], config_format: str) -> CommandImplementation:
    """The reference under ``mpiexec``, driven exactly like a port (through templates)."""
    launcher = f"{shlex.quote(sys.executable)} -m damaris_ref.cli run -n {{np}}"
    templates = {
        sim: CommandTemplate(f"{launcher} {sim} {args}") for sim, args in SEED_ARGS.items()
    }
    return CommandImplementation(templates, capabilities, config_format, name="reference-mpi")


class InProcessReference(Implementation):
    """The reference, every rank a thread of this process; a mutation may break it on purpose."""

    name = "reference"

    def __init__(
        self, capabilities: frozenset[str], config_format: str, mutation: str | None = None
    ):
        super().__init__(capabilities, config_format)
        self.mutation = mutation

    def describe(self) -> dict[str, Any]:
        """A mutated reference says so in every report."""
        return super().describe() | ({"mutation": self.mutation} if self.mutation else {})

    def _execute(self, case: Case, config: Path, records_dir: Path, timeout: float) -> Run:
        from damaris_ref.conformance.mutations import misread_config, mutation_seams
        from damaris_ref.mocks import SIMULATIONS
        from damaris_ref.runtime.in_process import RankFailed, run_in_process
        from damaris_ref.runtime.seams import DEFAULT_SEAMS

        simulation = SIMULATIONS[case.simulation]
        if self.mutation:
            config = misread_config(self.mutation, config)
        argv = render(SEED_ARGS[case.simulation], case, config)
        args = simulation.parse_args(argv)
        out, err = io.StringIO(), io.StringIO()
        returncode: int | None = 0
        started = time.monotonic()
        seams = mutation_seams(self.mutation) if self.mutation else DEFAULT_SEAMS
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _environment_variable(probe.DIR_VARIABLE, str(records_dir)),
        ):
            try:
                run_in_process(simulation.rank_main(args), case.np, timeout=timeout, seams=seams)
            except RankFailed as failure:
                err.write(f"{failure}\n")
                returncode = 1
            except TimeoutError as error:
                err.write(f"{error}\n")
                returncode = None
        return Run(
            command=f"in-process {case.simulation} -n {case.np} {shlex.join(argv)}",
            workdir=records_dir.parent,
            returncode=returncode,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            seconds=time.monotonic() - started,
            timeout=timeout,
        )


@contextlib.contextmanager
def _environment_variable(name: str, value: str) -> Iterator[None]:
    """Set ``name`` in this process's environment for the block, then restore what was there
    (its old value, or its absence): the probe, run here by a server thread, reads it from
    the environment as it does under a port's executables."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def make_implementation(
    impl: str | None,
    command: str | None,
    command_domains: str | None,
    capabilities: frozenset[str],
    config_format: str,
    mutation: str | None = None,
) -> Implementation:
    """Build the implementation the options name (a command template wins over ``impl``)."""
    if mutation and (command or impl != "reference"):
        raise ConformanceError("--mutation only applies to --impl reference (a suite self-test)")
    if command:
        templates = {"3dmesh_py": CommandTemplate(command)}
        if command_domains:
            templates["3dmesh_py_domains"] = CommandTemplate(command_domains)
        return CommandImplementation(templates, capabilities, config_format)
    if impl == "reference":
        return InProcessReference(capabilities, config_format, mutation)
    if impl == "reference-mpi":
        return _reference_mpi(capabilities, config_format)
    raise ConformanceError(
        f"unknown implementation {impl!r}: use --impl reference, --impl reference-mpi "
        "or --impl-cmd TEMPLATE"
    )


def parse_capabilities(declared: str, without: str) -> frozenset[str]:
    """``all`` or a comma list, minus a comma list; unknown names are an error."""
    chosen = set(CAPABILITIES) if declared.strip() == "all" else _names(declared)
    removed = _names(without)
    unknown = (chosen | removed) - set(CAPABILITIES)
    if unknown:
        raise ConformanceError(
            f"unknown capability {', '.join(sorted(unknown))}; known: {', '.join(CAPABILITIES)}"
        )
    return frozenset(chosen - removed)


def _names(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}
