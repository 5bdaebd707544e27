"""Feedback through nbgrader's exchange (reporting/feedback_release.py), end to end.

A tiny course with a local exchange (a temp folder as ``c.Exchange.root``): the instructor runs
nbgrader's own ``generate_assignment``, ``release_assignment``, ``collect`` and ``autograde``
(subprocesses, as from a shell); each student has a home of their own (own config, own cache,
own assignment folder) and fetches, submits and fetches feedback through the code behind
JupyterLab's Assignment List (``nbgrader.server_extensions.assignment_list``), one student also
with the ``nbgrader fetch_feedback`` command.  Then ``convcourse feedback`` writes the pages and
``nbgrader release_feedback`` (or ``convcourse feedback --release``) publishes them.

The world is built once and copied per test: every path in it is relative to its config files.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

from convcourse.instructor.cli import main
from convcourse.instructor.layout import ConfigError, CourseLayout
from convcourse.instructor.reporting.feedback_release import (
    MAX_NOTEBOOKS,
    SECRET_NAME,
    TIMESTAMP_NAME,
    exchange_submission,
    release_to_exchange,
    write_exchange_copies,
)

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

AID = "01_tiny"
COURSE_ID = "tiny"
COURSE_CONFIG = f"""from pathlib import Path
c = get_config()
c.CourseDirectory.course_id = "{COURSE_ID}"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.Exchange.root = str(Path(__file__).resolve().parent.parent / "exchange")
"""
STUDENT_CONFIG = """from pathlib import Path
c = get_config()
home = Path(__file__).resolve().parent
c.CourseDirectory.course_id = "{course}"
c.CourseDirectory.student_id = "{student}"
c.Exchange.root = str(home.parent.parent / "exchange")
c.Exchange.cache = str(home / "cache")
c.Exchange.assignment_dir = str(home)
"""
# What each student writes: right, wrong, right (carol then resubmits something else).
ANSWERS = {"alice": "x * x", "bob": "x + x", "carol": "x ** 2"}


def _instructor_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    answer = nbformat.v4.new_code_cell(
        "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
    )
    answer.metadata["nbgrader"] = {
        "schema_version": 3,
        "solution": True,
        "grade": False,
        "locked": False,
        "grade_id": "square",
    }
    test = nbformat.v4.new_code_cell("assert square(3) == 9")
    test.metadata["nbgrader"] = {
        "schema_version": 3,
        "solution": False,
        "grade": True,
        "locked": True,
        "grade_id": "test-square",
        "points": 2,
    }
    nb.cells = [nbformat.v4.new_markdown_cell("Write `square(x)`."), answer, test]
    return nb


def _env(world: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # No user or machine nbgrader config may point anything elsewhere.
    env["JUPYTER_CONFIG_DIR"] = str(world / "jupyter-config")
    env.pop("JUPYTER_CONFIG_PATH", None)
    return env


def nbgrader(world: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=_env(world),
        capture_output=True,
        text=True,
        timeout=300,
    )


def instructor(world: Path, *args: str) -> None:
    proc = nbgrader(world, world / "course", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def home(world: Path, student: str) -> Path:
    return world / "students" / student


def assignment_list(world: Path, student: str) -> AssignmentList:
    """The Assignment List's server side for ``student`` (what its buttons call)."""
    lister = AssignmentList()
    lister.root_dir = str(home(world, student))
    return lister


def ok(result: dict) -> None:
    assert result["success"], result.get("value")


def answer(world: Path, student: str, body: str) -> None:
    path = home(world, student) / AID / f"{AID}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "square":
            cell.source = f"def square(x):\n    return {body}"
    nbformat.write(nb, path)


def submissions(world: Path, student: str) -> list[dict]:
    """The student's submissions of the assignment as the Assignment List lists them."""
    listed = assignment_list(world, student).list_submitted_assignments(COURSE_ID)
    ok(listed)
    (entry,) = [a for a in listed["value"] if a["assignment_id"] == AID]
    return entry["submissions"]


