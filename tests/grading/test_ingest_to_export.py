"""From the LMS export to the grades CSV: the submission time the gradebook and the CSV show is
the LMS's, the student's own timestamp.txt is ignored, and the LMS's late flag reaches the CSV
(here the gradebook has no due date, so seconds_late stays empty rather than 0)."""

from __future__ import annotations

import csv
import json

from course_builders import ASSIGNMENT, make_course
from ingest_corpus import NOTEBOOK, Member, canvas, write_zip

from convcourse.instructor.grading.batch import BatchOptions, autograde
from convcourse.instructor.intake.ingest import ingest
from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.export import export_grades


def test_lms_time_and_late_flag_reach_the_gradebook_and_the_csv(tmp_path):
    root = make_course(tmp_path / "course")
    layout = CourseLayout.load(root)
    broken = b"not a notebook"  # graded "invalid" at once: no student code runs
    export = write_zip(
        tmp_path / "canvas.zip",
        [
            Member(canvas("doejane", 301, 1, NOTEBOOK), broken),
            Member(canvas("doejane", 301, 2, "timestamp.txt"), b"2020-01-01 00:00:00 UTC\n"),
            Member(canvas("smithbob", 302, 3, NOTEBOOK, late=True), broken),
        ],
    )
    times = tmp_path / "times.csv"
    times.write_text("user_id,submitted_at\n301,2026-11-20T11:00:00Z\n")
    report = ingest(layout, ASSIGNMENT, export, times=times)
    assert report.exit_code() == 0 and set(report.written) == {"doejane", "smithbob"}

    options = BatchOptions(workers=1, sandboxed=False, progress=False)
    summary = autograde(layout, ASSIGNMENT, options)
    assert summary.graded == {"doejane": "invalid", "smithbob": "invalid"}
    results = layout.results_file(ASSIGNMENT, "doejane")
    data = json.loads(results.read_text(encoding="utf-8"))
    assert (data["timestamp"], data["timestamp_source"], data["late"]) == (
        "2026-11-20T11:00:00+00:00",
        "lms",
        False,  # Canvas named the file without LATE
    )
    assert "timestamp.txt" not in data["status_detail"]  # never stored: nothing to note

    out = export_grades(root, tmp_path / "grades.csv")
    with open(out, encoding="utf-8", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    doe, bob = rows["doejane"], rows["smithbob"]
    assert (doe["timestamp"], doe["timestamp_source"], doe["late"]) == (
        "2026-11-20T11:00:00+00:00",
        "lms",
        "no",
    )
    assert (bob["timestamp"], bob["timestamp_source"], bob["late"]) == ("", "", "yes")
    assert doe["seconds_late"] == bob["seconds_late"] == ""  # no due date in the gradebook
