"""Due dates, extensions and penalties written into a real nbgrader gradebook, and read back by
nbgrader itself (its Gradebook API and its own CSV export) and by convcourse's export, feedback
page and report.

The gradebook is built with nbgrader's API (one assignment, two notebooks of 6 and 4 points) and
every time is fixed, so nothing depends on the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from convcourse.instructor.layout import CourseLayout, nbgrader_config
from convcourse.instructor.recording.deadlines import DeadlineError, load_deadlines
from convcourse.instructor.recording.gradebook import scripts_on_path
from convcourse.instructor.recording.late_policy import load_policy
from convcourse.instructor.recording.lateness import apply_lateness, late_by_words, plan_lateness
from convcourse.instructor.reporting.export import export_grades
from convcourse.instructor.reporting.feedback import generate_feedback
from convcourse.instructor.reporting.reports import build_report

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

A = "02_cross_correlation"
NOTEBOOKS = {"part1": 6.0, "part2": 4.0}  # max points; every student scores 5 + 3 = 8
DUE = dt.datetime(2026, 11, 20, 22, 59, 0)  # naive UTC, as nbgrader stores it
SECOND, HOUR, DAY = dt.timedelta(seconds=1), dt.timedelta(hours=1), dt.timedelta(days=1)
PERCENT_PER_HOUR = """
c.AssignLatePenalties.plugin_class = "convcourse.instructor.recording.late_policy.PercentPerPeriod"
c.PercentPerPeriod.percent = 10
c.PercentPerPeriod.period = "hour"
c.PercentPerPeriod.cap_percent = 50
"""
# student -> submission time (None: unknown)
TIMES = {
    "early": DUE - HOUR,
    "exact": DUE,  # 0 s late: on time
    "onesec": DUE + SECOND,  # one started hour: 10 %
    "hours": DUE + 2 * HOUR,  # late, but has 3 extra hours
    "newdue": DUE + DAY,  # late, but due a day and a half later
    "pastext": DUE + 3 * HOUR + SECOND,  # 3 extra hours, one second past them: 10 %
    "capped": DUE + 30 * DAY,  # 720 started hours: the 50 % cap
    "notime": None,
}
EXTENSIONS = f"""student_id,assignment,due,extra_hours,note
hours,{A},,3,
newdue,{A},2026-11-22T10:59:00Z,,
pastext,{A},,3,
"""


def _config(duedate: str = "2026-11-20T23:59:00+01:00", policy: str = PERCENT_PER_HOUR) -> str:
    return (
        "c = get_config()\n"
        'c.CourseDirectory.course_id = "latecourse"\n'
        'c.CourseDirectory.source_directory = "solutions"\n'
        f'c.Deadlines.duedates = {{"{A}": "{duedate}"}}\n' + policy
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The gradebook, built once (nbgrader's creation of a database is slow); each test gets a
    copy."""
    path = tmp_path_factory.mktemp("late") / "gradebook.db"
    scripts_on_path()  # nbgrader runs alembic when it creates a gradebook
    with Gradebook(f"sqlite:///{path}", "latecourse") as gb:
        gb.add_assignment(A)  # no due date yet: the configuration brings it
        for nb, points in NOTEBOOKS.items():
            gb.add_notebook(nb, A)
            gb.add_grade_cell(f"test-{nb}", nb, A, max_score=points, cell_type="code")
        for student, when in TIMES.items():
            gb.add_student(student, first_name=student.title(), last_name="Tester")
            gb.add_submission(A, student, timestamp=when)
            _score(gb, student, {"part1": 5.0, "part2": 3.0})
    return path


@pytest.fixture
def course(tmp_path, template) -> Path:
    root = tmp_path / "course"
    (root / "solutions" / A).mkdir(parents=True)
    (root / "solutions" / A / f"{A}.ipynb").write_text("{}")
    (root / "nbgrader_config.py").write_text(_config())
    (root / "extensions.csv").write_text(EXTENSIONS)
    shutil.copy(template, root / "gradebook.db")
    return root


def _score(gb, student, points: dict) -> None:
    for nb, value in points.items():
        grade = gb.find_grade(f"test-{nb}", nb, A, student)
        grade.auto_score = value
    gb.db.commit()


def _apply(root: Path):
    layout = CourseLayout.load(root)
    with Gradebook(layout.db_url, "latecourse") as gb:
        plan = plan_lateness(
            gb, layout, A, load_deadlines(layout), load_policy(nbgrader_config(root))
        )
        return apply_lateness(gb, plan)


