"""Bringing submissions in: a folder, or the zip file an LMS exports, into nbgrader's layout.

    submitted/<student_id>/<assignment>/<notebook>.ipynb

Supported naming conventions (``--lms auto`` recognises them):

- **Canvas** ("Download Submissions"): ``doejane_12345_678901_02_cross_correlation.ipynb``, late
  ones ``doejane_LATE_12345_678901_...``, resubmissions with ``-1``, ``-2`` before the suffix.
  The student id is the name part (``doejane``), or the Canvas user id with ``--id-from lms-id``.
- **Moodle** ("Download all submissions"): one folder per student,
  ``Jane Doe_12345_assignsubmission_file_/02_cross_correlation.ipynb``; the student id is the
  name in lower case with ``_`` for spaces (``jane_doe``), or the participant id.
- **Plain**: ``<student>/<notebook>.ipynb``, ``<student>/<assignment>/<notebook>.ipynb`` or
  ``<student>.ipynb``.

A roster CSV (``--roster``, a ``student_id`` column and any of ``lms_id``, ``name``, ``email``,
``login``) maps LMS identities to the course's ids.

The input is only ever read.  Zip entries never choose where anything is written (no
zip-slip): the destination is built from the sanitized student id and file name.  Entries that
are links, encrypted, nested too deep, too many, too large, or that inflate suspiciously (zip
bombs) are refused with a note, and decompression stops at the byte limit whatever the header
claims.  A student's notebook is stored under the assignment's notebook name (when there is
exactly one), byte for byte; the mapping is saved in ``.grading/ingest/<assignment>.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from convcourse.instructor.layout import SAFE_ID, ConfigError, CourseLayout

__all__ = ["IngestLimits", "IngestReport", "ingest", "student_id_from_name", "IngestError"]


class IngestError(ConfigError):
    """The input cannot be ingested at all (missing, not a zip or folder, a bomb, ...)."""


@dataclass(frozen=True)
class IngestLimits:
    max_file_mb: float = 32.0  # one file, uncompressed
    max_total_mb: float = 2048.0  # the whole export, uncompressed
    max_entries: int = 20_000
    max_ratio: float = 200.0  # uncompressed / compressed size for entries over 1 MB
    max_depth: int = 1  # zips inside the export (students who zipped their notebook)


@dataclass
class Item:
    """One file of one student, found in the input."""

    student: str
    name: str  # the file name the student gave it (sanitized)
    data: bytes
    source: str  # where it came from in the input
    late: bool = False


@dataclass
class IngestReport:
    assignment_id: str
    written: dict[str, list[str]] = field(default_factory=dict)  # student -> files
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)
    notes: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    lms: str = ""

    def exit_code(self) -> int:
        return 1 if self.refused else 0

    def text(self) -> str:
        lines = [
            f"{self.assignment_id} ({self.lms}): {len(self.written)} submission(s) written, "
            f"{len(self.unchanged)} unchanged, {len(self.refused)} file(s) refused"
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  refused {entry}: {why}" for entry, why in self.refused]
        if self.late:
            lines.append(f"  marked late by the LMS: {', '.join(sorted(self.late))}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------- file names

_JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|__pycache__|\.DS_Store|Thumbs\.db)(/|$)")
_CANVAS = re.compile(
    r"^(?P<name>[a-z0-9]+?)(?:_(?P<late>LATE))?_(?P<uid>\d+)_(?P<sub>\d+)_(?P<file>.+)$"
)
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
_RESUBMIT = re.compile(r"^(?P<stem>.+?)(?:-\d+| \(\d+\))$")


def clean_name(name: str) -> str:
    """A file name safe to write: NFC, no folders, no control or reserved characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = re.sub(r'[<>:"|?*\x00]', "_", name).strip().strip(".")
    return name[:200] or "unnamed"


