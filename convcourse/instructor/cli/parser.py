"""The arguments of every ``convcourse`` command: one parser, its help texts and the epilog."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["EPILOG", "build_parser"]

EPILOG = """\
Typical round, from the course folder (the one with nbgrader_config.py):

  convcourse release                                   # notebooks/ from solutions/
  convcourse ingest 02_cross_correlation canvas.zip    # submissions from the LMS export
  convcourse autograde 02_cross_correlation            # sandboxed, parallel, resumable
  convcourse feedback 02_cross_correlation             # feedback/<student>/... HTML
  convcourse export --out grades.csv                   # one row per student and assignment
  convcourse report 02_cross_correlation               # class report (HTML)
  convcourse similarity 02_cross_correlation           # pairs of similar answers (HTML)
  convcourse export --format canvas --assignment 02_cross_correlation  # LMS import file

exit codes: 0 all fine, 1 some submissions had problems (recorded), 2 usage/configuration error
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _common(p: argparse.ArgumentParser, db: bool = True) -> None:
    p.add_argument(
        "--course",
        type=Path,
        default=Path("."),
        help="course folder (holds nbgrader_config.py, solutions/, submitted/, ...)",
    )
    if db:
        p.add_argument(
            "--db",
            metavar="URL",
            default=os.environ.get("CONVCOURSE_DB_URL"),
            help="gradebook as an SQLAlchemy URL (default: nbgrader's, sqlite:///<course>/"
            "gradebook.db; env CONVCOURSE_DB_URL)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convcourse",
        description="Instructor tools for the convcourse nbgrader course.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "release",
        help="generate the student notebooks (notebooks/) from solutions/",
        description="Regenerate the student release with nbgrader's generate_assignment "
        "(solutions and hidden tests removed). With --check, write nothing and exit 1 when the "
        "committed release is out of date.",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("assignments", nargs="*", help="assignments to release (default: all)")
    p.add_argument("--check", action="store_true", help="only check that notebooks/ is in sync")
    p.add_argument(
        "--lang",
        action="append",
        metavar="LANG",
        help="only this edition (en, or a language of translations/); repeatable (default: all)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--strip-sources",
        action="store_true",
        help="put the instructor notebooks (solutions/) in canonical form instead",
    )
    what.add_argument(
        "--refresh-outputs",
        action="store_true",
        help="re-run the instructor notebooks and store the outputs nbval checks",
    )

    p = sub.add_parser(
        "translation",
        help="keep a translation (translations/LANG/) in step with solutions/",
        description="sync: give every markdown cell of solutions/ a block in "
        "translations/LANG/<notebook>.md (new cells get the English text, marked todo; blocks "
        "of removed cells go), then list what is left to do. check: only list the problems "
        "(missing, stale, todo or empty blocks); exit 1 when there are any. After reviewing a "
        "translation against changed English, `sync LANG --reviewed CELL_ID` stores the new "
        "English hash.",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("action", choices=("sync", "check"))
    p.add_argument("lang", help="the edition's language code (zh)")
    p.add_argument(
        "--reviewed",
        action="append",
        metavar="CELL_ID",
        help="(sync) this cell's translation was checked against today's English; repeatable",
    )

    p = sub.add_parser(
        "ingest",
        help="copy submissions from a folder or an LMS zip into submitted/",
        description="Read a folder or the zip exported by Canvas or Moodle (or a plain "
        "<student>/<notebook>.ipynb layout) and store each student's files in "
        "submitted/<student>/<assignment>/. The input is never modified; zip-slip, zip bombs, "
        "links and oversized files are refused with a note. People are told apart by their LMS "
        "id: two people never share a folder. Submission times come only from the LMS (--times) "
        "or, for plain folders and zips, from the files' own times; a timestamp.txt a student "
        "wrote is ignored. Exit 1 when some files were refused or ids needed a warning.",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("assignment", help="assignment id, e.g. 02_cross_correlation")
    p.add_argument("source", type=Path, help="the LMS zip file or a folder")
    p.add_argument(
        "--lms",
        choices=["auto", "canvas", "moodle", "plain"],
        default="auto",
        help="naming convention of the export",
    )
    p.add_argument(
        "--roster",
        type=Path,
        help="CSV with a student_id column and lms_id/name/email/login columns",
    )
    p.add_argument(
        "--id-from",
        choices=["name", "lms-id"],
        default="name",
        help="student id from the LMS name or from the LMS numeric id",
    )
    p.add_argument(
        "--times",
        type=Path,
        metavar="CSV",
        help="the LMS's submission times: an id column (lms_id, user_id, participant_id, "
        "identifier or student_id), submitted_at (ISO 8601 with UTC offset), optional late",
    )
    p.add_argument("--max-file-mb", type=float, default=32.0, help="largest file accepted")
    p.add_argument(
        "--max-total-mb",
        type=float,
        default=2048.0,
        help="largest total uncompressed size of the export",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be written")

    p = sub.add_parser(
        "autograde",
        help="grade submissions into the gradebook, sandboxed and in parallel",
        description="Grade every submission of ASSIGNMENT (or --student ones) into nbgrader's "
        "gradebook. Each submission runs in a sandbox (bubblewrap namespaces, no network, no "
        "access to the course folder, its own user id, seccomp, limits on time, memory, "
        "processes and output); verdicts are made outside it. Interrupted runs resume: "
        "unchanged, already graded submissions are skipped (use --force to regrade). "
        "Exit 1 when some submissions are not fully graded (each has a recorded status).",
        formatter_class=_Formatter,
    )
    _common(p)
    p.add_argument("assignment", help="assignment id, e.g. 02_cross_correlation")
    p.add_argument(
        "--student",
        action="append",
        dest="students",
        metavar="ID",
        help="grade only this student (repeatable)",
    )
    p.add_argument("--force", action="store_true", help="regrade even when nothing changed")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="parallel sandboxes on this machine",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the submissions on this Dask scheduler (tcp://host:8786)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per submission")
    p.add_argument("--memory-mb", type=int, default=1024, help="memory per submission")
    p.add_argument(
        "--max-processes", type=int, default=32, help="processes and threads per submission"
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="UNSAFE: run student code without isolation (it can read the solutions, "
        "the gradebook and other submissions, and use the network). Only for trusted "
        "code on machines where bubblewrap cannot run.",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser(
        "feedback",
        help="write HTML feedback for students (feedback/<student>/<assignment>/)",
        description="Generate the students' feedback from the gradebook and the grader's "
        "results; no hidden test, solution or expected value of a hidden case appears in it. "
        "For students who handed in through nbgrader's exchange (nbgrader submit, then "
        "nbgrader collect) the page is also written where `nbgrader release_feedback` finds it, "
        "so they can fetch it in the Assignment List (or with `nbgrader fetch_feedback`).",
        formatter_class=_Formatter,
    )
    _common(p)
    p.add_argument("assignment")
    p.add_argument(
        "--student",
        action="append",
        dest="students",
        metavar="ID",
        help="only this student (repeatable)",
    )
    p.add_argument(
        "--release",
        action="store_true",
        help="then release the pages to nbgrader's exchange (as `nbgrader release_feedback`, "
        "student by student, skipping students who did not hand in through the exchange)",
    )

    p = sub.add_parser(
        "export",
        help="write the grades as CSV (nbgrader's columns, or a Canvas or Moodle import file)",
        description="Export grades (nbgrader's CSV columns and more) for all assignments or one. "
        "--format canvas writes a file for Canvas's gradebook import (Grades > Import), "
        "--format moodle one for the Moodle assignment's 'Upload grading worksheet', for one "
        "--assignment, matched by the LMS ids recorded at ingest; students without one are "
        "listed on stderr and in <out>.unmatched.csv (exit 1).",
        formatter_class=_Formatter,
    )
    _common(p)
    p.add_argument("--assignment", help="only this assignment (required for canvas and moodle)")
    p.add_argument(
        "--out",
        type=Path,
        help="CSV file to write; without it grades.csv, or <assignment>-<format>.csv for an LMS",
    )
    p.add_argument(
        "--wide",
        action="store_true",
        help="nbgrader format: also a points:<grade id> column per graded cell",
    )
    p.add_argument(
        "--format",
        choices=("nbgrader", "canvas", "moodle"),
        default="nbgrader",
        help="what to write",
    )
    p.add_argument(
        "--lms-assignment-id",
        metavar="ID",
        help="Canvas: the assignment's id (from /courses/<c>/assignments/<ID>); without it "
        "Canvas matches the column by title, or creates a new assignment",
    )
    p.add_argument(
        "--lms-assignment-name",
        metavar="TITLE",
        help="Canvas: the column title; without it the assignment name",
    )
    p.add_argument(
        "--out-of",
        type=float,
        metavar="POINTS",
        help="canvas/moodle: rescale scores to this maximum (the LMS assignment's points)",
    )

    p = sub.add_parser(
        "report",
        help="write the class report of an assignment (HTML)",
        description="A report on one assignment: score distribution, pass rate per exercise, "
        "the most common misconceptions, submissions with problems.",
        formatter_class=_Formatter,
    )
    _common(p)
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, help="HTML file (default: reports/<assignment>.html)")

    p = sub.add_parser(
        "similarity",
        help="find students whose answers are similar (HTML page with the matching lines)",
        description="Compare the answer cells (the instructor's solution cells, matched by "
        "grade id) of every submission of ASSIGNMENT, pair by pair, with winnowed fingerprints "
        "of normalised code (MOSS's algorithm): renamed variables, spacing, comments and "
        "reordered statements do not hide a copy. The starter code, the instructor's solution "
        "and code most students share are not counted; students whose answer is mostly the "
        "solution are listed apart. Writes an HTML page with the pairs at or above the "
        "threshold and their matching lines side by side, and prints a short table. A high "
        "score is a reason to look, not a verdict. Exit 1 when some notebooks could not be read "
        "(they are listed).",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("assignment", help="assignment id, e.g. 02_cross_correlation")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.85,
        help="list pairs whose score (0-1) is at least this",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="HTML file (default: reports/<assignment>-similarity.html)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "status",
        help="list the grading status of each submission",
        description="Read the grader's results files and list each student's status and score.",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("assignment")

    p = sub.add_parser(
        "doctor",
        help="check that sandboxed grading can run on this machine",
        description="Look for bubblewrap, root, namespaces and libseccomp, then start a sandbox "
        "and run a tiny notebook in it. Exit 2 when isolation is unavailable.",
        formatter_class=_Formatter,
    )

    p = sub.add_parser(
        "kit",
        help="write the student edition (no solutions, no instructor tools) as a git repository",
        description="Write the student edition of the course into FOLDER: the released "
        "notebooks, the student package (convcourse/ without convcourse/instructor/), "
        "course.py, the lock file, the students' Jupyter settings, a student README and "
        "pyproject.toml. It is audited first (no solution, hidden test or mark scheme line, no "
        "answer's name defined outside the answer cells, notebooks/ in sync with solutions/) "
        "and committed as 'convcourse kit' when something changed. FOLDER must be new, empty "
        "(a .git alone is fine) or an earlier kit (it holds .convcourse-kit); anything else is "
        "refused untouched. A rebuild removes only files an earlier build wrote. With --check, "
        "write nothing and exit 1 listing the files that differ, are missing or are extra.",
        formatter_class=_Formatter,
    )
    _common(p, db=False)
    p.add_argument("folder", nargs="?", type=Path, help="the kit folder")
    p.add_argument("--zip", type=Path, metavar="FILE", help="also (or only) write a zip file")
    p.add_argument(
        "--check", action="store_true", help="only check that FOLDER is an up-to-date kit"
    )
    p.add_argument("--no-git", action="store_true", help="write the files but do not commit")
    return parser
