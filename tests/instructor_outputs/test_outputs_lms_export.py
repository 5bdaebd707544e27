"""Grades back into the LMS: Canvas's gradebook import file and Moodle's grading worksheet.

The LMS ids come from a real ``convcourse ingest`` of a Canvas or Moodle download (files named
as those LMSs name them) with a roster that ties each LMS id to the course's student id.  The
files are read back with the rules the LMSs' importers apply (canvas-lms
``lib/gradebook_importer.rb``; moodle ``mod/assign/feedback/offline/importgradeslib.php``), and
the scores are compared with the nbgrader-format export of the same gradebook.
"""

import csv
import datetime as dt
import re
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook
from outputs_course import ASSIGNMENT, MAX_SCORE, NOTEBOOK

from convcourse.instructor.cli import main
from convcourse.instructor.intake.ingest import ingest
from convcourse.instructor.intake.ingest_record import load_manifest, save_manifest
from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.reporting.export import export_grades
from convcourse.instructor.reporting.lms_export import (
    CANVAS_COLUMNS,
    UNMATCHED_COLUMNS,
    export_lms_grades,
    unmatched_path,
)

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

# Who hands in through the LMS: course id -> (LMS name part, LMS id). dave handed nothing in;
# grace has a results file but is not in the gradebook (and was never ingested).
CANVAS_PEOPLE = {
    "alice": ("angstromalice", 40101),
    "bob": ("builderbob", 40102),
    "carol": ("carol", 40103),
    "eve": ("eve", 40105),
    "frank": ("frank", 40106),
}
MOODLE_PEOPLE = {
    "alice": ("Alice Ångström", 7001),
    "bob": ("Bob Builder", 7002),
    "carol": ("Carol", 7003),
    "eve": ("Eve", 7005),
    "frank": ("Frank", 7006),
}
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def _notebook() -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook()).encode()


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, _notebook())
    return path


def _roster(path, people):
    path.write_text(
        "student_id,lms_id\n" + "".join(f"{sid},{lms_id}\n" for sid, (_, lms_id) in people.items()),
        encoding="utf-8",
    )
    return path


def ingest_canvas(course, tmp_path, people=CANVAS_PEOPLE):
    # Canvas's "Download Submissions": <name>[_LATE]_<user id>_<file id>_<file>
    names = [
        f"{name}_{'LATE_' if sid == 'carol' else ''}{uid}_{9000 + i}_{NOTEBOOK}.ipynb"
        for i, (sid, (name, uid)) in enumerate(people.items())
    ]
    export = _zip(tmp_path / "submissions.zip", names)
    layout = CourseLayout.load(course.path, course.db_url)
    report = ingest(layout, ASSIGNMENT, export, roster=_roster(tmp_path / "roster.csv", people))
    assert report.lms == "canvas" and set(report.written) == set(people), report.text()


def ingest_moodle(course, tmp_path, people=MOODLE_PEOPLE):
    # Moodle's "Download all submissions", in folders: <full name>_<pid>_assignsubmission_file_/
    names = [
        f"{full}_{pid}_assignsubmission_file_/{NOTEBOOK}.ipynb" for full, pid in people.values()
    ]
    export = _zip(tmp_path / "moodle.zip", names)
    layout = CourseLayout.load(course.path, course.db_url)
    report = ingest(layout, ASSIGNMENT, export, roster=_roster(tmp_path / "roster.csv", people))
    assert report.lms == "moodle" and set(report.written) == set(people), report.text()


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def nbgrader_scores(course, tmp_path) -> dict[str, float]:
    out = export_grades(course.path, tmp_path / "nbgrader.csv", db_url=course.db_url)
    with open(out, encoding="utf-8", newline="") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}


