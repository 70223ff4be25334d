"""The one way EGVS writes a file: under a temporary name beside it, moved into place when complete.

Readers never see a half-written output, cache entry or model, and a failed or interrupted write
(an exception, SIGTERM, Ctrl-C) removes its temporary file. A run killed outright (``kill -9``,
``timeout -s KILL``, power loss) cannot clean up, so the temporary name carries the writer's pid
and the next write of the same output removes the leftovers whose writer is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

# A leftover whose pid is alive but which nobody has touched for this long belongs to a reused
# pid: a live writer keeps its file's mtime fresh.
STALE_SECONDS = 3600.0


def temp_path(path: Path) -> Path:
    """A new, empty, hidden file beside ``path``, named after it and this process.

    Created with mode 0666 like a plain open(), so the umask (and default ACLs) decide the final
    file's permissions as for any new file; mkstemp's 0600 would make outputs private. The
    extension is kept: muxers and savers pick their format by it.
    """
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    except OverflowError:
        return False  # not a pid at all
    return True


def remove_stale_temps(path: Path) -> None:
    """Delete the temporary files that killed writers of ``path`` left beside it.

    Only names `temp_path` gives ``path`` (not another output's, not the user's files), and only
    when the writing process is gone or the file has not changed for `STALE_SECONDS`, so a
    concurrent run writing the same output keeps its file.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]{{8}}{re.escape(path.suffix)}")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            idle = time.time() - entry.stat(follow_symlinks=False).st_mtime
            if not _is_running(int(match[1])) or idle > STALE_SECONDS:
                os.unlink(entry.path)
        except OSError:
            continue  # removed meanwhile, or not ours to remove


def write_text(path: str | Path, text: str) -> None:
    """`atomic_write` of a UTF-8 text (JSON, captions, timelines)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write(
    path: str | Path, write: Callable[[Path], object], remove_stale: bool = True
) -> None:
    """Call ``write(tmp)`` with a temporary path beside ``path``, then move it onto ``path``.

    The folder is created if needed. Leftovers of killed earlier writes of ``path`` are removed
    first (``remove_stale=False`` skips that scan, for folders of many small cache entries); the
    temporary file is removed whatever happens.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if remove_stale:
        remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
