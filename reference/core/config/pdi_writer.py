"""Write a :class:`Config` in the grammar of PDI's Damaris plugin (pdidev/pdi at 78806cfd).

The text is one the plugin's translator accepts: wrapped list entries, ``sim_name``,
``buffer_size``, one ``pyscript`` with ``keep_workers_`` (the spelling the plugin reads; the
reference reads both), integers where the plugin parses integers. Two kinds of settings do not
fit that grammar. The buffer's and queue's names and the queue's size are fixed by the plugin:
:func:`pdi_losses` names them so a caller can say so, and the text has the plugin's values.
What would change a run (several pyscripts, ``nthreads: openmp``, a fractional ``timeout``)
raises a :class:`~damaris_ref.core.errors.ConfigError` instead.
"""

from __future__ import annotations

from typing import Any

import yaml

from damaris_ref.core.errors import ConfigError

from .model import Config, PyScript
from .pdi_grammar import PLUGIN_QUEUE, PLUGIN_VERSION
from .writers import layout_spec, variable_spec

#: the earlier name of the form's error: a deprecated alias, kept for one release
PdiFormError = ConfigError


def dump_pdi(config: Config) -> str:
    """The PDI form: a ``pdi: {plugins: {damaris: ...}}`` tree, headed by the plugin version."""
    arch = config.architecture
    architecture: dict[str, Any] = {
        "sim_name": config.simulation_name,
        "domains": arch.domains,
        "buffer_size": arch.buffer_size,
        "dedicated": {"core": arch.dedicated_cores, "node": arch.dedicated_nodes},
    }
    if arch.ranks_per_node:  # a reference extension; the plugin skips unknown keys here
        architecture["ranks_per_node"] = arch.ranks_per_node
    section: dict[str, Any] = {
        "architecture": architecture,
        "parameters": [
            {"parameter": {"name": p.name, "type": p.type, "value": p.value}}
            for p in config.parameters
        ],
        "layouts": [{"layout": layout_spec(layout)} for layout in config.layouts],
        "datasets": [{"dataset": variable_spec(v)} for v in config.variables],
    }
    if len(config.pyscripts) > 1:
        names = ", ".join(p.name for p in config.pyscripts)
        raise ConfigError(
            f"{len(config.pyscripts)} pyscripts ({names}); the PDI plugin's form holds one"
        )
    if config.pyscripts:
        section["pyscript"] = _pyscript(config.pyscripts[0])
    header = f"# PDI specification tree for the {PLUGIN_VERSION}\n"
    body = yaml.safe_dump(
        {"pdi": {"plugins": {"damaris": section}}}, sort_keys=False, allow_unicode=True
    )
    return header + body


def pdi_losses(config: Config) -> list[str]:
    """The settings of ``config`` the PDI form writes with the plugin's fixed values instead."""
    arch = config.architecture
    fixed = {
        "buffer name": (arch.buffer_name, f"{config.simulation_name}_buffer"),
        "queue name": (arch.queue_name, PLUGIN_QUEUE["name"]),
        "queue size": (arch.queue_size, PLUGIN_QUEUE["size"]),
    }
    return [
        f"{what} {given!r} becomes {plugin!r} (fixed by the PDI plugin)"
        for what, (given, plugin) in fixed.items()
        if given != plugin
    ]


def _pyscript(script: PyScript) -> dict[str, Any]:
    if not isinstance(script.nthreads, int):
        raise ConfigError(
            f"pyscript {script.name!r}: nthreads {script.nthreads!r}; the PDI plugin reads "
            "an integer"
        )
    if script.timeout != int(script.timeout):
        raise ConfigError(
            f"pyscript {script.name!r}: timeout {script.timeout!r}; the PDI plugin reads "
            "whole seconds"
        )
    spec: dict[str, Any] = {"name": script.name, "file": str(script.file), "language": "python"}
    if script.scheduler_file is not None:
        spec["scheduler_file"] = str(script.scheduler_file)
    spec |= {
        "frequency": script.frequency,
        "nthreads": script.nthreads,
        "keep_workers_": "yes" if script.keep_workers else "no",
        "timeout": int(script.timeout),
    }
    if script.watchdog != PyScript.watchdog:  # an extension; the plugin notes and skips it
        spec["watchdog"] = script.watchdog
    return spec