def canvas_read(path):
    """The file as Canvas's gradebook importer reads it: the header checks of
    ``row_has_student_headers?`` / ``update_column_count`` / ``header?``, the assignment
    columns after the student columns (``Assignment.title_and_id``), the ``Points Possible``
    row, then students by their ``ID``."""
    header, *rows = read_rows(path)
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    student_columns = 5
    assert "Section" in header[student_columns - 1]
    assignments = []
    for title in header[student_columns:]:
        m = re.fullmatch(r"(.*)\s\((\d+)\)", title, re.S)
        assignments.append((m.group(1), m.group(2)) if m else (title, None))
    points = None
    students = {}
    for row in rows:
        assert len(row) == len(header)
        if "Points Possible" in row[0]:
            points = [float(v) for v in row[student_columns:]]
            continue
        assert row[1].isdigit(), row  # matched by Canvas user id, never by name
        students[row[1]] = [float(v) for v in row[student_columns:]]
    return assignments, points, students, rows


def moodle_read(path):
    """The worksheet as ``assignfeedback_offline_grade_importer`` reads it: columns found by
    their English titles (all three required), the participant id after "Participant "."""
    header, *rows = read_rows(path)
    index = {name: header.index(name) for name in ("Identifier", "Grade", "Last modified (grade)")}
    out = {}
    for row in rows:
        ident = row[index["Identifier"]]
        assert ident.startswith("Participant ")
        pid = ident[len("Participant ") :]
        modified = dt.datetime.fromisoformat(row[index["Last modified (grade)"]])
        out[pid] = (float(row[index["Grade"]]), modified, row)
    return header, out


def test_canvas_file_matches_students_by_user_id(course, tmp_path):
    ingest_canvas(course, tmp_path)
    out = tmp_path / "canvas.csv"
    done = export_lms_grades(
        course.path, out, "canvas", ASSIGNMENT, course.db_url, lms_assignment_id="98765"
    )
    assignments, points, students, rows = canvas_read(out)
    assert read_rows(out)[0] == [*CANVAS_COLUMNS, f"{ASSIGNMENT} (98765)"]
    assert assignments == [(ASSIGNMENT, "98765")] and points == [MAX_SCORE]
    expected = nbgrader_scores(course, tmp_path)
    assert students == {str(uid): [expected[sid]] for sid, (_, uid) in CANVAS_PEOPLE.items()}
    assert expected["alice"] > 0 and expected["carol"] < expected["alice"]  # scores differ
    names = {row[1]: row[0] for row in rows if row[1].isdigit()}
    assert names["40101"] == "Ångström, Alice"  # Canvas's sortable name, for people
    assert done.exported == len(CANVAS_PEOPLE)
    # eve timed out, frank's results file is unreadable: said, not hidden
    assert any("eve (timeout)" in n and "frank (unreadable)" in n for n in done.notes)
    assert not any("no Canvas assignment id" in n for n in done.notes)


def test_students_without_an_lms_id_are_listed_never_dropped(course, tmp_path):
    ingest_canvas(course, tmp_path)
    out = tmp_path / "canvas.csv"
    done = export_lms_grades(course.path, out, "canvas", ASSIGNMENT, course.db_url)
    expected = nbgrader_scores(course, tmp_path)
    missing = {m.student_id: m.reason for m in done.unmatched}
    assert set(missing) == set(expected) - set(CANVAS_PEOPLE) == {"dave", "grace"}
    assert "never ingested from Canvas" in missing["dave"]
    side = read_rows(unmatched_path(out))
    assert side[0] == list(UNMATCHED_COLUMNS)
    listed = {row[0]: dict(zip(UNMATCHED_COLUMNS, row, strict=True)) for row in side[1:]}
    assert set(listed) == {"dave", "grace"}
    assert listed["dave"]["status"] == "not_submitted"
    assert float(listed["dave"]["score"]) == expected["dave"]
    # every student of the export is in exactly one of the two files
    _, _, students, _ = canvas_read(out)
    assert len(students) + len(listed) == len(expected)


def test_canvas_user_ids_are_course_wide(course, tmp_path):
    ingest_canvas(course, tmp_path)
    layout = CourseLayout.load(course.path, course.db_url)
    other = load_manifest(layout, "01_earlier")
    other["students"]["dave"] = [{"ingest": 1, "identity": "canvas:40104", "lms_id": "40104"}]
    save_manifest(layout, "01_earlier", other)
    out = tmp_path / "canvas.csv"
    done = export_lms_grades(course.path, out, "canvas", ASSIGNMENT, course.db_url)
    _, _, students, _ = canvas_read(out)
    assert students["40104"] == [0.0]  # handed nothing in: 0, as nbgrader export says
    assert [m.student_id for m in done.unmatched] == ["grace"]


