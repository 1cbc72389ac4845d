"""The conformance suite: check any Damaris-style port against the specification from the outside.

The implementation under test is a command line (or the reference itself); what it does is
observed through ``probe.py``, a pyscript every port can run, and compared with expectations
computed from the pure model (``damaris_ref.core.topology`` and the seed formula), never from a run
of the reference. Run it with ``python -m damaris_ref.conformance`` (see docs/conformance.md;
the contract it checks is docs/specification.md).
"""

from damaris_ref.core.lazy import lazy_attributes

#: version of the suite and its cases (CalVer YYYY.MM.PATCH), recorded in every report;
#: a change of any case or check that can turn a pass into a failure bumps it
SUITE_VERSION = "2026.12.0"

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: nothing is imported here at run time
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from damaris_ref.conformance.cases import Case as Case
    from damaris_ref.conformance.cases import case_schema as case_schema
    from damaris_ref.conformance.cases import load_cases as load_cases
    from damaris_ref.conformance.cli import main as main
    from damaris_ref.conformance.deviations import Deviations as Deviations
    from damaris_ref.conformance.deviations import load_deviations as load_deviations

#: public names loaded on first use -> the module defining them
_LAZY = {
    "main": "damaris_ref.conformance.cli",
    "Case": "damaris_ref.conformance.cases",
    "case_schema": "damaris_ref.conformance.cases",
    "load_cases": "damaris_ref.conformance.cases",
    "Deviations": "damaris_ref.conformance.deviations",
    "load_deviations": "damaris_ref.conformance.deviations",
}

__all__ = ["SUITE_VERSION", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
