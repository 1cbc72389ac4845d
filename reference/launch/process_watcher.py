"""The watcher that stops a process's die-with-parent children once that process has ended.

:mod:`damaris_ref.launch.processes` starts one per parent process, with a pipe on its stdin whose
only writer is the parent. The end of that pipe is the parent's death, whatever its cause
(SIGTERM, SIGKILL, a crash, a normal exit). The watcher then stops every process whose
innermost tree token starts with the prefix it was given, with all their descendants:
SIGTERM, then SIGKILL after the grace period.

    python -m damaris_ref.launch.process_watcher PREFIX
"""

from __future__ import annotations

import signal
import sys

from damaris_ref.launch.processes import DEFAULT_GRACE, find_tagged, stop_processes


def main(argv: list[str]) -> int:
    """Wait for the end of stdin, then stop the processes whose token starts with argv[1]."""
    (prefix,) = argv[1:]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is not meant for us
    sys.stdin.buffer.read()  # no one writes: this returns when the parent is gone

    def ours() -> set:
        return find_tagged(lambda tokens: bool(tokens) and tokens[-1].startswith(prefix))

    stop_processes(ours, signal.SIGTERM, DEFAULT_GRACE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