def test_canvas_without_assignment_id_says_a_new_assignment_may_be_made(course, tmp_path):
    ingest_canvas(course, tmp_path)
    out = tmp_path / "canvas.csv"
    done = export_lms_grades(
        course.path, out, "canvas", ASSIGNMENT, course.db_url, lms_assignment_name="Lesson 2"
    )
    assignments, _, _, _ = canvas_read(out)
    assert assignments == [("Lesson 2", None)]
    assert any("creates a new assignment" in n for n in done.notes)
    with pytest.raises(ValueError, match="name \\(assignment id\\)"):
        export_lms_grades(
            course.path, out, "canvas", ASSIGNMENT, course.db_url, lms_assignment_name="Quiz (2)"
        )


def test_moodle_worksheet_uses_participant_ids(course, tmp_path):
    ingest_moodle(course, tmp_path)
    out = tmp_path / "moodle.csv"
    done = export_lms_grades(course.path, out, "moodle", ASSIGNMENT, course.db_url, now=NOW)
    header, grades = moodle_read(out)
    expected = nbgrader_scores(course, tmp_path)
    assert {pid: g for pid, (g, _, _) in grades.items()} == {
        str(pid): expected[sid] for sid, (_, pid) in MOODLE_PEOPLE.items()
    }
    assert {m for _, m, _ in grades.values()} == {NOW}
    assert all(g <= MAX_SCORE for g, _, _ in grades.values())  # Moodle skips a grade above max
    assert {m.student_id for m in done.unmatched} == {"dave", "grace"}
    assert any("maximum grade" in n for n in done.notes)
    full = {pid: row[header.index("Full name")] for pid, (_, _, row) in grades.items()}
    assert full["7001"] == "Alice Ångström"


def test_moodle_participant_ids_are_not_borrowed_from_other_assignments(course, tmp_path):
    ingest_moodle(course, tmp_path)
    layout = CourseLayout.load(course.path, course.db_url)
    other = load_manifest(layout, "01_earlier")
    other["students"]["dave"] = [{"ingest": 1, "identity": "moodle:12", "lms_id": "12"}]
    save_manifest(layout, "01_earlier", other)
    done = export_lms_grades(course.path, tmp_path / "m.csv", "moodle", ASSIGNMENT, course.db_url)
    assert "dave" in {m.student_id for m in done.unmatched}


def test_wrong_lms_and_ambiguous_ids_are_unmatched(course, tmp_path):
    ingest_canvas(course, tmp_path)
    layout = CourseLayout.load(course.path, course.db_url)
    record = load_manifest(layout, ASSIGNMENT)
    record["students"]["eve"][-1]["lms_id"] = "40101"  # as if two people had alice's id
    record["students"]["eve"][-1]["identity"] = "canvas:40101"
    record["students"]["frank"][-1].update(identity="canvas:anon_x7", lms_id="anon_x7")
    save_manifest(layout, ASSIGNMENT, record)
    done = export_lms_grades(course.path, tmp_path / "c.csv", "canvas", ASSIGNMENT, course.db_url)
    missing = {m.student_id: m.reason for m in done.unmatched}
    assert "also recorded for eve" in missing["alice"] and "alice" in missing["eve"]
    assert "anonymous" in missing["frank"]
    assert not any("frank" in n for n in done.notes)  # unmatched: not among the exported
    # the Moodle format finds no Moodle identity in a Canvas ingest
    done = export_lms_grades(course.path, tmp_path / "m.csv", "moodle", ASSIGNMENT, course.db_url)
    assert (
        done.exported == 0 and "Canvas" in {m.student_id: m.reason for m in done.unmatched}["bob"]
    )


