"""Feedback pages where nbgrader's exchange finds them: ``release_feedback`` and ``fetch_feedback``.

What nbgrader 0.9 does (``nbgrader/exchange/default/release_feedback.py``, ``fetch_feedback.py``
and ``list.py``):

- ``nbgrader submit`` (run by the student) writes a random ``submission_secret.txt``
  (``secrets.token_hex(64)``) and a ``timestamp.txt`` beside the notebooks, both in the exchange's
  ``inbound/`` and in the student's own cache; ``nbgrader collect`` copies the whole submission,
  the secret included, to ``submitted/<student>/<assignment>/``.
- ``nbgrader release_feedback`` takes every ``<feedback>/<student>/<assignment>/*.html``; it reads
  that folder's ``timestamp.txt`` (only to log it) and ``submission_secret.txt`` and copies the
  page to ``<exchange>/<course>/feedback/<md5(secret + notebook)>.html``, the notebook being the
  page's name without ``.html``.  A folder without those two files stops the command.
- ``nbgrader fetch_feedback`` (and the Assignment List's "Fetch Feedback") computes the same name
  for each notebook of each submission in the student's cache and copies what it finds to
  ``<assignment>/feedback/<timestamp>/<notebook>.html``; the Assignment List offers feedback for a
  submission when every notebook of it has a page.

So for a student who handed in through the exchange, :func:`write_exchange_copies` writes, beside
``feedback.html``, the same page as ``<notebook>.html`` for every notebook of the collected
submission, that submission's secret (byte for byte: the name is a hash of it) and a
``timestamp.txt`` with the gradebook's submission time (empty when unknown; the secret and the
notebook names are what the student's own copy is matched by, and nothing here believes the
student's ``timestamp.txt``).  A page reaches only the submission whose secret it was released
under: a student's later, uncollected submission has a new secret and gets nothing.
(``feedback.html`` is released too, as if for a notebook named ``feedback``: the same page, for
the same submission.)  The secret is the student's own -- ``nbgrader submit`` runs as the
student -- and decides only where that student's own page is filed, so a forged one can at
worst keep the page from its owner; one that is not what nbgrader writes gets no copies.  Students
who handed in through the LMS have no secret; their folders get no copies, and
:func:`release_to_exchange` (``convcourse feedback --release``) releases, student by student
with nbgrader's own exchange code, only the folders that have one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.instructor.files import write_atomic
from convcourse.instructor.layout import ConfigError, CourseLayout

__all__ = [
    "SECRET_NAME",
    "TIMESTAMP_NAME",
    "ExchangeSubmission",
    "ReleaseReport",
    "exchange_notebooks",
    "exchange_submission",
    "read_secret",
    "release_to_exchange",
    "write_exchange_copies",
]

SECRET_NAME = "submission_secret.txt"
TIMESTAMP_NAME = "timestamp.txt"
# nbgrader writes secrets.token_hex(64); anything else did not come from nbgrader submit.
_SECRET = re.compile(r"[0-9a-f]{32,256}")
_MAX_SECRET_BYTES = 1024
# A submission with more notebooks than this is not a lesson: no copies (one per notebook).
MAX_NOTEBOOKS = 50
# The exchange copy is read by the student, another user on a shared hub (nbgrader's
# generate_feedback writes its pages 0644 too); the secret stays the instructor's alone.
_PAGE_MODE = 0o644
_SECRET_MODE = 0o600


@dataclass
class ReleaseReport:
    """Which students' pages :func:`release_to_exchange` released, and which not and why."""

    released: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # no exchange submission: not a fault
    failed: dict[str, str] = field(default_factory=dict)

    def text(self, assignment_id: str) -> str:
        lines = [
            f"{assignment_id}: feedback released to nbgrader's exchange for "
            f"{len(self.released)} student(s), {len(self.skipped)} without an exchange "
            f"submission, {len(self.failed)} failed"
        ]
        lines += [f"  {s}: not released - {why}" for s, why in sorted(self.skipped.items())]
        lines += [f"  {s}: FAILED - {why}" for s, why in sorted(self.failed.items())]
        return "\n".join(lines)

    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True)
class ExchangeSubmission:
    """What a collected submission offers nbgrader's exchange: its secret and notebooks, or
    why nothing (``fault``: a malformed submission to report, not one that came from the LMS)."""

    secret: str | None
    notebooks: tuple[str, ...] = ()
    reason: str = ""
    fault: bool = False