def student_id_from_name(text: str) -> str:
    """``"Jane Doe"`` -> ``"jane_doe"``: ASCII, lower case, safe as a folder name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug[:64]


def _without_resubmit_suffix(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        return filename
    m = _RESUBMIT.match(stem)
    return f"{m.group('stem')}.{ext}" if m else filename


# ---------------------------------------------------------------------------------- rosters


def load_roster(path: Path) -> dict[str, str]:
    """``identity -> student_id`` from a CSV with a ``student_id`` column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read the roster {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "student_id" not in reader.fieldnames:
        raise IngestError(f"the roster {path} needs a 'student_id' column")
    table: dict[str, str] = {}
    for row in reader:
        sid = (row.get("student_id") or "").strip()
        if not sid:
            continue
        if not SAFE_ID.match(sid):
            raise IngestError(f"the roster {path} has an unusable student id {sid!r}")
        for key in ("lms_id", "name", "email", "login", "student_id"):
            value = (row.get(key) or "").strip()
            if value:
                table[value.lower()] = sid
                table[student_id_from_name(value)] = sid
    return table


# ------------------------------------------------------------------------------- the inputs


class _Budget:
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


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
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


def _zip_entries(data_or_path, budget: _Budget, report: IngestReport, prefix: str, depth: int):
    """``(path inside the input, bytes)`` of the regular files of a zip (recursing into zips)."""
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
            if info.is_dir() or _JUNK.search(info.filename) or "/._" in "/" + info.filename:
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
                data = _read_member(zf, info, budget)
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
                inner_prefix = where + "!"
                for inner, inner_data, _ in _zip_entries(
                    io.BytesIO(data), budget, report, inner_prefix, depth + 1
                ):
                    yield inner, inner_data, info.filename
                continue
            yield where, data, None


def _folder_entries(folder: Path, budget: _Budget, report: IngestReport):
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _JUNK.search(d + "/"))
        for name in sorted(names):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if _JUNK.search(rel) or name.startswith("._"):
                continue
            if path.is_symlink() or not path.is_file():
                report.refused.append((rel, "not a regular file"))
                continue
            size = path.stat().st_size
            if size > budget.limits.max_file_mb * 2**20:
                report.refused.append(
                    (rel, f"{size / 2**20:.1f} MB, over the {budget.limits.max_file_mb:g} MB limit")
                )
                continue
            budget.take(size)
            data = path.read_bytes()
            if name.lower().endswith(".zip"):
                for inner, inner_data, _ in _zip_entries(
                    io.BytesIO(data), budget, report, rel + "!", 1
                ):
                    yield inner, inner_data, rel
                continue
            yield rel, data, None


# ---------------------------------------------------------------------- who submitted what


