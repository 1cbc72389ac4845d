"""Hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (``dev`` when unset).

``dev`` is quick for local runs, ``ci`` is what tox runs (it keeps the suite short), and
``thorough`` goes ten times deeper for a scheduled or manual run
(``HYPOTHESIS_PROFILE=thorough tox -e py``). A test that needs its own example count writes
``@settings(max_examples=examples(n))``: ``n`` under ``ci``, scaled like the profile elsewhere.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: examples per property under the ``ci`` profile; the other profiles scale from it
CI_EXAMPLES = 100

PROFILES = {"dev": 40, "ci": CI_EXAMPLES, "thorough": 10 * CI_EXAMPLES}

for _name, _count in PROFILES.items():
    settings.register_profile(
        _name,
        max_examples=_count,
        deadline=None,
        suppress_health_check=[] if _name == "dev" else [HealthCheck.too_slow],
        print_blob=True,
    )


def load() -> str:
    """Load the profile ``HYPOTHESIS_PROFILE`` names; an unknown name is one clear error."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    if name not in PROFILES:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r}: the profiles are {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name


def examples(ci_count: int) -> int:
    """``ci_count`` examples under ``ci``, as many more or fewer as the loaded profile runs."""
    return max(1, ci_count * settings.default.max_examples // CI_EXAMPLES)
