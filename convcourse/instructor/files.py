"""Writing a file so that a reader, or a crash, sees the old file or the new one, never half.

Every file the instructor tools write for others to read (results, the ingest record, the
gradebook's neighbours: autograded notebooks, feedback pages, reports, exports, the kit) goes
through :func:`write_atomic`: a temporary file in the same folder, flushed to disk, renamed
over the target; the folder is flushed too where the file system allows it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["DiskFull", "disk_full", "write_atomic", "write_json"]


def write_atomic(path: str | os.PathLike, data: str | bytes, *, newline: str | None = None) -> Path:
    """Write ``data`` (UTF-8 text, or bytes) to ``path`` atomically; return the path.

    ``newline`` is passed to ``open`` for text (``""`` keeps the text's own line ends, as the
    csv module wants)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a folder be flushed
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def write_json(path: str | os.PathLike, value) -> Path:
    """``value`` as indented UTF-8 JSON, atomically."""
    return write_atomic(path, json.dumps(value, indent=1, ensure_ascii=False) + "\n")


class DiskFull(OSError):
    """The disk holding the course folder or the gradebook is full: the batch stops here."""


def disk_full(exc: BaseException) -> bool:
    import errno

    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
