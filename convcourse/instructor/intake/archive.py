"""Reading what an instructor brings in (a folder, an LMS zip), within limits, only ever reading.

Every regular file comes out as an :class:`Entry` (where it was, its bytes, its own time).  Links,
encrypted entries, files over the size limit, entries that inflate suspiciously (zip bombs) and
zips nested deeper than allowed are refused, each appended to ``report.refused`` with the reason;
a whole export over the entry or byte budget raises :class:`IngestError`.  Decompression stops
at the byte limit whatever an entry's header claims.  Junk (``__MACOSX``, ``.DS_Store``,
checkpoints) is skipped silently.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from convcourse.instructor.intake.ingest_people import IngestError

__all__ = ["Budget", "Entry", "IngestLimits", "folder_entries", "zip_entries", "zip_time"]


@dataclass(frozen=True)
class IngestLimits:
    max_file_mb: float = 32.0  # one file, uncompressed
    max_total_mb: float = 2048.0  # the whole export, uncompressed
    max_entries: int = 20_000
    max_ratio: float = 200.0  # uncompressed / compressed size for entries over 1 MB
    max_depth: int = 1  # zips inside the export (students who zipped their notebook)


@dataclass
class Entry:
    """One regular file of the input."""

    source: str  # where it is in the input ("a/b.zip!c.ipynb" inside a zip in the export)
    data: bytes
    file_time: dt.datetime | None = None  # the file's own time (aware), when it has one


JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|__pycache__|\.DS_Store|Thumbs\.db)(/|$)")


class Budget:
    def __init__(self, limits: IngestLimits):
        self.limits = limits
        self.total = 0
        self.entries = 0

    def take(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_total_mb * 2**20:
            raise IngestError(
                f"the export inflates to more than {self.limits.max_total_mb:g} MB: refused "
                "(a zip bomb, or raise --max-total-mb)"
            )


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    """Decompress one entry, stopping at the per-file limit whatever its header claims."""
    limit = int(budget.limits.max_file_mb * 2**20)
    out = bytearray()
    with zf.open(info) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            out += chunk
            budget.take(len(chunk))
            if len(out) > limit:
                raise ValueError(f"larger than {budget.limits.max_file_mb:g} MB")
    return bytes(out)


def zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    """An entry's own time: the extended-timestamp field (UTC) if it has one, else the DOS
    time, which has no zone (read as this machine's local time, as ``unzip`` does)."""
    extra, i = info.extra, 0
    while i + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            return dt.datetime.fromtimestamp(struct.unpack_from("<i", body, 1)[0], dt.UTC)
        i += 4 + size
    if info.date_time[:3] == (1980, 1, 1):  # the zip format's "no time"
        return None
    try:
        return dt.datetime(*info.date_time).astimezone(dt.UTC)
    except ValueError:
        return None


def zip_entries(data_or_path, budget: Budget, report, prefix: str, depth: int):
    """The regular files of a zip as :class:`Entry` (recursing into zips)."""
    try:
        zf = zipfile.ZipFile(data_or_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{prefix or data_or_path} is not a readable zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        budget.entries += len(infos)
        if budget.entries > budget.limits.max_entries:
            raise IngestError(f"the export has more than {budget.limits.max_entries} entries")
        declared = sum(i.file_size for i in infos)
        if declared > budget.limits.max_total_mb * 2**20:
            raise IngestError(
                f"the export declares {declared / 2**20:.0f} MB uncompressed, over the "
                f"{budget.limits.max_total_mb:g} MB limit: refused"
            )
        for info in infos:
            where = prefix + info.filename
            if info.is_dir() or JUNK.search(info.filename) or "/._" in "/" + info.filename:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                report.refused.append((where, "a symbolic link"))
                continue
            if info.flag_bits & 0x1:
                report.refused.append((where, "encrypted"))
                continue
            if info.file_size > budget.limits.max_file_mb * 2**20:
                report.refused.append(
                    (
                        where,
                        f"{info.file_size / 2**20:.1f} MB, over the "
                        f"{budget.limits.max_file_mb:g} MB limit",
                    )
                )
                continue
            if (
                info.file_size > 2**20
                and info.compress_size
                and info.file_size / info.compress_size > budget.limits.max_ratio
            ):
                report.refused.append((where, "compressed suspiciously well (zip bomb?)"))
                continue
            try:
                data = read_member(zf, info, budget)
            except ValueError as exc:
                report.refused.append((where, str(exc)))
                continue
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                report.refused.append((where, f"unreadable ({exc})"))
                continue
            if info.filename.lower().endswith(".zip"):
                if depth >= budget.limits.max_depth:
                    report.refused.append((where, "a zip inside a zip inside the export"))
                    continue
                yield from zip_entries(io.BytesIO(data), budget, report, where + "!", depth + 1)
                continue
            yield Entry(where, data, zip_time(info))


def folder_entries(folder: Path, budget: Budget, report):
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not JUNK.search(d + "/"))
        for name in sorted(names):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if JUNK.search(rel) or name.startswith("._"):
                continue
            if path.is_symlink() or not path.is_file():
                report.refused.append((rel, "not a regular file"))
                continue
            info = path.stat()
            if info.st_size > budget.limits.max_file_mb * 2**20:
                report.refused.append(
                    (
                        rel,
                        f"{info.st_size / 2**20:.1f} MB, over the "
                        f"{budget.limits.max_file_mb:g} MB limit",
                    )
                )
                continue
            budget.take(info.st_size)
            data = path.read_bytes()
            if name.lower().endswith(".zip"):
                yield from zip_entries(io.BytesIO(data), budget, report, rel + "!", 1)
                continue
            yield Entry(rel, data, dt.datetime.fromtimestamp(info.st_mtime, dt.UTC))