def _detect_lms(paths: list[str]) -> str:
    tops = [PurePosixPath(p.split("!")[0]).parts for p in paths]
    flat = [t[-1] for t in tops if len(t) == 1]
    if flat and sum(bool(_CANVAS.match(f)) for f in flat) >= max(1, len(flat) // 2):
        return "canvas"
    firsts = {t[0] for t in tops if len(t) > 1}
    if firsts and sum(bool(_MOODLE.match(f)) for f in firsts) >= max(1, len(firsts) // 2):
        return "moodle"
    return "plain"


def _identify(path: str, lms: str, assignment: str, id_from: str):
    """``(student identity, file name, late)`` for one entry, or None if it names nobody."""
    outer = path.split("!")[0]
    parts = PurePosixPath(outer).parts
    inner_name = path.split("!")[-1] if "!" in path else None
    if lms == "canvas":
        m = _CANVAS.match(parts[-1])
        if not m:
            return None
        ident = m.group("uid") if id_from == "lms-id" else m.group("name")
        name = inner_name or m.group("file")
        return ident, name, bool(m.group("late"))
    if lms == "moodle":
        if len(parts) < 2:
            return None
        m = _MOODLE.match(parts[0])
        if not m or m.group("plugin") != "file":
            return None
        ident = m.group("pid") if id_from == "lms-id" else m.group("name")
        return ident, inner_name or "/".join(parts[1:]), False
    # plain: <student>/<assignment>/<file>, <student>/<file> or <student>.ipynb
    if len(parts) == 1:
        stem, _, ext = parts[0].rpartition(".")
        if ext.lower() != "ipynb" or not stem:
            return None
        return stem, f"{assignment}.ipynb", False
    rest = parts[1:]
    if len(rest) > 1 and rest[0] == assignment:
        rest = rest[1:]
    return parts[0], inner_name or "/".join(rest), False


def _resolve(identity: str, roster: dict[str, str] | None) -> str | None:
    if roster is not None:
        return roster.get(identity.lower()) or roster.get(student_id_from_name(identity))
    if SAFE_ID.match(identity):
        return identity
    slug = student_id_from_name(identity)
    return slug if slug and SAFE_ID.match(slug) else None


def ingest(
    layout: CourseLayout,
    assignment_id: str,
    source: Path,
    *,
    lms: str = "auto",
    roster: Path | None = None,
    id_from: str = "name",
    limits: IngestLimits | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Copy the submissions in ``source`` (zip or folder) into ``submitted/``."""
    if not SAFE_ID.match(assignment_id):
        raise IngestError(f"invalid assignment id {assignment_id!r}")
    source = Path(source)
    if not source.exists():
        raise IngestError(f"{source} does not exist")
    limits = limits or IngestLimits()
    report = IngestReport(assignment_id)
    budget = _Budget(limits)
    if source.is_dir():
        entries = list(_folder_entries(source, budget, report))
    elif zipfile.is_zipfile(source):
        entries = list(_zip_entries(source, budget, report, "", 0))
    else:
        raise IngestError(f"{source} is neither a folder nor a zip file")
    report.lms = _detect_lms([p for p, _, _ in entries]) if lms == "auto" else lms
    table = load_roster(roster) if roster else None
    items: list[Item] = []
    for path, data, _outer in entries:
        found = _identify(path, report.lms, assignment_id, id_from)
        if found is None:
            report.refused.append((path, f"does not follow the {report.lms} naming"))
            continue
        identity, name, late = found
        student = _resolve(identity, table)
        if student is None:
            why = "not in the roster" if table is not None else "no usable student id"
            report.refused.append((path, f"{why} ({identity!r})"))
            continue
        name = clean_name(name)
        items.append(Item(student, name, data, path, late))
    expected = _expected_notebooks(layout, assignment_id)
    by_student: dict[str, list[Item]] = {}
    for item in items:
        by_student.setdefault(item.student, []).append(item)
    for student, student_items in sorted(by_student.items()):
        files = _arrange(student, student_items, expected, report)
        if any(i.late for i in student_items):
            report.late.append(student)
        if dry_run:
            report.written[student] = sorted(files)
            continue
        if _store(layout, assignment_id, student, files):
            report.written[student] = sorted(files)
        else:
            report.unchanged.append(student)
    if not dry_run:
        _save_manifest(layout, assignment_id, report, items)
    return report


def _expected_notebooks(layout: CourseLayout, assignment_id: str) -> list[str]:
    folder = layout.source_dir(assignment_id)
    names = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    return names or [f"{assignment_id}.ipynb"]


def _arrange(student: str, items: list[Item], expected: list[str], report) -> dict[str, bytes]:
    """File name -> bytes for one student: notebooks under the assignment's names."""
    files: dict[str, bytes] = {}
    notebooks = [i for i in items if i.name.lower().endswith(".ipynb")]
    others = [i for i in items if not i.name.lower().endswith(".ipynb")]
    for want in expected:
        exact = [i for i in notebooks if _without_resubmit_suffix(i.name).lower() == want.lower()]
        pick = None
        if exact:
            pick = max(exact, key=lambda i: (i.name.lower() != want.lower(), i.name))
        elif len(notebooks) == 1 and len(expected) == 1:
            pick = notebooks[0]
            report.notes.append(f"{student}: {pick.name!r} stored as {want}")
        if pick is None:
            continue
        if len(exact) > 1:
            report.notes.append(f"{student}: several copies of {want}; kept {pick.name!r}")
        files[want] = pick.data
        notebooks = [i for i in notebooks if i is not pick and i not in exact]
    for item in notebooks:
        report.notes.append(f"{student}: extra notebook {item.name!r} kept beside the others")
        files.setdefault(item.name, item.data)
    for item in others:
        files.setdefault(item.name, item.data)
    return files


def _store(layout: CourseLayout, assignment_id: str, student: str, files: dict) -> bool:
    """Write the student's folder atomically; False when it already holds exactly these files."""
    dest = layout.submission_dir(student, assignment_id)
    if dest.is_dir():
        current = {
            p.name: p.read_bytes()
            for p in dest.iterdir()
            if p.is_file() and not p.is_symlink() and p.name != "timestamp.txt"
        }
        if current == files:
            return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{student}-", dir=dest.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return True


def _save_manifest(layout: CourseLayout, assignment_id: str, report: IngestReport, items) -> None:
    path = layout.root / ".grading" / "ingest" / f"{assignment_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "assignment_id": assignment_id,
        "lms": report.lms,
        "files": [
            {"source": i.source, "student_id": i.student, "name": i.name, "late": i.late}
            for i in items
        ],
        "refused": [{"source": s, "why": w} for s, w in report.refused],
        "notes": report.notes,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
