"""The one CPU thread policy of MaskLens: torch, OpenMP, MKL/OpenBLAS and scikit-learn.

::

    from core.threads import apply_thread_policy, compute_threads

    apply_thread_policy()          # once, at CLI / app / training-child start: torch + env for children
    with compute_threads():        # around scikit-learn / NumPy work (t-SNE): BLAS + OpenMP pools
        TSNE(...).fit_transform(x)

The default is the *free* cores (:func:`free_cores`): the usable cores less the machine's
1-minute load average, at least one. Why (``bench/threads.py``, README "Thread policy"): on a
2-core machine that is also running other work, every extra OpenMP/BLAS thread spins waiting
for a core that someone else holds, and a run gets 3-20x slower (t-SNE 44 s instead of 2 s, a
CNN epoch 2.4 s instead of 0.24 s); one thread won every busy measurement. A thread per free
core keeps that on a busy machine (there it is one thread) and still uses the cores of an idle
one, where compute-bound work (transformer passes) scales with threads.

``MASKLENS_THREADS`` overrides: a positive integer, or ``auto`` (every usable core).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

ENV_VAR = "MASKLENS_THREADS"
# Read by OpenMP / MKL / OpenBLAS when a child process loads them (they ignore later changes).
CHILD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count()``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def free_cores(load: float | None = None) -> int:
    """Usable cores not taken by other work: :func:`usable_cores` less ``load`` (default: the 1-minute load
    average, 0 where the system has none), rounded, in [1, usable cores]."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    cores = usable_cores()
    return min(cores, max(1, cores - int(round(load))))


def parse_threads(value: str | int | None, source: str = ENV_VAR) -> int | None:
    """A thread count from a setting: None/empty = not set, ``auto`` = every usable core, else an integer >= 1.

    Args:
        value: the raw setting (e.g. the environment variable's text).
        source: names the setting in the error message.

    Raises:
        ValueError: anything else (``0``, ``-2``, ``two``, ``1.5``), with what is allowed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text == "auto":
        return usable_cores()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"{source} must be a positive whole number of threads or 'auto', got {value!r}")
    return int(text)


def thread_count(n: int | None = None) -> int:
    """The thread count to use: ``n`` when given, else ``$MASKLENS_THREADS``, else :func:`free_cores` now.

    Raises:
        ValueError: a bad ``n`` or a bad ``$MASKLENS_THREADS``.
    """
    if n is not None:
        return parse_threads(n, source="the thread count")
    chosen = parse_threads(os.environ.get(ENV_VAR))
    return free_cores() if chosen is None else chosen


def apply_thread_policy(n: int | None = None) -> int:
    """Apply the policy to this process and its future children; returns the thread count used.

    Sets ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` (read by those
    libraries when a process loads them: a torch imported later, every child process) and, when
    torch is already imported, its intra-op threads and its inter-op threads while torch still
    allows that (only before its first parallel work). BLAS/OpenMP pools already loaded are limited
    where the work runs, with :func:`compute_threads`.

    Raises:
        ValueError: a bad ``n`` or ``$MASKLENS_THREADS``.
    """
    count = thread_count(n)
    for name in CHILD_ENV_VARS:
        os.environ[name] = str(count)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(count)
        try:
            torch.set_num_interop_threads(count)
        except RuntimeError:  # refused once inter-op work has started; the intra-op count is what matters
            pass
    return count


@contextmanager
def compute_threads(n: int | None = None) -> Iterator[int]:
    """Limit every loaded BLAS and OpenMP pool (scikit-learn, NumPy, SciPy, torch's OpenMP) inside the block.

    Yields the thread count (see :func:`thread_count`); the previous limits come back on exit.

    Raises:
        ValueError: a bad ``n`` or ``$MASKLENS_THREADS``.
    """
    from threadpoolctl import threadpool_limits

    count = thread_count(n)
    with threadpool_limits(limits=count):
        yield count
