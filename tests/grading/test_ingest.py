"""Ingesting LMS exports: Canvas and Moodle names mapped to student ids, hostile zips refused,
odd names handled, and the input never modified."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pytest

from convcourse.instructor.intake.ingest import (
    IngestError,
    IngestLimits,
    ingest,
    student_id_from_name,
)
from convcourse.instructor.layout import CourseLayout

A = "02_cross_correlation"
NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


@pytest.fixture
def layout(tmp_path) -> CourseLayout:
    root = tmp_path / "course"
    (root / "solutions" / A).mkdir(parents=True)
    (root / "solutions" / A / f"{A}.ipynb").write_bytes(NB)
    return CourseLayout.load(root)


def _zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _submitted(layout, student) -> dict[str, bytes]:
    folder = layout.submission_dir(student, A)
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def test_canvas_export(layout, tmp_path):
    export = _zip(
        tmp_path / "canvas.zip",
        {
            f"doejane_12345_678901_{A}.ipynb": NB,
            f"smithbob_LATE_23456_678902_{A}-1.ipynb": NB + b" ",
            "leeann_34567_678903_Copy of my notebook.ipynb": NB + b"  ",
            "leeann_34567_678903_helper.py": b"x = 1\n",
        },
    )
    before = _digest(export)
    report = ingest(layout, A, export)
    assert report.lms == "canvas" and report.exit_code() == 0
    assert _submitted(layout, "doejane") == {f"{A}.ipynb": NB}
    assert _submitted(layout, "smithbob") == {f"{A}.ipynb": NB + b" "}
    assert _submitted(layout, "leeann") == {f"{A}.ipynb": NB + b"  ", "helper.py": b"x = 1\n"}
    assert report.late == ["smithbob"]
    assert any("stored as" in n for n in report.notes)
    assert _digest(export) == before  # the original export is never modified
    by_id = ingest(layout, A, export, id_from="lms-id")
    assert set(by_id.written) == {"12345", "23456", "34567"}


def test_moodle_export_with_a_roster(layout, tmp_path):
    export = _zip(
        tmp_path / "moodle.zip",
        {
            f"Jane Doe_1001_assignsubmission_file_/{A}.ipynb": NB,
            "Zoë Åberg_1002_assignsubmission_file_/work/notebook.ipynb": NB + b" ",
            "Jane Doe_1001_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
        },
    )
    report = ingest(layout, A, export)
    assert report.lms == "moodle"
    assert set(report.written) == {"jane_doe", "zoe_aberg"}
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email\njdoe,Jane Doe,jd@x.org\nzaberg,Zoë Åberg,z@x.org\n")
    report = ingest(layout, A, export, roster=roster)
    assert set(report.written) == {"jdoe", "zaberg"}
    assert report.refused == [
        (
            "Jane Doe_1001_assignsubmission_onlinetext_/onlinetext.html",
            "does not follow the moodle naming",
        )
    ]


def test_plain_folder_and_reingest_is_idempotent(layout, tmp_path):
    src = tmp_path / "plain"
    (src / "alice" / A).mkdir(parents=True)
    (src / "alice" / A / f"{A}.ipynb").write_bytes(NB)
    (src / "bob").mkdir()
    (src / "bob" / f"{A} (2).ipynb").write_bytes(NB)
    (src / "carol.ipynb").write_bytes(NB)
    report = ingest(layout, A, src)
    assert set(report.written) == {"alice", "bob", "carol"}
    again = ingest(layout, A, src)
    assert again.written == {} and sorted(again.unchanged) == ["alice", "bob", "carol"]
    assert (src / "bob" / f"{A} (2).ipynb").exists()  # the input folder is only read


def test_zip_slip_entries_cannot_escape(layout, tmp_path):
    export = _zip(
        tmp_path / "slip.zip",
        {
            "../../../../tmp/evil.ipynb": NB,
            "/etc/evil.ipynb": NB,
            f"mallory/../../../{A}.ipynb": NB,
            f"mallory/{A}/..\\..\\evil.ipynb": NB,
        },
    )
    ingest(layout, A, export, lms="plain")
    written = [p for p in layout.root.rglob("*") if p.is_file()]
    assert all(layout.root in p.parents for p in written)
    assert not Path("/tmp/evil.ipynb").exists() and not Path("/etc/evil.ipynb").exists()
    for path in written:
        assert ".." not in path.relative_to(layout.root).parts


def test_zip_bombs_and_oversized_files_are_refused(layout, tmp_path):
    bomb = _zip(tmp_path / "bomb.zip", {f"eve/{A}.ipynb": b"\0" * (64 * 2**20)})
    report = ingest(layout, A, bomb, limits=IngestLimits(max_file_mb=256))
    assert report.refused and "zip bomb" in report.refused[0][1]
    big = _zip(tmp_path / "big.zip", {f"eve/{A}.ipynb": b"\0" * (3 * 2**20)})
    report = ingest(layout, A, big, limits=IngestLimits(max_file_mb=2))
    assert "over the 2 MB limit" in report.refused[0][1]
    with pytest.raises(IngestError, match="uncompressed"):
        ingest(layout, A, big, limits=IngestLimits(max_total_mb=1))
    assert not layout.submission_dir("eve", A).exists()


def test_a_zip_that_lies_about_its_sizes_stops_at_the_limit(layout, tmp_path):
    path = _zip(tmp_path / "liar.zip", {f"eve/{A}.ipynb": b"a" * (3 * 2**20)})
    data = bytearray(path.read_bytes())
    # Claim a tiny uncompressed size in the central directory and the local header.
    real = (3 * 2**20).to_bytes(4, "little")
    data = data.replace(real, (1000).to_bytes(4, "little"))
    path.write_bytes(bytes(data))
    report = ingest(layout, A, path, limits=IngestLimits(max_file_mb=1))
    assert report.refused and not layout.submission_dir("eve", A).exists()


def test_links_nested_zips_and_junk(layout, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(f"{A}.ipynb", NB)
    innermost = io.BytesIO()
    with zipfile.ZipFile(innermost, "w") as zf:
        zf.writestr("deeper.zip", inner.getvalue())
    export = _zip(
        tmp_path / "mixed.zip",
        {
            "frank/work.zip": inner.getvalue(),
            "grace/deep.zip": innermost.getvalue(),
            "__MACOSX/frank/._work.zip": b"junk",
            "heidi/.DS_Store": b"junk",
            f"heidi/{A}.ipynb": NB,
        },
        links={f"ivan/{A}.ipynb": "/etc/shadow"},
    )
    report = ingest(layout, A, export, lms="plain")
    assert _submitted(layout, "frank") == {f"{A}.ipynb": NB}
    assert _submitted(layout, "heidi") == {f"{A}.ipynb": NB}
    refused = dict(report.refused)
    assert refused[f"ivan/{A}.ipynb"] == "a symbolic link"
    assert refused["grace/deep.zip!deeper.zip"] == "a zip inside a zip inside the export"
    assert not layout.submission_dir("ivan", A).exists()


def test_odd_names(layout, tmp_path):
    export = _zip(
        tmp_path / "odd.zip",
        {
            f"Ünïcödé Stüdent/{A}.ipynb": NB,
            f"tab\tname/{A}.ipynb": NB,
            "judy/my notebook: final?.ipynb": NB,
        },
    )
    report = ingest(layout, A, export, lms="plain")
    assert "unicode_student" in report.written and "tab_name" in report.written
    assert _submitted(layout, "judy") == {f"{A}.ipynb": NB}
    assert student_id_from_name("  Ünïcödé  Stüdent ") == "unicode_student"


def test_not_a_zip_and_unknown_paths(layout, tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(IngestError, match="neither a folder nor a zip"):
        ingest(layout, A, bad)
    with pytest.raises(IngestError, match="does not exist"):
        ingest(layout, A, tmp_path / "nope.zip")
    with pytest.raises(IngestError, match="invalid assignment"):
        ingest(layout, "../x", tmp_path)