def _gradebook_view(root: Path) -> dict:
    """student -> (total_seconds_late, late_submission_penalty), through nbgrader's API."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "latecourse") as gb:
        return {
            s: (
                gb.find_submission(A, s).total_seconds_late,
                gb.find_submission(A, s).late_submission_penalty,
            )
            for s in TIMES
        }


def _nbgrader_export(root: Path) -> dict:
    """``nbgrader export`` itself, run on the course (its config file included)."""
    out = root / "nbgrader_grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--to={out}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "not recognized" not in done.stderr  # our c.Deadlines/c.PercentPerPeriod are fine
    with open(out, newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def _ours(root: Path) -> dict:
    out = export_grades(root, root / "grades.csv")
    with open(out, encoding="utf-8", newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


EXPECTED_PENALTY = {  # of 8 points
    "early": 0.0,
    "exact": 0.0,
    "onesec": 0.8,
    "hours": 0.0,
    "newdue": 0.0,
    "pastext": 0.8,
    "capped": 4.0,
    "notime": 0.0,
}


def test_due_date_extensions_and_penalties_as_nbgrader_reads_them(course):
    summary = _apply(course)
    view = _gradebook_view(course)
    assert {s: v[0] for s, v in view.items()} == {
        "early": 0,
        "exact": 0,
        "onesec": 1,
        "hours": 0,
        "newdue": 0,
        "pastext": 1,
        "capped": 30 * 86400,
        "notime": 0,
    }
    assert {s: v[1] for s, v in view.items()} == pytest.approx(EXPECTED_PENALTY)
    # Each notebook carries its own share, where nbgrader's AssignLatePenalties puts it.
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "latecourse") as gb:
        notebooks = {nb.name: nb for nb in gb.find_submission(A, "capped").notebooks}
        assert notebooks["part1"].late_submission_penalty == 2.5
        assert notebooks["part2"].late_submission_penalty == 1.5
        assert gb.find_submission(A, "early").notebooks[0].late_submission_penalty is None
        assert gb.find_assignment(A).duedate == DUE
        assert gb.find_submission(A, "newdue").extension == dt.timedelta(hours=36)
    assert [s.student_id for s in summary.late] == ["capped", "onesec", "pastext"]
    assert summary.extended == ["hours", "newdue", "pastext"]


def test_nbgraders_own_export_and_ours_agree(course):
    _apply(course)
    theirs, ours = _nbgrader_export(course), _ours(course)
    assert set(theirs) == set(ours) == set(TIMES)
    for student, row in theirs.items():
        mine = ours[student]
        for column in ("raw_score", "late_submission_penalty", "score", "max_score"):
            assert float(mine[column]) == pytest.approx(float(row[column])), (student, column)
        assert float(row["late_submission_penalty"]) == pytest.approx(EXPECTED_PENALTY[student])
        assert float(row["score"]) == pytest.approx(8.0 - EXPECTED_PENALTY[student])
        assert row["duedate"] == "2026-11-20 22:59:00"
    assert ours["onesec"]["seconds_late"] == "1.0" and ours["onesec"]["late"] == "yes"
    assert ours["exact"]["seconds_late"] == "0.0" and ours["exact"]["late"] == "no"
    assert ours["newdue"]["student_duedate"] == "2026-11-22T10:59:00+00:00"
    assert ours["early"]["student_duedate"] == "2026-11-20T22:59:00+00:00"
    assert ours["notime"]["seconds_late"] == ""  # unknown, not 0


def test_running_again_follows_the_policy_extensions_and_manual_grades(course):
    _apply(course)
    # A manual grade entered in the formgrader: the percentage follows the new score.
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "latecourse") as gb:
        gb.find_grade("test-part1", "part1", A, "capped").manual_score = 6.0
        gb.db.commit()
    # pastext's extension withdrawn; onesec now gets 2 hours.
    (course / "extensions.csv").write_text(
        f"student_id,assignment,extra_hours\nhours,{A},3\nonesec,{A},2\nnewdue,{A},36\n"
    )
    _apply(course)
    view = _gradebook_view(course)
    assert view["capped"][1] == pytest.approx(4.5)  # 50 % of 6 + 3
    assert view["onesec"] == (0, 0.0)
    assert view["pastext"][0] == 3 * 3600 + 1 and view["pastext"][1] == pytest.approx(3.2)

    (course / "nbgrader_config.py").write_text(
        _config(policy='c.LateSubmissionPlugin.penalty_method = "zero"\n')
    )
    _apply(course)
    assert _gradebook_view(course)["pastext"][1] == pytest.approx(8.0)
    assert float(_nbgrader_export(course)["pastext"]["score"]) == 0.0

    (course / "nbgrader_config.py").write_text(_config(policy=""))  # nbgrader's default: none
    summary = _apply(course)
    assert all(p == 0.0 for _, p in _gradebook_view(course).values())
    assert summary.policy.startswith("no penalty")
    assert [s.student_id for s in summary.late] == ["capped", "pastext"]  # still late


def test_a_later_due_date_in_the_config_moves_everyone(course):
    _apply(course)
    (course / "nbgrader_config.py").write_text(_config("2026-12-01T00:00:00Z"))
    summary = _apply(course)
    assert [s.student_id for s in summary.late] == ["capped"]
    assert _gradebook_view(course)["onesec"] == (0, 0.0)
    # newdue's own date (22 Nov) is now before everyone's: the later one applies, and we say so.
    assert summary.notes == [
        "line 3: newdue's new due date 2026-11-22T10:59:00+00:00 is not after the "
        "assignment's: no extension"
    ]
    assert "newdue" not in summary.extended
    assert any(line.startswith("  note: line 3: newdue") for line in summary.text())


def test_without_an_extensions_file_the_gradebooks_extensions_stay(course):
    _apply(course)
    (course / "extensions.csv").unlink()
    _apply(course)
    assert _gradebook_view(course)["hours"] == (0, 0.0)  # the 3 hours are still there


def test_a_new_due_date_needs_the_assignment_due_date(course):
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n'
    )
    with pytest.raises(DeadlineError, match="has no due date"):
        _apply(course)


def test_an_extension_for_an_unknown_student_stops_before_anything_is_written(course):
    (course / "extensions.csv").write_text(f"student_id,assignment,extra_hours\nonesek,{A},2\n")
    with pytest.raises(DeadlineError, match=r"line 2: unknown student 'onesek'"):
        _apply(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "latecourse") as gb:
        assert gb.find_assignment(A).duedate is None


def test_the_feedback_page_states_lateness_and_penalty(course):
    _apply(course)
    pages = {p.parent.parent.name: p.read_text() for p in generate_feedback(course, A)}

    def summary(student):
        rows = re.findall(r'<th scope="row">([^<]+)</th><td>([^<]*)</td>', pages[student])
        return dict(rows)

    late = summary("pastext")
    assert late["Late penalty"] == "0.8 points (score before the penalty: 8)"
    assert late["Lateness"] == "late by 1 s"  # one second past the 3 extra hours
    assert late["Due"] == "2026-11-21 01:59 UTC (with your extension)"
    assert late["Submitted"] == "2026-11-21 01:59 UTC"
    assert late["Score"].startswith("7.2 out of 10")
    assert summary("exact")["Lateness"] == "on time" and "Late penalty" not in summary("exact")
    assert summary("onesec")["Lateness"] == "late by 1 s"
    assert "Lateness" not in summary("notime") and "Submitted" not in summary("notime")


def test_the_report_lists_the_late_submissions(course):
    _apply(course)
    html = build_report(course, A).read_text()
    section = html.split("<h2>Late submissions</h2>", 1)[1].split("<h2>", 1)[0]
    assert "Due 2026-11-20 22:59:00 UTC. 3 late submission(s), 5.6 point(s) taken off" in section
    assert "3 student(s) with an extension" in section
    rows = re.findall(r"<tr><td>(\w+)</td>(.*?)</tr>", section)
    assert [r[0] for r in rows] == ["capped", "onesec", "pastext"]  # most late first, then id
    assert "<td>30 d</td>" in rows[0][1] and "8 \u2192 4" in rows[0][1]
    assert "No submission time for 1 submission(s)" in section and "notime" in section


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (0.2, "1 s"),
        (1, "1 s"),
        (61, "1 min 1 s"),
        (3600, "1 h"),
        (3660, "1 h 1 min"),
        (86400, "1 d"),
        (86401, "1 d 0 h 0 min 1 s"),
    ],
)
def test_late_by_words(seconds, words):
    assert late_by_words(seconds) == words
