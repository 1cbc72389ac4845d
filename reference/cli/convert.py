"""``damaris-ref convert IN OUT``: write a configuration in another of its three forms.

IN may be Damaris XML, the compact YAML or the PDI plugin's grammar; OUT's form comes from
``--to`` or its name (``.xml``; ``.pdi.yml``/``.pdi.yaml`` for the PDI form; other YAML names
the compact form). Script paths are written relative to OUT's folder, so the new file finds the
same scripts. What the PDI form cannot hold is said on stderr (fixed names) or refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from damaris_ref.core.config import Config

FORMS = ("xml", "yaml", "pdi")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` subcommand."""
    parser = subparsers.add_parser(
        "convert",
        help="write a config as Damaris XML, compact YAML or the PDI plugin's YAML",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("input", type=Path, help="the config to read (any of the three forms)")
    parser.add_argument("output", type=Path, help="the file to write")
    parser.add_argument(
        "--to", choices=FORMS, default=None, help="the form to write (default: from OUT's name)"
    )
    parser.set_defaults(func=run)


def run(options: argparse.Namespace) -> int:
    """Convert; exit code 0, or 1 with one error line (a DamarisError, printed by the CLI)."""
    from damaris_ref.core.config import dump_pdi, dump_xml, dump_yaml, load_config, pdi_losses

    form = options.to or form_of(options.output)
    config = load_config(options.input, environ={})
    config = _paths_relative_to(config, options.output.absolute().parent)
    dump: Callable[[Config], str] = {"xml": dump_xml, "yaml": dump_yaml, "pdi": dump_pdi}[form]
    text = dump(config)
    if form == "pdi":
        for loss in pdi_losses(config):
            print(f"damaris-ref convert: note: {loss}", file=sys.stderr)
    options.output.write_text(text, encoding="utf-8")
    print(f"wrote {options.output} ({form})")
    return 0


def form_of(path: Path) -> str:
    """The form a file name asks for: ``xml``, ``pdi`` (``*.pdi.yml``) or ``yaml``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".xml"]:
        return "xml"
    return "pdi" if suffixes[-2:-1] == [".pdi"] else "yaml"


def _paths_relative_to(config: Config, folder: Path) -> Config:
    """``config`` with its script and scheduler paths relative to ``folder``."""

    def relative(path: Path) -> Path:
        return Path(os.path.relpath(path, folder))

    return dataclasses.replace(
        config,
        pyscripts=tuple(
            dataclasses.replace(
                p,
                file=relative(p.file),
                scheduler_file=p.scheduler_file and relative(p.scheduler_file),
            )
            for p in config.pyscripts
        ),
    )
