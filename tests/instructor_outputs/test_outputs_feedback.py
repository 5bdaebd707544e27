"""Student feedback pages: content, escaping, leak guard, accessibility basics and bad input."""

import types

import pytest
from outputs_course import (
    ASSIGNMENT,
    FREE_RESPONSE,
    GRADED,
    HIDDEN_LINE,
    MAX_SCORE,
    RUBRIC_LINE,
    STUDENTS,
    TESTS,
    assert_no_secrets,
    points,
    read_page,
)

from convcourse.instructor.reporting import pages
from convcourse.instructor.reporting.feedback import (
    WITHHELD,
    LeakGuard,
    generate_feedback,
    protected_lines,
)
from convcourse.instructor.reporting.pages import misconception_details, misconception_info

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

SUBMITTED = sorted(sid for sid, s in STUDENTS.items() if s.submitted)


def page_of(course, sid):
    return read_page(course.path / "feedback" / sid / ASSIGNMENT / "feedback.html")


def exercise_rows(page):
    """exercise label -> (points, out of, result words) from the per-exercise table."""
    rows = page.rows("Points for each exercise")
    assert rows[0] == ["Exercise", "Points", "Out of", "Result"]
    return {r[0]: (float(r[1]), float(r[2]), r[3]) for r in rows[1:]}


def test_one_page_per_submission_and_none_for_absent_students(course):
    written = generate_feedback(course.path, ASSIGNMENT)
    expected = [course.path / "feedback" / sid / ASSIGNMENT / "feedback.html" for sid in SUBMITTED]
    assert written == expected
    assert all(p.is_file() for p in written)
    assert "dave" not in SUBMITTED and not (course.path / "feedback" / "dave").exists()


def test_scores_per_exercise_and_manual_grade(course):
    generate_feedback(course.path, ASSIGNMENT)
    for sid in GRADED:
        page = page_of(course, sid)
        s = STUDENTS[sid]
        rows = exercise_rows(page)
        for gid, ex, max_points in TESTS:
            got, out_of, words = rows[ex]
            assert (got, out_of) == (points(sid)[gid], max_points)
            assert words.endswith("Passed") == s.verdicts[ex][0]
        fr_points, fr_max, fr_words = rows[f"{FREE_RESPONSE[0]} (written answer)"]
        assert (fr_points, fr_max) == ((s.manual or 0.0), FREE_RESPONSE[1])
        if s.manual is None:
            assert fr_words == "Waiting for grading by your instructor"
        else:
            assert fr_words == "Graded by your instructor"
        total = sum(points(sid).values()) + (s.manual or 0.0) - s.late_penalty
        summary = dict(page.rows("Summary"))
        assert summary["Score"].startswith(f"{total:g} out of {MAX_SCORE:g}")
        assert summary["Status"] == "Graded"


def test_failed_exercises_show_misconception_hint_and_message(course):
    generate_feedback(course.path, ASSIGNMENT)
    page = page_of(course, "bob")
    headings = [text for tag, text in page.headings if tag == "h3"]
    assert headings == ["corr2d", "corr2d-fast"]  # only the failed ones, in notebook order
    for ex in headings:
        _, key, message = STUDENTS["bob"].verdicts[ex]
        title, hint = misconception_info(key)
        assert title in page.text
        if hint:
            assert hint in page.text
        assert message in page.text
    assert "Well done" in page_of(course, "alice").text


def test_text_is_escaped_and_comments_shown(course):
    generate_feedback(course.path, ASSIGNMENT)
    page = page_of(course, "alice")
    assert "b" not in page.tags  # the comment's <b> is text, not markup
    assert STUDENTS["alice"].comment in page.text
    assert "Ångström" in page.text


def test_secrets_are_withheld_even_when_quoted(course):
    """carol's checker message quotes a hidden test line; bob's comment quotes the rubric."""
    generate_feedback(course.path, ASSIGNMENT)
    carol, bob = page_of(course, "carol"), page_of(course, "bob")
    assert WITHHELD in carol.text and "Traceback (most recent call last):" in carol.text
    assert HIDDEN_LINE not in carol.source
    assert WITHHELD in bob.text and RUBRIC_LINE not in bob.source
    assert_no_secrets((course.path / "feedback").rglob("*.html"))


def test_status_of_problem_submissions(course):
    generate_feedback(course.path, ASSIGNMENT)
    eve = page_of(course, "eve")
    assert "timed out after 30 s" in dict(eve.rows("Summary"))["Status"]
    assert {words for _, _, words in exercise_rows(eve).values()} >= {"Not run"}
    assert "No exercise results are available" in eve.text
    frank = page_of(course, "frank")
    assert "could not be read" in dict(frank.rows("Summary"))["Status"]
    grace = page_of(course, "grace")  # in no gradebook: results file only
    status = dict(grace.rows("Summary"))["Status"]
    assert "could not be read" in status and "Expecting ','" in status


