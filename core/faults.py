"""Fault-injection points for the kill tests: a process can be paused at a named step and killed there.

Writers call :func:`fault_point` between the steps whose interleaving with a kill matters
(e.g. between the two renames of a checkpoint save). Normally it does nothing. When the
environment variable ``MASKLENS_FAULT_POINT`` names the point, the process writes the
file named by ``MASKLENS_FAULT_READY`` (so the test knows it got there) and sleeps until
it is killed; the test then sends SIGKILL and checks what a real crash at that step leaves.
No random sleeps, so the tests are deterministic.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINT_VARIABLE = "MASKLENS_FAULT_POINT"
READY_VARIABLE = "MASKLENS_FAULT_READY"


def fault_point(name: str) -> None:
    """Pause here forever when ``$MASKLENS_FAULT_POINT == name`` (test hook; a no-op otherwise)."""
    if os.environ.get(POINT_VARIABLE) != name:
        return
    ready = os.environ.get(READY_VARIABLE)
    if ready:
        Path(ready).write_text(f"{os.getpid()} {name}\n", encoding="utf-8")
    while True:  # the test kills the process here
        time.sleep(0.05)
