"""What a mock simulation written for PDI is: a whole program that PDI's Damaris plugin drives."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from damaris_ref import pdi
from damaris_ref.mocks.base import Simulation, SimulationSetupError


@dataclass(frozen=True)
class PdiProgram(Simulation):
    """A simulation written for PDI: ``client_loop(comm, args)`` is the whole program, run by
    every rank; PDI's Damaris plugin tells a rank whether it is a client."""

    #: the config is a PDI specification the program hands to ``pdi.init`` itself
    reads_pdi_spec = True
    #: a call the plugin refuses is refused alike on every rank
    shared_errors: ClassVar[tuple[type[BaseException], ...]] = (SimulationSetupError, pdi.Error)

    def main(self, damaris: Any, comm: Any, args: argparse.Namespace) -> None:
        """One world rank: the program, with PDI driving this rank's ``damaris``."""
        with pdi.bound(damaris), contextlib.suppress(pdi.ServerFinished):
            self.client_loop(comm, args)


def spec_path(args: argparse.Namespace) -> Path:
    """The PDI file the command line names (the program hands it to ``pdi.init``)."""
    return Path(args.config)
