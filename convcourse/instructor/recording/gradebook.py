"""Writing grades into nbgrader's gradebook, through nbgrader's own API.

The database is whatever SQLAlchemy URL the course uses (``sqlite:///gradebook.db`` by default,
``postgresql://...`` works the same).  Assignments are registered by nbgrader's own
``generate_assignment`` (run in a throw-away course folder, so the committed release is never
touched), and scores are written the way ``nbgrader autograde`` writes them: the same grade and
comment rows, the same ``needs_manual_grade`` rules, manual scores left alone.  The formgrader,
``generate_feedback`` and ``export`` therefore work on the result unchanged.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from convcourse.instructor.authoring.spec import AssignmentSpec
from convcourse.instructor.layout import ConfigError, CourseLayout

__all__ = ["GradebookWriter", "GradebookError"]


class GradebookError(ConfigError):
    """The gradebook cannot be opened or refuses the assignment."""


class GradebookWriter:
    """One open gradebook for a batch; every method commits before it returns."""

    def __init__(self, db_url: str, course_id: str = ""):
        from nbgrader.api import Gradebook

        scripts_on_path()
        self.db_url = db_url
        try:
            self.gb = Gradebook(db_url, course_id or "default_course")
        except Exception as exc:
            raise GradebookError(f"cannot open the gradebook {_redact(db_url)}: {exc}") from None

    def close(self) -> None:
        self.gb.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- assignments

    def in_sync(self, spec: AssignmentSpec) -> bool:
        """Whether the gradebook knows the assignment with the spec's cells and points."""
        from nbgrader.api import MissingEntry

        try:
            assignment = self.gb.find_assignment(spec.assignment_id)
        except MissingEntry:
            return False
        notebooks = {nb.name: nb for nb in assignment.notebooks}
        if set(notebooks) != set(spec.notebooks):
            return False
        for name, nb_spec in spec.notebooks.items():
            db_nb = notebooks[name]
            db_cells = {c.name: c for c in db_nb.source_cells}
            grade_cells = {c.name: c.max_score for c in db_nb.grade_cells}
            for cell in nb_spec.cells:
                db_cell = db_cells.get(cell.grade_id)
                if db_cell is None or db_cell.checksum != cell.checksum:
                    return False
                if (
                    cell.role in ("test", "manual")
                    and grade_cells.get(cell.grade_id) != cell.points
                ):
                    return False
            if len(db_cells) != len(nb_spec.cells):
                return False
        return True

    def register(self, layout: CourseLayout, spec: AssignmentSpec) -> None:
        """Add (or update) the assignment with nbgrader's generate_assignment, if needed."""
        if self.in_sync(spec):
            return
        from nbgrader.converters import GenerateAssignment
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.utils import capture_log

        from convcourse.instructor.layout import nbgrader_config

        with tempfile.TemporaryDirectory(prefix="convcourse-register-") as tmp:
            course = Path(tmp)
            shutil.copytree(
                layout.source_dir(spec.assignment_id),
                course / "source" / spec.assignment_id,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
            config = nbgrader_config(layout.root)
            config.CourseDirectory.root = str(course)
            config.CourseDirectory.source_directory = "source"
            config.CourseDirectory.release_directory = "release"
            config.CourseDirectory.db_url = self.db_url
            if layout.course_id:
                config.CourseDirectory.course_id = layout.course_id
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = spec.assignment_id
            app = GenerateAssignment(coursedir=coursedir, config=config)
            result = capture_log(app)
        # Our session may hold stale rows: start afresh.
        self.gb.db.expire_all()
        if not result["success"]:
            log = (result.get("log") or "").strip().splitlines()[-5:]
            raise GradebookError(
                f"nbgrader could not register {spec.assignment_id} in the gradebook:\n"
                + "\n".join(log)
            )

    # -- grades

    def record(self, spec: AssignmentSpec, student_id: str, grades: dict, timestamp=None) -> None:
        """Write one submission's scores, as ``nbgrader autograde`` does, in one commit."""
        gb = self.gb
        try:
            with warnings.catch_warnings():
                # nbgrader's own autograde prints these too ("not in session"): harmless.
                warnings.simplefilter("ignore", category=_sa_warning())
                self._record(spec, student_id, grades, timestamp)
        except Exception:
            gb.db.rollback()
            raise

    def _record(self, spec, student_id, grades, timestamp) -> None:
        gb = self.gb
        gb.update_or_create_student(student_id)
        # The time of the submission graded now, even when unknown (None): a resubmission must
        # not keep the time of the file it replaced.  Penalties follow (recording/lateness.py).
        submission = gb.update_or_create_submission(
            spec.assignment_id, student_id, timestamp=timestamp or None
        )
        for notebook in submission.notebooks:
            info = grades.get(notebook.name, {"missing": True})
            scores = info.get("scores", {})
            answered = info.get("answered", {})
            missing = info.get("missing", False)
            # Tests withheld for review: 0 for now, flagged for the formgrader, the evidence
            # written on the answer cell the test checks (nbgrader keeps comments there).
            review = info.get("review", {}) if not missing else {}
            notes: dict[str, list[str]] = {}
            for test_id, (answer_id, why) in review.items():
                if answer_id:
                    notes.setdefault(answer_id, []).append(
                        f"Points of {test_id} withheld for the instructor's review: {why}"
                    )
            for grade in notebook.grades:
                name = grade.name
                if missing:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                    continue
                if name in scores:
                    grade.auto_score = scores[name]
                elif name in answered:  # a hand-graded answer
                    grade.auto_score = None if answered[name] else 0
                else:
                    grade.auto_score = 0
                grade.needs_manual_grade = (
                    grade.manual_score is not None
                    or grade.auto_score is None
                    or (name in review and grade.manual_score is None)
                )
            for comment in notebook.comments:
                if missing:
                    continue
                done = answered.get(comment.name, True)
                comment.auto_comment = None if done else "No response."
                if comment.name in notes:
                    comment.auto_comment = "\n".join(notes[comment.name])
        gb.db.commit()

    def scores(self, assignment_id: str) -> dict[str, dict[str, float | None]]:
        """``student -> {grade_id: auto_score}`` (for tests and comparisons)."""
        out: dict[str, dict[str, float | None]] = {}
        assignment = self.gb.find_assignment(assignment_id)
        for submission in assignment.submissions:
            cells = out.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = grade.auto_score
        return out


def scripts_on_path() -> None:
    """nbgrader runs the ``alembic`` script when it creates a gradebook: make sure the one
    installed beside this Python is found even when its environment is not activated."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = scripts + (os.pathsep + path if path else "")


def _sa_warning():
    from sqlalchemy.exc import SAWarning

    return SAWarning


def _redact(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
