"""LMS exports built in code for the ingest tests, named as Canvas and Moodle name them (see the
docstring of convcourse/instructor/ingest.py): the cases an audit found merged, misordered or
misdated -- namesakes, one name in two Unicode forms, resubmissions -2 and -10, a student's own
timestamp.txt, late flags, file names that are spreadsheet formulas.

Every notebook carries a tag (``notebook("x")``) so a test can tell which copy was kept.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

A = "02_cross_correlation"
NOTEBOOK = f"{A}.ipynb"
# One person, written composed (most systems) and decomposed (macOS).
JOSE_NFC = unicodedata.normalize("NFC", "José García")
JOSE_NFD = unicodedata.normalize("NFD", "José García")
# Canvas's name part is the sortable name, lower case, non-word characters removed.
GARCIA_NFC = unicodedata.normalize("NFC", "garcíajosé")
GARCIA_NFD = unicodedata.normalize("NFD", "garcíajosé")
FORMULA = "=HYPERLINK(evil.example,open me)"  # a file name a spreadsheet would run
T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def notebook(tag: str) -> bytes:
    """A valid, empty notebook that says which copy it is."""
    nb = {"cells": [], "metadata": {"tag": tag}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb) + "\n").encode()


@dataclass
class Member:
    """One entry of a zip; ``time`` (aware) is written as the entry's extended timestamp."""

    name: str
    data: bytes
    time: dt.datetime | None = None


def write_zip(path: Path, members: list[Member]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in members:
            when = m.time or T0
            info = zipfile.ZipInfo(m.name, date_time=when.astimezone(dt.UTC).timetuple()[:6])
            if m.time is not None:
                # The "UT" extra field: flags (mtime present) + the Unix time, which is UTC.
                info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(m.time.timestamp()))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, m.data)
    return path


def canvas(name: str, uid: int | str, file_id: int, filename: str, late: bool = False) -> str:
    """``doejane[_LATE]_<user id>_<file id>_<file name>``, as Canvas's "Download Submissions"."""
    prefix = f"{name}_" if name else ""
    return f"{prefix}{'LATE_' if late else ''}{uid}_{file_id}_{filename}"


def moodle(full_name: str, pid: int, path: str) -> str:
    """``<full name>_<participant id>_assignsubmission_file_/<path>``, as Moodle's download."""
    return f"{full_name}_{pid}_assignsubmission_file_/{path}"


def canvas_namesakes() -> list[Member]:
    """Two different John Smiths, and two different José Garcías (one typed NFC, one NFD)."""
    return [
        Member(canvas("smithjohn", 101, 9001, NOTEBOOK), notebook("smith-101")),
        Member(canvas("smithjohn", 102, 9002, NOTEBOOK), notebook("smith-102")),
        Member(canvas(GARCIA_NFC, 201, 9003, NOTEBOOK), notebook("garcia-201")),
        Member(canvas(GARCIA_NFD, 202, 9004, NOTEBOOK), notebook("garcia-202")),
        Member(canvas("doejane", 301, 9005, NOTEBOOK), notebook("doe-301")),
    ]


def moodle_namesakes() -> list[Member]:
    """Two Jane Does, and José García written NFC by one person and NFD by another."""
    return [
        Member(moodle("Jane Doe", 1001, NOTEBOOK), notebook("jane-1001")),
        Member(moodle("Jane Doe", 1002, NOTEBOOK), notebook("jane-1002")),
        Member(moodle(JOSE_NFC, 2001, NOTEBOOK), notebook("jose-2001")),
        Member(moodle(JOSE_NFD, 2002, NOTEBOOK), notebook("jose-2002")),
    ]


def canvas_resubmissions() -> list[Member]:
    """doejane uploaded the notebook three times (Canvas renamed the copies -2 and -10, its file
    ids grow with each upload); leeann has two files of one name, told apart by file id only."""
    stem = NOTEBOOK.removesuffix(".ipynb")
    return [
        Member(canvas("doejane", 301, 500, NOTEBOOK), notebook("first")),
        Member(canvas("doejane", 301, 510, f"{stem}-10.ipynb"), notebook("tenth")),
        Member(canvas("doejane", 301, 502, f"{stem}-2.ipynb"), notebook("second")),
        Member(canvas("leeann", 302, 601, NOTEBOOK), notebook("later-upload")),
        Member(canvas("leeann", 302, 600, NOTEBOOK), notebook("earlier-upload")),
    ]


def canvas_with_late_flags() -> list[Member]:
    """smithbob handed in late (Canvas's LATE), doejane on time; no times in the zip."""
    return [
        Member(canvas("doejane", 301, 700, NOTEBOOK), notebook("on-time")),
        Member(canvas("smithbob", 303, 701, NOTEBOOK, late=True), notebook("late")),
    ]


def plain_with_student_timestamp() -> list[Member]:
    """alice's folder holds nbgrader's timestamp.txt, written by alice, claiming an early time."""
    return [
        Member(f"alice/{A}/{NOTEBOOK}", notebook("alice"), T0 + dt.timedelta(hours=3)),
        Member(f"alice/{A}/timestamp.txt", b"2020-01-01 00:00:00.000000 UTC\n", T0),
        Member(f"bob/{NOTEBOOK}", notebook("bob"), T0 - dt.timedelta(hours=1)),
    ]
