"""``python -m damaris_ref.conformance [options] [pytest args]``."""

import sys

from damaris_ref.conformance.cli import main

sys.exit(main())
