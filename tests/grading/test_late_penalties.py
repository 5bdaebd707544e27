"""Late work through the whole round: the LMS's times, the course's due date, a resubmission
after the deadline, an extension granted afterwards -- ``convcourse autograde`` in the sandbox,
then the numbers as nbgrader's own Gradebook API and ``convcourse export`` read them.

Times are fixed: due 2026-11-20 23:59 in Berlin (22:59 UTC); the penalty is 10 % of the score
per started day late.
"""

from __future__ import annotations

import csv

import pytest
from course_builders import ASSIGNMENT, make_course
from grading_corpus import dumps
from ingest_corpus import NOTEBOOK, Member, canvas, write_zip
from nbgrader.api import Gradebook

from convcourse.instructor import cli
from convcourse.instructor.intake.ingest import ingest
from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.export import export_grades

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

LATE_RULES = f"""
c.Deadlines.duedates = {{"{ASSIGNMENT}": "2026-11-20T23:59:00+01:00"}}
c.AssignLatePenalties.plugin_class = "convcourse.instructor.recording.late_policy.PercentPerPeriod"
c.PercentPerPeriod.percent = 10
c.PercentPerPeriod.period = "day"
"""


def _autograde(root) -> int:
    return cli.main(
        ["autograde", ASSIGNMENT, "--course", str(root), "--workers", "2", "--no-progress"]
    )


def _ingest(layout, tmp_path, name, members, times):
    export = write_zip(tmp_path / f"{name}.zip", members)
    csv_path = tmp_path / f"{name}-times.csv"
    csv_path.write_text("user_id,submitted_at\n" + "".join(f"{u},{t}\n" for u, t in times))
    report = ingest(layout, ASSIGNMENT, export, times=csv_path)
    assert report.exit_code() == 0, report.text()


def _gradebook(root) -> dict:
    """student -> (timestamp, seconds late, raw score, penalty), read by nbgrader's API."""
    layout = CourseLayout.load(root)
    with Gradebook(layout.db_url, layout.course_id) as gb:
        return {
            s.student.id: (
                s.timestamp.isoformat(),
                s.total_seconds_late,
                s.score,
                s.late_submission_penalty,
            )
            for s in gb.find_assignment(ASSIGNMENT).submissions
        }


def test_late_work_from_the_lms_times_to_the_gradebook(
    tmp_path, sandbox_available, honest_nb, capsys
):
    root = make_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(LATE_RULES)
    layout = CourseLayout.load(root)
    work = dumps(honest_nb)
    _ingest(
        layout,
        tmp_path,
        "first",
        [
            Member(canvas("doejane", 301, 1, NOTEBOOK), work),
            Member(canvas("smithbob", 302, 2, NOTEBOOK, late=True), work),
        ],
        [(301, "2026-11-20T22:00:00Z"), (302, "2026-11-21T22:59:01Z")],  # bob: 1 day + 1 s
    )
    assert _autograde(root) == 0
    out = capsys.readouterr().out
    assert "due 2026-11-20 22:59:00 UTC; late penalty: 10% of the score per started day late" in out
    assert "late: 1: smithbob (1 d 0 h 0 min 1 s, -" in out
    gb = _gradebook(root)
    score = gb["doejane"][2]
    assert score > 0
    assert gb["doejane"] == ("2026-11-20T22:00:00", 0, score, 0.0)
    assert gb["smithbob"][1] == 86401
    assert gb["smithbob"][3] == pytest.approx(0.2 * score)  # two started days

    # Jane hands in again after the deadline: the later time counts (as nbgrader's collect
    # takes the newest submission), and only she is graded again.
    _ingest(
        layout,
        tmp_path,
        "second",
        [Member(canvas("doejane", 301, 3, NOTEBOOK), work)],
        [(301, "2026-11-21T10:00:00Z")],  # 11 h 1 min late: one started day
    )
    assert _autograde(root) == 0
    out = capsys.readouterr().out
    assert "1 graded, 1 unchanged (skipped)" in out
    gb = _gradebook(root)
    assert gb["doejane"][:2] == ("2026-11-21T10:00:00", 11 * 3600 + 60)
    assert gb["doejane"][3] == pytest.approx(0.1 * score)

    # An extension granted afterwards: the same command, nothing regraded, the penalty gone.
    (root / "extensions.csv").write_text(
        f"student_id,assignment,due,extra_hours\ndoejane,{ASSIGNMENT},,24\n"
    )
    assert _autograde(root) == 0
    assert "2 unchanged (skipped)" in capsys.readouterr().out
    gb = _gradebook(root)
    assert gb["doejane"][1:] == (0, score, 0.0)
    assert gb["smithbob"][3] == pytest.approx(0.2 * score)

    with open(export_grades(root, tmp_path / "grades.csv"), encoding="utf-8", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    jane, bob = rows["doejane"], rows["smithbob"]
    assert (jane["late_submission_penalty"], jane["seconds_late"], jane["late"]) == (
        "0.0",
        "0.0",
        "no",
    )
    assert jane["student_duedate"] == "2026-11-21T22:59:00+00:00"
    assert float(bob["late_submission_penalty"]) == pytest.approx(0.2 * score)
    assert float(bob["score"]) == pytest.approx(0.8 * score)
    assert (bob["seconds_late"], bob["late"], bob["timestamp_source"]) == ("86401.0", "yes", "lms")

    # A typo in the extensions file stops the next run before anything is graded (exit 2).
    (root / "extensions.csv").write_text(
        f"student_id,assignment,due,extra_hours\ndoejnae,{ASSIGNMENT},,24\n"
    )
    assert _autograde(root) == 2
    assert "line 2: unknown student 'doejnae'" in capsys.readouterr().err
    assert _gradebook(root)["doejane"][3] == 0.0  # the gradebook is as the last good run left it