def fetched_pages(world: Path, student: str) -> dict[str, str]:
    """Every feedback file the student has, by its path under the assignment folder."""
    folder = home(world, student) / AID / "feedback"
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def convcourse(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


@pytest.fixture(autouse=True)
def _no_outside_config(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    # The Assignment List changes directory; make sure every test ends where it started.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def world_template(tmp_path_factory):
    """Instructor and students after collect and autograde; carol resubmitted after collect."""
    world = tmp_path_factory.mktemp("exchange") / "world"
    course = world / "course"
    (course / "solutions" / AID).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG)
    nbformat.write(_instructor_notebook(), course / "solutions" / AID / f"{AID}.ipynb")
    (world / "exchange").mkdir()
    (world / "exchange").chmod(0o777)
    instructor(world, "generate_assignment", AID, "--force")
    instructor(world, "release_assignment", AID)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_CONFIG_DIR", str(world / "jupyter-config"))
        mp.delenv("JUPYTER_CONFIG_PATH", raising=False)
        mp.chdir(world)  # the Assignment List changes directory and back
        for student, body in ANSWERS.items():
            make_student(world, student)
            ok(assignment_list(world, student).fetch_assignment(COURSE_ID, AID))
            answer(world, student, body)
            ok(assignment_list(world, student).submit_assignment(COURSE_ID, AID))
        instructor(world, "collect", AID)
        answer(world, "carol", "abs(x) * abs(x)")  # after the collection: never graded
        ok(assignment_list(world, "carol").submit_assignment(COURSE_ID, AID))
    instructor(world, "autograde", AID)
    return world


def make_student(world: Path, student: str) -> None:
    folder = home(world, student)
    folder.mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(
        STUDENT_CONFIG.format(course=COURSE_ID, student=student)
    )


@pytest.fixture
def world(world_template, tmp_path) -> Path:
    copy = tmp_path / "world"
    shutil.copytree(world_template, copy, symlinks=True)
    return copy


def _cache_secrets(world: Path, student: str) -> list[str]:
    cache = home(world, student) / "cache" / COURSE_ID
    return [(p / SECRET_NAME).read_text() for p in sorted(cache.glob(f"{student}+{AID}+*"))]


def test_nbgrader_release_and_fetch_deliver_each_student_their_own_page(world):
    course = world / "course"
    code, err = convcourse("feedback", AID, "--course", str(course))
    assert code == 0, err
    assert "all 3 page(s) ready for nbgrader's exchange" in err
    layout = CourseLayout.load(course)
    for student in ANSWERS:
        folder = layout.feedback_dir(student, AID)
        page = (folder / "feedback.html").read_text(encoding="utf-8")
        # The page students already get, under the notebook's name, with the secret of the
        # collected submission: the one nbgrader submit left in the student's cache first.
        assert (folder / f"{AID}.html").read_text(encoding="utf-8") == page
        assert (folder / SECRET_NAME).read_text() == _cache_secrets(world, student)[0]
        assert (folder / f"{AID}.html").stat().st_mode & 0o777 == 0o644
    assert len(set(_cache_secrets(world, "carol"))) == 2

    instructor(world, "release_feedback", AID)
    released = sorted((world / "exchange" / COURSE_ID / "feedback").iterdir())
    assert released and all(p.stat().st_mode & 0o004 for p in released)  # others may read

    # Before fetching, the Assignment List offers feedback for the collected submissions only.
    assert [s["has_exchange_feedback"] for s in submissions(world, "alice")] == [True]
    assert [s["has_exchange_feedback"] for s in submissions(world, "carol")] == [True, False]

    # alice with the command line, the others with the Assignment List's Fetch Feedback.
    proc = nbgrader(world, home(world, "alice"), "fetch_feedback", AID)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for student in ("bob", "carol"):
        ok(assignment_list(world, student).fetch_feedback(COURSE_ID, AID))

    for student in ANSWERS:
        own = (layout.feedback_dir(student, AID) / "feedback.html").read_text(encoding="utf-8")
        first = submissions(world, student)[0]
        pages = fetched_pages(world, student)
        # One page, in the folder of the collected submission, and it is this student's.
        assert pages == {f"{first['timestamp']}/{AID}.html": own}, student
        assert f"Student: {student}" in own
        assert all(f"Student: {other}" not in own for other in ANSWERS if other != student)
        assert first["has_local_feedback"] is True
    alice = fetched_pages(world, "alice").popitem()[1]
    bob = fetched_pages(world, "bob").popitem()[1]
    assert "2 out of 2" in alice and "0 out of 2" in bob  # from nbgrader's autograde
    # carol's later submission was never collected: nothing is released for it.
    later = submissions(world, "carol")[1]
    assert later["has_exchange_feedback"] is False and later["has_local_feedback"] is False


def test_release_option_skips_students_who_handed_in_through_the_lms(world, tmp_path):
    course = world / "course"
    # dave handed in through the LMS (brought in with convcourse ingest), and also pressed
    # Submit in his own JupyterLab; only the LMS copy was collected and graded.
    upload = tmp_path / "lms" / "dave"
    upload.mkdir(parents=True)
    nb = nbformat.read(course / "notebooks" / AID / f"{AID}.ipynb", as_version=4)
    nbformat.write(nb, upload / f"{AID}.ipynb")
    code, err = convcourse("ingest", AID, str(tmp_path / "lms"), "--course", str(course))
    assert code == 0, err
    make_student(world, "dave")
    ok(assignment_list(world, "dave").fetch_assignment(COURSE_ID, AID))
    ok(assignment_list(world, "dave").submit_assignment(COURSE_ID, AID))
    instructor(world, "autograde", AID, "--student", "dave")

    code, err = convcourse("feedback", AID, "--course", str(course))
    assert code == 0, err
    assert "3 of 4 page(s) ready for nbgrader's exchange" in err and "--release" in err
    assert not (course / "feedback" / "dave" / AID / f"{AID}.html").exists()
    # nbgrader's own command needs a secret in every feedback folder, and dave's has none.
    assert nbgrader(world, course, "release_feedback", AID).returncode != 0
    shutil.rmtree(world / "exchange" / COURSE_ID / "feedback", ignore_errors=True)

    code, err = convcourse("feedback", AID, "--course", str(course), "--release")
    assert code == 0, err
    assert "for 3 student(s), 1 without an exchange submission, 0 failed" in err
    assert f"dave: not released - no {SECRET_NAME}" in err

    assert [s["has_exchange_feedback"] for s in submissions(world, "dave")] == [False]
    ok(assignment_list(world, "dave").fetch_feedback(COURSE_ID, AID))
    assert fetched_pages(world, "dave") == {}
    ok(assignment_list(world, "alice").fetch_feedback(COURSE_ID, AID))
    (alice,) = fetched_pages(world, "alice").values()
    assert "Student: alice" in alice and "Student: dave" not in alice

    # --student releases only that student's page.
    shutil.rmtree(world / "exchange" / COURSE_ID / "feedback")
    code, err = convcourse(
        "feedback", AID, "--course", str(course), "--release", "--student", "bob"
    )
    assert code == 0 and "for 1 student(s), 0 without" in err, err
    assert [s["has_exchange_feedback"] for s in submissions(world, "bob")] == [True]
    assert [s["has_exchange_feedback"] for s in submissions(world, "alice")] == [False]


# ----------------------------------------------------------------------------------------------
# What is written for one folder, without an exchange


SECRET = "ab" * 64  # what secrets.token_hex(64) looks like


def _submission(tmp_path: Path, files: dict[str, bytes | str]) -> CourseLayout:
    layout = CourseLayout(root=tmp_path)
    folder = layout.submission_dir("eve", AID)
    folder.mkdir(parents=True)
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return layout


def test_copies_for_every_notebook_nbgrader_will_look_up(tmp_path):
    import datetime as dt

    layout = _submission(
        tmp_path,
        {
            SECRET_NAME: SECRET,
            f"{AID}.ipynb": "{}",
            "scratch work.ipynb": "{}",  # fetch_feedback looks a page up for this one too
            ".hidden.ipynb": "{}",  # glob("*.ipynb") does not see it
            "timestamp.txt": "1999-01-01 00:00:00.000000 UTC",  # the student's, not believed
        },
    )
    (layout.submission_dir("eve", AID) / "link.ipynb").symlink_to("/etc/passwd")
    when = dt.datetime(2026, 11, 20, 10, 5, 7, 250000)
    pages = write_exchange_copies(layout, AID, "eve", "<p>eve's page</p>", when)
    folder = layout.feedback_dir("eve", AID)
    assert sorted(p.name for p in pages) == [f"{AID}.html", "scratch work.html"]
    assert all(p.read_text() == "<p>eve's page</p>" for p in pages)
    assert (folder / SECRET_NAME).read_bytes() == SECRET.encode()
    assert (folder / SECRET_NAME).stat().st_mode & 0o077 == 0
    assert (folder / TIMESTAMP_NAME).read_text() == "2026-11-20 10:05:07.250000 UTC"


@pytest.mark.parametrize(
    "secret",
    [SECRET + "\n", "../../" + SECRET, "A" * 128, "ab" * 8, "ab" * 600, b"\xff" * 64],
    ids=["newline", "path", "upper", "short", "long", "binary"],
)
def test_a_secret_nbgrader_did_not_write_gets_no_copies(tmp_path, secret):
    layout = _submission(tmp_path, {SECRET_NAME: secret, f"{AID}.ipynb": "{}"})
    stale = layout.feedback_dir("eve", AID) / SECRET_NAME
    stale.parent.mkdir(parents=True)
    stale.write_text("cd" * 64)  # from an earlier submission
    offer = exchange_submission(layout, AID, "eve")
    assert offer.secret is None and offer.fault and SECRET_NAME in offer.reason
    assert write_exchange_copies(layout, AID, "eve", "page") == []
    assert not stale.exists()  # the page must not go out under the old submission's secret
    assert not (layout.feedback_dir("eve", AID) / f"{AID}.html").exists()


def test_lms_submissions_and_odd_folders(tmp_path):
    layout = _submission(tmp_path, {f"{AID}.ipynb": "{}"})
    offer = exchange_submission(layout, AID, "eve")
    assert offer.secret is None and not offer.fault  # the LMS's way: not a fault
    assert write_exchange_copies(layout, AID, "eve", "page") == []

    many = {f"nb{i:03}.ipynb": "{}" for i in range(MAX_NOTEBOOKS + 1)}
    layout = _submission(tmp_path / "many", {SECRET_NAME: SECRET, **many})
    offer = exchange_submission(layout, AID, "eve")
    assert offer.fault and f"{MAX_NOTEBOOKS + 1} notebooks" in offer.reason

    layout = _submission(tmp_path / "none", {SECRET_NAME: SECRET, "answer.py": ""})
    assert exchange_submission(layout, AID, "eve").fault


def test_release_needs_a_course_id(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(ConfigError, match="course id"):
        release_to_exchange(CourseLayout.load(tmp_path), AID, ["eve"])
