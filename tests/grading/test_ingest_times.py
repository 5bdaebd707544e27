"""Which copy is kept and when it was handed in: resubmissions by number, submission times only
from the LMS (or a file's own time, said so), never from a student's timestamp.txt, the LMS's
late flag kept, and a record of every ingest outside ``submitted/`` that the grader reads."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from ingest_corpus import (
    FORMULA,
    NOTEBOOK,
    T0,
    A,
    Member,
    canvas,
    canvas_resubmissions,
    canvas_with_late_flags,
    notebook,
    plain_with_student_timestamp,
    write_zip,
)

from convcourse.instructor.cli import main
from convcourse.instructor.grading.batch import _note_time, read_submission
from convcourse.instructor.intake.ingest import IngestError, ingest
from convcourse.instructor.intake.ingest_record import SubmissionTime, submission_times
from convcourse.instructor.layout import CourseLayout


@pytest.fixture
def layout(tmp_path) -> CourseLayout:
    root = tmp_path / "course"
    (root / "solutions" / A).mkdir(parents=True)
    (root / "solutions" / A / NOTEBOOK).write_bytes(notebook("instructor"))
    return CourseLayout.load(root)


def tag(layout, student) -> str:
    data = (layout.submission_dir(student, A) / NOTEBOOK).read_bytes()
    return json.loads(data)["metadata"]["tag"]


def record(layout) -> dict:
    return json.loads((layout.root / ".grading" / "ingest" / f"{A}.json").read_text())


def test_the_highest_copy_number_wins_then_the_lms_upload_order(layout, tmp_path):
    report = ingest(layout, A, write_zip(tmp_path / "c.zip", canvas_resubmissions()))
    assert tag(layout, "doejane") == "tenth"  # -10 after -2: numbers, not strings
    assert tag(layout, "leeann") == "later-upload"  # same name: Canvas's later file id
    (doe,) = [n for n in report.notes if n.startswith("doejane:")]
    assert "kept 'doejane_301_510_02_cross_correlation-10.ipynb' (copy number 10" in doe
    (lee,) = [n for n in report.notes if n.startswith("leeann:")]
    assert "kept 'leeann_302_601_" in lee and "LMS file id 601" in lee
    ignored = record(layout)["students"]["doejane"][-1]["ignored"]
    assert sorted(i["source"] for i in ignored) == [
        "doejane_301_500_02_cross_correlation.ipynb",
        "doejane_301_502_02_cross_correlation-2.ipynb",
    ]


def test_browser_copy_numbers_and_file_times_break_ties(layout, tmp_path):
    members = [
        Member(f"eve/{A} (10).ipynb", notebook("ten"), T0),
        Member(f"eve/{A} (9).ipynb", notebook("nine"), T0 + dt.timedelta(hours=1)),
        Member(f"fay/a/{NOTEBOOK}", notebook("older"), T0),
        Member(f"fay/b/{NOTEBOOK}", notebook("newer"), T0 + dt.timedelta(minutes=5)),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "p.zip", members), lms="plain")
    assert tag(layout, "eve") == "ten" and tag(layout, "fay") == "newer"
    assert any("the newest file time, 2026-11-20T12:05:00+00:00" in n for n in report.notes)


def test_a_students_timestamp_txt_is_never_the_submission_time(layout, tmp_path):
    report = ingest(layout, A, write_zip(tmp_path / "p.zip", plain_with_student_timestamp()))
    folder = layout.submission_dir("alice", A)
    assert sorted(p.name for p in folder.iterdir()) == [NOTEBOOK]
    assert any("ignored the submission's own timestamp.txt" in n for n in report.notes)
    times = submission_times(layout, A)
    # The file's own time (the zip entry's UTC timestamp), and said so.
    assert times["alice"] == SubmissionTime("2026-11-20T15:00:00+00:00", "file", None)
    assert times["bob"] == SubmissionTime("2026-11-20T11:00:00+00:00", "file", None)
    # A timestamp.txt planted in submitted/ afterwards changes nothing the grader believes.
    (folder / "timestamp.txt").write_text("2020-01-01 00:00:00 UTC\n")
    files, digest, notes, timestamp = read_submission(folder, times["alice"])
    assert timestamp == "2026-11-20T15:00:00+00:00" and "timestamp.txt" not in files
    assert any("timestamp.txt ignored" in n for n in notes)
    assert read_submission(folder)[3] is None  # no record: no time, rather than a guess
    # A corrected record is a different submission for the "already graded?" check.
    assert read_submission(folder, SubmissionTime(timestamp, "lms", True))[1] != digest
    result = {}
    _note_time(result, times["alice"])
    assert result == {"timestamp_source": "file", "late": None}


def test_canvas_late_flag_is_kept_and_no_time_is_invented(layout, tmp_path):
    export = write_zip(tmp_path / "c.zip", canvas_with_late_flags())
    report = ingest(layout, A, export)
    assert report.late == ["smithbob"]
    times = submission_times(layout, A)
    assert times["smithbob"] == SubmissionTime(None, None, True)
    assert times["doejane"] == SubmissionTime(None, None, False)
    assert any("carries no submission times" in n for n in report.notes)


def test_the_lms_times_file_gives_the_time_and_the_late_flag(layout, tmp_path):
    export = write_zip(tmp_path / "c.zip", canvas_with_late_flags())
    times_csv = tmp_path / "times.csv"
    times_csv.write_text(
        "user_id,submitted_at,late\n301,2026-11-20T11:59:00Z,false\n303,2026-11-21T09:30:00+01:00,\n"
    )
    code = main(["ingest", A, str(export), "--course", str(layout.root), "--times", str(times_csv)])
    assert code == 0
    times = submission_times(layout, A)
    assert times["doejane"] == SubmissionTime("2026-11-20T11:59:00+00:00", "lms", False)
    # No late value in the file: Canvas's own LATE flag still holds.
    assert times["smithbob"] == SubmissionTime("2026-11-21T08:30:00+00:00", "lms", True)
    history = record(layout)["students"]["smithbob"]
    assert [h["timestamp_source"] for h in history] == ["lms"]


def test_a_time_without_its_zone_is_refused(layout, tmp_path, capsys):
    export = write_zip(tmp_path / "c.zip", canvas_with_late_flags())
    times_csv = tmp_path / "times.csv"
    times_csv.write_text("lms_id,submitted_at\n301,2026-11-20 11:59\n")
    with pytest.raises(IngestError, match="line 2: '2026-11-20 11:59' is not an ISO 8601 time"):
        ingest(layout, A, export, times=times_csv)
    code = main(["ingest", A, str(export), "--course", str(layout.root), "--times", str(times_csv)])
    assert code == 2 and "UTC offset" in capsys.readouterr().err
    assert not (layout.root / "submitted").exists()


def test_the_record_accumulates_a_history_per_student(layout, tmp_path):
    first = write_zip(
        tmp_path / "first.zip", [Member(canvas("doejane", 301, 1, NOTEBOOK), notebook("v1"))]
    )
    second = write_zip(
        tmp_path / "second.zip",
        [
            Member(canvas("doejane", 301, 2, NOTEBOOK, late=True), notebook("v2")),
            Member(canvas("leeann", 302, 3, NOTEBOOK), notebook("lee")),
        ],
    )
    ingest(layout, A, first)
    ingest(layout, A, second)
    ingest(layout, A, second)  # unchanged: a run in the log, no new history entry
    data = record(layout)
    assert [run["export"] for run in data["ingests"]] == [
        str(first),
        str(second),
        str(second),
    ]
    assert data["ingests"][2]["unchanged"] == ["doejane", "leeann"]
    doe = data["students"]["doejane"]
    assert [(h["ingest"], h["export"], h["late"]) for h in doe] == [
        (1, str(first), False),
        (2, str(second), True),
    ]
    assert [h["files"][0]["source"] for h in doe] == [
        f"doejane_301_1_{NOTEBOOK}",
        f"doejane_LATE_301_2_{NOTEBOOK}",
    ]
    assert all(h["identity"] == "canvas:301" and h["lms_id"] == "301" for h in doe)
    assert [p.name for p in (layout.root / ".grading" / "ingest").iterdir()] == [
        f"{A}.json",
        f"{A}.lock",
    ]  # no temporary file left behind
    assert submission_times(layout, A)["doejane"].late is True  # the latest entry counts


def test_a_dry_run_writes_nothing(layout, tmp_path):
    report = ingest(layout, A, write_zip(tmp_path / "c.zip", canvas_resubmissions()), dry_run=True)
    assert set(report.written) == {"doejane", "leeann"}
    assert not (layout.root / "submitted").exists() and not (layout.root / ".grading").exists()


def test_formula_and_control_characters_in_names_are_shown_harmlessly(layout, tmp_path):
    src = tmp_path / "plain" / "mallory"
    src.mkdir(parents=True)
    (src / f"{FORMULA}.ipynb").write_bytes(notebook("formula"))
    (src / "\x1b[2Jlink.py").symlink_to("/etc/passwd")  # a terminal escape in a name
    report = ingest(layout, A, src.parent)
    assert tag(layout, "mallory") == "formula"
    assert report.refused == [("mallory/\x1b[2Jlink.py", "not a regular file")]
    text = report.text()
    assert "\x1b" not in text and "refused mallory/\\x1b[2Jlink.py" in text
    assert f"'{FORMULA}.ipynb' stored as {NOTEBOOK}" in text


def test_a_record_of_the_first_format_is_kept_not_lost(layout, tmp_path):
    path = layout.root / ".grading" / "ingest" / f"{A}.json"
    path.parent.mkdir(parents=True)
    old = {"assignment_id": A, "lms": "plain", "files": [{"source": "x", "student_id": "x"}]}
    path.write_text(json.dumps(old))
    ingest(layout, A, write_zip(tmp_path / "c.zip", canvas_with_late_flags()))
    data = record(layout)
    assert data["legacy"] == [old] and len(data["ingests"]) == 1
    path.write_text("{not json")
    with pytest.raises(IngestError, match="unreadable"):
        ingest(layout, A, write_zip(tmp_path / "c.zip", canvas_with_late_flags()))
    assert submission_times(layout, A) == {}  # the grader then knows no time, guesses none
