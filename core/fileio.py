"""Atomic writes: a killed process never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from core.faults import fault_point


def atomic_write_bytes(path: str | Path, data: bytes, before_replace: Callable[[], None] | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    The temporary file is named after its owner, ``.<name>.<pid>.<random>.tmp``, so
    :func:`remove_stale_temp_files` can tell a killed writer's leftover from the file a live one
    is still writing. ``before_replace`` (a test hook, e.g. a fault point) runs once the temporary
    file is complete, just before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any, before_replace: Callable[[], None] | None = None) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8"), before_replace)


_DIRECTORY_WORK = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\.(?P<stage>tmp|new|old)$")


def _work_path(path: Path, token: str, stage: str) -> Path:
    """The sibling ``.<name>.<pid>-<token>.<stage>`` of ``path`` that a directory save works in."""
    return path.parent / f".{path.name}.{os.getpid()}-{token}.{stage}"


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling directory that replaces ``path`` on success.

    Files are written into the yielded directory. When the block ends without an
    exception the save commits in renames, each atomic::

        .<name>.<pid>-<token>.tmp  --(writes done)-->  .new
        <name> --> .old  (if it exists);  .new --> <name>;  remove .old

    A kill at any point leaves either the old or the new complete directory, or a
    state that :func:`recover_directories` completes on the next start: a ``.new`` (a
    finished write) wins, else an ``.old`` is put back; unfinished ``.tmp`` folders of
    dead processes are removed. On an exception nothing changes. Each save has its own
    token, so two saves of one name (threads of one process) never share a path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_directories(path.parent, only=path.name)
    token = secrets.token_hex(4)
    tmp = _work_path(path, token, "tmp")
    tmp.mkdir(mode=0o755)
    try:
        yield tmp
        fault_point("atomic_directory.written")
        new = _work_path(path, token, "new")
        os.replace(tmp, new)
        fault_point("atomic_directory.complete")
        _commit_directory(new, path, _work_path(path, token, "old"))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _commit_directory(new: Path, path: Path, old: Path) -> None:
    """Put the complete directory ``new`` in place of ``path`` (moved aside to ``old`` first)."""
    if path.exists() or path.is_symlink():
        os.replace(path, old)
    fault_point("atomic_directory.between_renames")
    os.replace(new, path)
    fault_point("atomic_directory.replaced")
    if old.exists() or old.is_symlink():
        _remove(old)


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def recover_directories(parent: str | Path, only: str | None = None) -> list[str]:
    """Finish or roll back directory saves that a killed process left in ``parent``.

    For each save of a dead process (by the pid in its work folders' names): a complete
    ``.new`` replaces the target (the save is finished); otherwise, when the target is
    missing, its ``.old`` is put back (rolled back); every other leftover is removed. Saves
    of live processes are left alone.

    Args:
        parent: the folder holding the directories (e.g. the user models folder).
        only: recover only the saves of this directory name.

    Returns:
        One line per action taken (for logs and tests).
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    saves: dict[tuple[str, str], dict[str, Path]] = {}
    for entry in parent.iterdir():
        match = _DIRECTORY_WORK.match(entry.name)
        if not match or (only is not None and match["name"] != only) or process_alive(int(match["pid"])):
            continue
        saves.setdefault((match["name"], f"{match['pid']}-{match['token']}"), {})[match["stage"]] = entry
    actions = []
    for (name, _), stages in sorted(saves.items()):
        target = parent / name
        if "new" in stages:
            _commit_directory(stages.pop("new"), target, _work_path(target, secrets.token_hex(4), "old"))
            actions.append(f"finished the interrupted save of {target}")
        elif "old" in stages and not (target.exists() or target.is_symlink()):
            os.replace(stages.pop("old"), target)
            actions.append(f"rolled back the interrupted save of {target}")
        for leftover in stages.values():
            _remove(leftover)
            actions.append(f"removed {leftover}")
    return actions


def remove_stale_temp_files(directory: str | Path, name: str) -> list[Path]:
    """Delete the temporary files of ``name`` in ``directory`` whose writer is dead; returns them.

    Only files named by :func:`atomic_write_bytes` (``.<name>.<pid>.<random>.tmp``) are
    considered; those of a live pid (this process included) are kept. A pid reused by a new
    process keeps its old leftover until that process ends too.
    """
    directory, prefix = Path(directory), f".{name}."
    removed = []
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        parts = entry.name[len(prefix):-len(".tmp")].split(".")
        # mkstemp's random part has no dot, so exactly two parts; a longer name is another file's temp.
        if len(parts) != 2 or not parts[0].isdigit() or process_alive(int(parts[0])) or not entry.is_file():
            continue
        entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextmanager
def file_lock(path: str | Path) -> Iterator[Path]:
    """Hold an exclusive advisory lock on the lock file ``path`` for the block; waits until it is free.

    Guarantees (where :mod:`fcntl` exists: Linux, macOS):

    - at most one holder at a time among all processes and threads that take this lock
      (``flock`` on a descriptor opened per call, so threads of one process exclude each
      other too); it is advisory: code that does not take it is not held back;
    - the kernel releases it when the holder dies, even by SIGKILL: a crash never leaves it held;
    - the lock file holds the holder's pid (for whoever inspects it) and is removed on
      release; a file left by a killed holder is taken over and removed by the next holder;
    - not re-entrant: taking it again in the same thread while holding it blocks forever.

    Without :mod:`fcntl` (Windows) the block runs unlocked: a single writer stays safe (the
    writes are atomic), concurrent writers there may lose each other's updates. On network
    file systems it is as good as their ``flock`` (NFS on Linux maps it to a POSIX lock).
    """
    path = Path(path)
    try:
        import fcntl
    except ImportError:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            opened = os.fstat(fd)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        # The previous holder unlinks the file on release: a lock on that unlinked inode excludes nobody.
        if current is not None and (current.st_ino, current.st_dev) == (opened.st_ino, opened.st_dev):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
