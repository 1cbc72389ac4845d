"""A pyscript that calls sys.exit: the server must report it, not stop."""

import sys

if __name__ == "__main__":
    sys.exit(3)