def test_plain_folder_ingest_leaves_everybody_unmatched(course, tmp_path):
    folder = tmp_path / "plain"
    for sid in ("alice", "bob"):
        (folder / sid).mkdir(parents=True)
        (folder / sid / f"{NOTEBOOK}.ipynb").write_bytes(_notebook())
    layout = CourseLayout.load(course.path, course.db_url)
    ingest(layout, ASSIGNMENT, folder)
    out = tmp_path / "c.csv"
    done = export_lms_grades(course.path, out, "canvas", ASSIGNMENT, course.db_url)
    assert done.exported == 0 and len(read_rows(out)) == 2  # header and Points Possible
    assert "plain folder" in {m.student_id: m.reason for m in done.unmatched}["alice"]


def test_rescaled_scores(course, tmp_path):
    ingest_canvas(course, tmp_path)
    out = tmp_path / "c.csv"
    export_lms_grades(course.path, out, "canvas", ASSIGNMENT, course.db_url, out_of=100)
    _, points, students, _ = canvas_read(out)
    expected = nbgrader_scores(course, tmp_path)
    assert points == [100.0]
    for sid, (_, uid) in CANVAS_PEOPLE.items():
        assert students[str(uid)][0] == pytest.approx(expected[sid] * 100 / MAX_SCORE, abs=0.005)


def test_text_cells_a_spreadsheet_would_run_are_neutralised(course, tmp_path):
    ingest_canvas(course, tmp_path)
    gb = Gradebook(course.db_url)
    try:
        gb.update_or_create_student("bob", first_name="Bob", last_name="=HYPERLINK(1)")
    finally:
        gb.close()
    out = tmp_path / "c.csv"
    export_lms_grades(course.path, out, "canvas", ASSIGNMENT, course.db_url)
    _, _, _, rows = canvas_read(out)
    assert {r[0] for r in rows if r[1] == "40102"} == {"'=HYPERLINK(1), Bob"}


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_exit_codes_and_stderr(course, tmp_path, capsys):
    ingest_canvas(course, tmp_path)
    base = ["export", "--course", str(course.path), "--db", course.db_url]
    out = tmp_path / "canvas.csv"
    code, stdout, err = run_cli(
        [*base, "--format", "canvas", "--assignment", ASSIGNMENT, "--out", str(out)], capsys
    )
    assert code == 1 and stdout.strip() == str(out)
    assert "dave" in err and "grace" in err and str(unmatched_path(out)) in err
    for bad in (
        ["--format", "canvas"],  # no --assignment
        ["--format", "moodle", "--assignment", ASSIGNMENT, "--lms-assignment-id", "5"],
        ["--format", "canvas", "--assignment", ASSIGNMENT, "--lms-assignment-id", "x5"],
        ["--format", "canvas", "--assignment", "no_such_assignment"],
        ["--lms-assignment-id", "5"],  # nbgrader format
    ):
        code, _, err = run_cli([*base, *bad, "--out", str(tmp_path / "x.csv")], capsys)
        assert code == 2 and err.startswith("convcourse export: "), bad


def test_cli_all_matched_exits_zero(course, tmp_path, capsys):
    ingest_canvas(course, tmp_path)
    gb = Gradebook(course.db_url)
    try:
        gb.remove_student("dave")
    finally:
        gb.close()
    (course.path / ".grading" / "results" / ASSIGNMENT / "grace.json").unlink()
    out = tmp_path / "canvas.csv"
    argv = ["export", "--course", str(course.path), "--db", course.db_url, "--format", "canvas"]
    code, _, err = run_cli([*argv, "--assignment", ASSIGNMENT, "--out", str(out)], capsys)
    assert code == 0, err
    assert read_rows(unmatched_path(out)) == [list(UNMATCHED_COLUMNS)]


def test_cli_nbgrader_format_is_unchanged(course, tmp_path, capsys):
    direct = export_grades(course.path, tmp_path / "direct.csv", db_url=course.db_url)
    via = tmp_path / "via.csv"
    base = ["export", "--course", str(course.path), "--db", course.db_url, "--out", str(via)]
    code, _, _ = run_cli([*base, "--format", "nbgrader"], capsys)
    assert code == 0 and via.read_bytes() == direct.read_bytes()
