"""``python -m damaris_ref.cli``: the ``damaris-ref`` command, for a Python without its script."""

import sys

from damaris_ref.cli import main

sys.exit(main())