def read_secret(submission_dir: Path) -> tuple[str | None, str, bool]:
    """``(secret, reason, fault)``: the exact text of the submission's ``submission_secret.txt``
    when it is one nbgrader wrote, else None, why, and whether that is a fault (a malformed
    file) rather than a submission that did not come through the exchange."""
    path = submission_dir / SECRET_NAME
    if path.is_symlink() or not path.exists():
        return None, f"no {SECRET_NAME} (not handed in through nbgrader's exchange)", False
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SECRET_BYTES:
            return None, f"{SECRET_NAME} is not a small regular file", True
        text = path.read_bytes().decode("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{SECRET_NAME} unreadable ({type(exc).__name__})", True
    if not _SECRET.fullmatch(text):
        return None, f"{SECRET_NAME} is not one nbgrader submit writes (hex digits only)", True
    return text, "", False


def _usable_name(stem: str) -> bool:
    """A notebook name that can be a page's name and that nbgrader's release can match."""
    return bool(stem) and not any(unicodedata.category(ch).startswith("C") for ch in stem)


def exchange_notebooks(submission_dir: Path) -> list[str]:
    """The notebooks (names without ``.ipynb``) that fetch_feedback will look a page up for:
    what its ``glob("*.ipynb")`` finds at the top of the student's copy of the submission, of
    which the collected submission is a copy (regular files only)."""
    if not submission_dir.is_dir():
        return []
    names = [
        p.name[: -len(".ipynb")]
        for p in submission_dir.iterdir()
        if p.name.endswith(".ipynb")
        and not p.name.startswith(".")
        and p.is_file()
        and not p.is_symlink()
    ]
    return sorted(n for n in names if _usable_name(n))


def exchange_submission(layout: CourseLayout, assignment_id: str, student_id: str):
    """The :class:`ExchangeSubmission` of a student's collected submission."""
    folder = layout.submission_dir(student_id, assignment_id)
    secret, reason, fault = read_secret(folder)
    if secret is None:
        return ExchangeSubmission(None, reason=reason, fault=fault)
    notebooks = exchange_notebooks(folder)
    if not notebooks or len(notebooks) > MAX_NOTEBOOKS:
        why = f"{len(notebooks) or 'no'} notebooks in the collected submission"
        return ExchangeSubmission(None, reason=why, fault=True)
    return ExchangeSubmission(secret, tuple(notebooks))


def _nbgrader_time(timestamp) -> str:
    """A naive-UTC datetime as nbgrader's default ``timestamp_format`` writes it."""
    return "" if timestamp is None else timestamp.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def write_exchange_copies(
    layout: CourseLayout, assignment_id: str, student_id: str, page: str, timestamp=None
) -> list[Path]:
    """Write what nbgrader's release_feedback needs into the student's feedback folder; return
    the ``<notebook>.html`` copies written (none for a submission not from the exchange).

    ``page`` is the student's feedback page (the text of ``feedback.html``), ``timestamp`` the
    gradebook's submission time (naive UTC).  Without a valid secret in the collected submission
    nothing is written, and a ``submission_secret.txt`` left in the feedback folder by an earlier
    submission is removed: released under it, the page would reach a submission it is not about.
    """
    offer = exchange_submission(layout, assignment_id, student_id)
    folder = layout.feedback_dir(student_id, assignment_id)
    if offer.secret is None:
        (folder / SECRET_NAME).unlink(missing_ok=True)
        return []
    pages = [write_atomic(folder / f"{name}.html", page) for name in offer.notebooks]
    # release_feedback copies every page of the folder, mode included (feedback.html too).
    for path in folder.glob("*.html"):
        if path.is_file() and not path.is_symlink():
            path.chmod(_PAGE_MODE)
    write_atomic(folder / TIMESTAMP_NAME, _nbgrader_time(timestamp))
    write_atomic(folder / SECRET_NAME, offer.secret).chmod(_SECRET_MODE)
    return pages


def release_to_exchange(
    layout: CourseLayout, assignment_id: str, students: list[str]
) -> ReleaseReport:
    """Release the feedback of ``students`` with nbgrader's exchange, one student at a time.

    nbgrader is configured as ``nbgrader release_feedback`` run in the course folder would be
    (Jupyter's config path, then the course's ``nbgrader_config.py``), so the exchange root and
    course id are the course's.  Students without an exchange submission are skipped; a student
    whose release fails is reported and the others are still released.
    """
    from nbgrader.apps.releasefeedbackapp import ReleaseFeedbackApp
    from nbgrader.auth import Authenticator
    from nbgrader.exchange import ExchangeError, ExchangeFactory

    app = ReleaseFeedbackApp()
    # The course's configuration comes from its folder, not from wherever convcourse runs.
    app.load_cwd_config = False
    try:
        app.initialize(["--log-level=WARN"], root=str(layout.root))
    except SystemExit:  # traitlets exits on a configuration error, after logging it
        raise ConfigError("nbgrader could not load its configuration (see above)") from None
    if not app.coursedir.course_id:
        raise ConfigError(
            "nbgrader's exchange needs a course id: set c.CourseDirectory.course_id in "
            f"{layout.root / 'nbgrader_config.py'}"
        )
    authenticator = Authenticator(parent=app)
    exchange = ExchangeFactory(parent=app)
    report = ReleaseReport()
    app.coursedir.assignment_id = assignment_id
    for student_id in sorted(dict.fromkeys(students)):
        offer = exchange_submission(layout, assignment_id, student_id)
        if offer.secret is None:
            (report.failed if offer.fault else report.skipped)[student_id] = offer.reason
            continue
        written = layout.feedback_dir(student_id, assignment_id) / SECRET_NAME
        if not written.is_file() or written.read_text(encoding="ascii") != offer.secret:
            report.failed[student_id] = (
                "the feedback folder is not this submission's: run convcourse feedback first"
            )
            continue
        app.coursedir.student_id = student_id
        release = exchange.ReleaseFeedback(
            coursedir=app.coursedir, authenticator=authenticator, parent=app
        )
        try:
            release.start()
        except (ExchangeError, OSError) as exc:
            report.failed[student_id] = f"{type(exc).__name__}: {exc}"
        else:
            report.released.append(student_id)
    return report