def test_late_submission_shows_penalty(course):
    generate_feedback(course.path, ASSIGNMENT)
    summary = dict(page_of(course, "carol").rows("Summary"))
    assert summary["Late penalty"].startswith("1 point (")
    assert summary["Submitted"] == "2026-11-20 14:00 UTC"


def test_accessibility_basics(course):
    for path in generate_feedback(course.path, ASSIGNMENT):
        page = read_page(path)
        assert page.source.startswith('<!DOCTYPE html>\n<html lang="en">')
        assert "<title>" in page.source and "<style>" in page.source
        assert "http://" not in page.source and "https://" not in page.source  # no assets
        assert page.headings[0][0] == "h1"
        assert all(t["caption"] for t in page.tables)
        assert "scope=" in page.source


def test_selected_students(course):
    assert generate_feedback(course.path, ASSIGNMENT, students=["bob"]) == [
        course.path / "feedback" / "bob" / ASSIGNMENT / "feedback.html"
    ]
    assert generate_feedback(course.path, ASSIGNMENT, students=["dave"]) == []
    with pytest.raises(ValueError, match="unknown student.*'nobody'"):
        generate_feedback(course.path, ASSIGNMENT, students=["bob", "nobody"])


def test_bad_input(course, tmp_path):
    with pytest.raises(FileNotFoundError, match="course directory not found"):
        generate_feedback(tmp_path / "nowhere", ASSIGNMENT)
    with pytest.raises(FileNotFoundError, match="gradebook not found"):
        generate_feedback(tmp_path, ASSIGNMENT)
    assert not (tmp_path / "gradebook.db").exists()  # not created by asking
    with pytest.raises(ValueError, match="unknown assignment '99_nope'.*has: 02_demo"):
        generate_feedback(course.path, "99_nope")
    with pytest.raises(ValueError, match="assignment id cannot be used as a folder name"):
        generate_feedback(course.path, "../02_demo")
    with pytest.raises(ValueError, match="not a database URL"):
        generate_feedback(course.path, ASSIGNMENT, db_url="no url")


def test_protected_lines_follow_nbgrader_markers():
    source = "a = 1\n### BEGIN SOLUTION\nsecret_a = 2\n### END SOLUTION\nb = 3"
    assert protected_lines(source) == ["secret_a = 2"]
    hidden = "check(f)\n### BEGIN HIDDEN TESTS\nassert f(7) == 49\n### END HIDDEN TESTS"
    assert protected_lines(hidden) == ["assert f(7) == 49"]
    rubric = "Q\n=== BEGIN MARK SCHEME ===\nGive 2 points\n=== END MARK SCHEME ==="
    assert protected_lines(rubric) == ["Give 2 points"]
    assert protected_lines("model answer text", whole_cell=True) == ["model answer text"]
    assert protected_lines("plain text") == []


def test_leak_guard_spares_public_and_short_lines():
    guard = LeakGuard(
        ["return torch.zeros(3)", "pass", "import torch as t_lib", "x = ["],
        public_lines=["import torch as t_lib"],
    )
    assert guard.secrets == ["return torch.zeros(3)"]
    text = "line one\n  --> return torch.zeros(3)  # here\nimport torch as t_lib\npass"
    assert guard.clean(text) == f"line one\n{WITHHELD}\nimport torch as t_lib\npass"
    assert guard.clean("nothing to hide") == "nothing to hide"
    # marker lines are withheld too; terminal colours go before matching (IPython tracebacks)
    assert guard.clean("      2 ### BEGIN HIDDEN TESTS\nok") == f"{WITHHELD}\nok"
    coloured = "----> 3 \x1b[38;5;28mreturn\x1b[39m torch\x1b[38;5;241m.\x1b[39mzeros(3)"
    assert guard.clean(coloured) == WITHHELD
    assert guard.clean("\x1b[31mAssertionError\x1b[39m") == "AssertionError"


def test_misconception_titles_come_from_the_catalogue():
    messages = pytest.importorskip("convcourse.checks.messages")
    for key in ("flipped_kernel", "off_by_one"):
        entry = messages.misconception(key)
        assert misconception_info(key) == (entry.title, entry.hint)
        assert misconception_details(key)[2] == messages.section(entry.section)
    assert misconception_info("no_such_key_zz") == ("no_such_key_zz", "")


def test_misconception_info_without_the_catalogue(monkeypatch):
    monkeypatch.setattr(pages, "_catalogue", lambda: None)
    assert misconception_info("flipped_kernel") == ("flipped_kernel", "")


def test_misconception_info_reads_the_catalogue_interface(monkeypatch):
    entry = types.SimpleNamespace(title="Off by one", hint="Count the windows.", section="shape")
    fake = types.SimpleNamespace(
        misconception=lambda key: {"off_by_one": entry}[key],
        section=lambda key: {"shape": "Lesson 02, output size"}[key],
    )
    monkeypatch.setattr(pages, "_catalogue", lambda: fake)
    assert misconception_details("off_by_one") == (
        "Off by one",
        "Count the windows.",
        "Lesson 02, output size",
    )
    assert misconception_details("unheard_of") == ("unheard_of", "", "")
