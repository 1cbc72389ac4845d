"""The conformance suite: check any Damaris-style port against the specification from the outside.

The implementation under test is a command line (or the reference itself); what it does is
observed through ``probe.py``, a pyscript every port can run, and compared with expectations
computed from the pure model (``damaris_ref.topology`` and the seed formula), never from a run
of the reference. Run it with ``python -m damaris_ref.conformance`` (see docs/conformance.md;
the contract it checks is docs/specification.md).
"""

#: version of the suite and its cases (CalVer YYYY.MM.PATCH), recorded in every report;
#: a change of any case or check that can turn a pass into a failure bumps it
SUITE_VERSION = "2026.12.0"
