"""How LMS exports name people and files: Canvas, Moodle and plain layouts (see
:mod:`convcourse.instructor.intake.ingest` for what each export carries).

Everything is compared after Unicode NFC normalisation: macOS writes names decomposed (NFD),
most other systems composed (NFC), and the same name must read the same either way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from convcourse.instructor.layout import SAFE_ID

__all__ = [
    "Who",
    "clean_name",
    "detect_lms",
    "identify",
    "name_id",
    "nfc",
    "resubmission",
    "student_id_from_name",
]

# <name>[_LATE]_<user id>_<file id>_<file>, or [LATE_]anon_<id>_<file id>_<file> (anonymous).
_CANVAS = re.compile(
    r"^(?:(?P<name>\w+?)_)??(?:(?P<late>LATE)_)?(?P<uid>\d+|anon_[A-Za-z0-9]+)_(?P<sub>\d+)_"
    r"(?P<file>.+)$"
)
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
_MOODLE_FLAT = re.compile(
    r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$"
)
_RESUBMIT = re.compile(r"^(?P<stem>.+?)(?:-(?P<n>\d+)| \((?P<p>\d+)\))$")


@dataclass(frozen=True)
class Who:
    """Whom an entry of the export belongs to, as the export names them."""

    identity: str  # "canvas:<user id>", "moodle:<participant id>" or "plain:<name>"
    lms_id: str | None
    name: str  # the name part of the export, NFC
    file: str  # the file's name (or path) in the submission
    late: bool | None = None  # the LMS's late flag, None where the export has none
    order: int | None = None  # the LMS's upload order (Canvas file id)

    def label(self) -> str:
        """How a report names the person: ``'smithjohn' (canvas id 101)``."""
        kind, _, key = self.identity.partition(":")
        if kind == "plain":
            return repr(key)
        return f"{self.name or 'anonymous'!r} ({kind} id {self.lms_id})"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean_name(name: str) -> str:
    """A file name safe to write: NFC, no folders, no control or reserved characters."""
    name = nfc(name).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = re.sub(r'[<>:"|?*\x00]', "_", name).strip().strip(".")
    return name[:200] or "unnamed"


def student_id_from_name(text: str) -> str:
    """``"Jane Doe"`` -> ``"jane_doe"``: ASCII, lower case, safe as a folder name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug[:64]


def resubmission(filename: str, want: str) -> int | None:
    """0 when ``filename`` is ``want``; n when it is ``want`` with a copy number n
    (``x-2.ipynb``, ``x (2).ipynb``); None when it is another file."""
    if filename.lower() == want.lower():
        return 0
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        return None
    m = _RESUBMIT.match(stem)
    if not m or f"{m.group('stem')}.{ext}".lower() != want.lower():
        return None
    return int(m.group("n") or m.group("p"))


def _top_parts(path: str) -> tuple[str, ...]:
    return PurePosixPath(nfc(path.split("!")[0])).parts


def detect_lms(paths: list[str]) -> str:
    """``"canvas"``, ``"moodle"`` or ``"plain"``: the convention most entries follow."""
    tops = [_top_parts(p) for p in paths]
    flat = [t[-1] for t in tops if len(t) == 1]
    firsts = {t[0] for t in tops if len(t) > 1}
    moodle = sum(bool(_MOODLE.match(f)) for f in firsts) + sum(
        bool(_MOODLE_FLAT.match(f)) for f in flat
    )
    if moodle and moodle >= max(1, (len(firsts) + len(flat)) // 2):
        return "moodle"
    if flat and sum(bool(_CANVAS.match(f)) for f in flat) >= max(1, len(flat) // 2):
        return "canvas"
    return "plain"


def identify(path: str, lms: str, assignment: str) -> Who | None:
    """Whom one entry belongs to, or None if it names nobody."""
    parts = _top_parts(path)
    inner_name = nfc(path.split("!")[-1]) if "!" in path else None
    if lms == "canvas":
        m = _CANVAS.match(parts[-1])
        if not m:
            return None
        uid = m.group("uid")
        return Who(
            identity=f"canvas:{uid}",
            lms_id=uid,
            name=m.group("name") or "",
            file=inner_name or m.group("file"),
            late=bool(m.group("late")),
            order=int(m.group("sub")),
        )
    if lms == "moodle":
        m = _MOODLE.match(parts[0]) if len(parts) > 1 else None
        rest = "/".join(parts[1:])
        if m is None and len(parts) == 1:
            m = _MOODLE_FLAT.match(parts[0])
            rest = m.group("file") if m else ""
        if not m or m.group("plugin") != "file":
            return None
        pid = m.group("pid")
        return Who(f"moodle:{pid}", pid, m.group("name").strip(), inner_name or rest)
    # plain: <student>/<assignment>/<file>, <student>/<file> or <student>.ipynb
    if len(parts) == 1:
        stem, _, ext = parts[0].rpartition(".")
        if ext.lower() != "ipynb" or not stem:
            return None
        return Who(f"plain:{stem}", None, stem, f"{assignment}.ipynb")
    rest = parts[1:]
    if len(rest) > 1 and rest[0] == assignment:
        rest = rest[1:]
    return Who(f"plain:{parts[0]}", None, parts[0], inner_name or "/".join(rest))


def name_id(who: Who) -> str | None:
    """The student id a person's name gives (before any collision is resolved)."""
    if who.lms_id and who.lms_id.startswith("anon_"):  # Canvas's anonymous grading
        return who.lms_id
    if who.identity.startswith("moodle:") and who.name.casefold() == "participant":
        return f"participant_{who.lms_id}"  # Moodle's blind marking: every name is the same
    if SAFE_ID.match(who.name):
        return who.name
    slug = student_id_from_name(who.name)
    return slug if slug and SAFE_ID.match(slug) else None
