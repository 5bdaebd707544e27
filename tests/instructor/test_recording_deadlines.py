"""Due dates from ``nbgrader_config.py`` and the extensions CSV: read exactly, refused clearly.

Every bad row is an error naming its line; nothing is ever skipped in silence.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from convcourse.instructor.layout import CourseLayout
from convcourse.instructor.recording.deadlines import (
    DeadlineError,
    load_deadlines,
    parse_time,
    read_extensions,
)

A, B = "02_cross_correlation", "03_conv_layer"
DUE = dt.datetime(2026, 11, 20, 22, 59, tzinfo=dt.UTC)  # 23:59 in Berlin (CET, +01:00)


def _course(tmp_path: Path, config: str = "", extensions: str | None = None) -> CourseLayout:
    root = tmp_path / "course"
    for name in (A, B):
        (root / "solutions" / name).mkdir(parents=True)
        (root / "solutions" / name / f"{name}.ipynb").write_text("{}")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n' + config
    )
    if extensions is not None:
        (root / "extensions.csv").write_text(extensions, encoding="utf-8")
    return CourseLayout.load(root)


def _read(tmp_path: Path, text: str, zone=None) -> dict:
    path = tmp_path / "ext.csv"
    path.write_text(text, encoding="utf-8")
    return read_extensions(path, {A, B}, zone)


@pytest.mark.parametrize(
    "text",
    ["2026-11-20T23:59:00+01:00", "2026-11-20 22:59:00Z", "2026-11-20T22:59+00:00"],
)
def test_times_with_an_offset(text):
    assert parse_time(text) == DUE


def test_a_time_without_offset_needs_the_course_timezone():
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError, match="no UTC offset"):
        parse_time("2026-11-20T23:59:00")
    assert parse_time("2026-11-20T23:59:00", ZoneInfo("Europe/Berlin")) == DUE
    # Summer time is the zone's business: 23:59 in Berlin in July is 21:59 UTC.
    july = parse_time("2026-07-01T23:59", ZoneInfo("Europe/Berlin"))
    assert july == dt.datetime(2026, 7, 1, 21, 59, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-11-20", "a date without a time"),
        ("20/11/2026 23:59", "not an ISO 8601 time"),
        ("", "empty time"),
    ],
)
def test_bad_times_say_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        parse_time(text)


def test_due_dates_come_from_the_nbgrader_config(tmp_path):
    layout = _course(tmp_path, f'c.Deadlines.duedates = {{"{A}": "2026-11-20T23:59:00+01:00"}}\n')
    deadlines = load_deadlines(layout)
    assert deadlines.duedates == {A: DUE}
    assert deadlines.extensions is None  # no extensions file: the gradebook's stay as they are


def test_the_course_timezone_applies_to_due_dates(tmp_path):
    layout = _course(
        tmp_path,
        f'c.Deadlines.timezone = "Europe/Berlin"\nc.Deadlines.duedates = {{"{A}": '
        '"2026-11-20 23:59"}\n',
    )
    assert load_deadlines(layout).duedates[A] == DUE


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('c.Deadlines.duedates = {"99_nope": "2026-11-20T23:59Z"}', "unknown assignment '99_nope'"),
        (f'c.Deadlines.duedates = {{"{A}": "tomorrow"}}', f"duedates['{A}']: 'tomorrow' is not"),
        ('c.Deadlines.timezone = "Mars/Olympus"', "is not a time zone"),
        ('c.Deadlines.extensions_file = "late.csv"', "late.csv does not exist"),
        ("c.Deadlines.duedates = 5", "c.Deadlines in nbgrader_config.py"),
    ],
)
def test_bad_course_settings_are_refused(tmp_path, config, words):
    with pytest.raises(DeadlineError, match=words.replace("[", r"\[").replace("(", r"\(")):
        load_deadlines(_course(tmp_path, config + "\n"))


def test_both_forms_of_extension(tmp_path):
    rows = _read(
        tmp_path,
        "student_id,assignment,due,extra_hours,note\n"
        f"alice,{A},2026-11-22T12:00:00+01:00,,doctor's note\n"
        f"bob,{A},,48,\n"
        f"bob,{B},,1.5,\n",
    )
    alice, bob, bob_b = rows[("alice", A)], rows[("bob", A)], rows[("bob", B)]
    assert alice.line == 2 and alice.due == dt.datetime(2026, 11, 22, 11, tzinfo=dt.UTC)
    assert alice.delta(DUE) == dt.timedelta(days=1, hours=12, minutes=1)
    assert bob.delta(DUE) == dt.timedelta(hours=48) and bob.delta(None) == dt.timedelta(hours=48)
    assert bob_b.delta(DUE) == dt.timedelta(minutes=90)


def test_a_spreadsheet_file_reads_the_same(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_bytes(
        b"\xef\xbb\xbfStudent_ID , Assignment,Extra_Hours\r\nbob," + A.encode() + b",24\r\n"
    )
    assert read_extensions(path, {A})[("bob", A)].extra_hours == 24


def test_a_new_due_date_needs_the_assignment_due_date(tmp_path):
    rows = _read(tmp_path, f"student_id,assignment,due\nalice,{A},2026-11-19T12:00Z\n")
    assert rows[("alice", A)].delta(DUE) < dt.timedelta(0)  # moved past it: see lateness.py
    with pytest.raises(DeadlineError, match="line 2: .* which has no due date itself"):
        rows[("alice", A)].delta(None)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (f"alice,{A},2026-13-01T00:00Z,", "line 2: due: '2026-13-01T00:00Z' is not an ISO 8601"),
        (f"alice,{A},2026-11-22,", "line 2: due: '2026-11-22' is a date without a time"),
        (f"alice,{A},2026-11-22T10:00,", "line 2: due: '2026-11-22T10:00' has no UTC offset"),
        (f"alice,{A},,two days", "line 2: extra_hours: 'two days' is not a number"),
        (f"alice,{A},,-3", "line 2: extra_hours: '-3' must be a positive number"),
        (f"alice,{A},,0", "line 2: extra_hours: '0' must be a positive number"),
        (f"alice,{A},,nan", "line 2: extra_hours: 'nan' must be a positive number"),
        (f"alice,{A},2026-11-22T10:00Z,24", "line 2: both due and extra_hours are given"),
        (f"alice,{A},,", "line 2: neither due nor extra_hours is given"),
        ("alice,01_nope,,24", "line 2: unknown assignment '01_nope'"),
        (f",{A},,24", "line 2: empty student_id"),
        (f"alice,{A},,24\nbob,{A},,2\nalice,{A},,48", "line 4: a second extension for alice"),
    ],
)
def test_bad_rows_are_errors_naming_the_line(tmp_path, body, words):
    with pytest.raises(DeadlineError) as err:
        _read(tmp_path, "student_id,assignment,due,extra_hours\n" + body + "\n")
    assert words in str(err.value)
    assert "ext.csv" in str(err.value)


def test_every_bad_line_is_listed_at_once_and_blank_lines_are_fine(tmp_path):
    with pytest.raises(DeadlineError) as err:
        _read(
            tmp_path,
            f"student_id,assignment,extra_hours\nalice,{A},x\n\nbob,{A},24\ncarol,{A},y\n",
        )
    text = str(err.value)
    assert "2 problem(s)" in text and "line 2:" in text and "line 5:" in text
    assert "line 4" not in text  # bob's row is fine (and line 3 is blank)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("", "empty file"),
        ("student,assignment,extra_hours", "line 1: missing column(s) student_id"),
        ("student_id,assignment,hours", "line 1: missing column(s) due or extra_hours"),
        ("student_id,assignment,due,due", "line 1: column(s) due appear twice"),
    ],
)
def test_bad_headers(tmp_path, header, words):
    with pytest.raises(DeadlineError) as err:
        _read(tmp_path, header + ("\n" if header else ""))
    assert words in str(err.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_bytes("student_id,assignment,extra_hours\nj\xf6rg,x,1\n".encode("latin-1"))
    with pytest.raises(DeadlineError, match="not UTF-8"):
        read_extensions(path, {A})


def test_unknown_students_are_refused_once_the_course_is_known(tmp_path):
    layout = _course(
        tmp_path, extensions=f"student_id,assignment,extra_hours\nalice,{A},24\nalcie,{B},2\n"
    )
    deadlines = load_deadlines(layout)
    assert set(deadlines.extensions_of(A)) == {"alice"}
    deadlines.check_students({"alice", "alcie"})
    with pytest.raises(DeadlineError, match=r"line 3: unknown student 'alcie'"):
        deadlines.check_students({"alice", "bob"})
