"""``convcourse``: the instructor's command line (release, ingest, autograde, feedback, export,
report, status, doctor, kit).

Exit codes: 0 everything worked; 1 the command ran but some submissions or files had problems
(each one is recorded with a specific status); 2 usage or configuration error (unknown
assignment, unreadable course configuration, isolation unavailable without ``--no-sandbox``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from convcourse.instructor.layout import ConfigError, CourseLayout

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

EPILOG = """\
Typical round, from the course folder (the one with nbgrader_config.py):

  convcourse release                                   # notebooks/ from solutions/
  convcourse ingest 02_cross_correlation canvas.zip    # submissions from the LMS export
  convcourse autograde 02_cross_correlation            # sandboxed, parallel, resumable
  convcourse feedback 02_cross_correlation             # feedback/<student>/... HTML
  convcourse export --out grades.csv                   # one row per student and assignment
  convcourse report 02_cross_correlation               # class report (HTML)

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
        "results; no hidden test, solution or expected value of a hidden case appears in it.",
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

    p = sub.add_parser(
        "export",
        help="write the grades as CSV",
        description="Export grades (nbgrader's CSV columns and more) for all assignments or one.",
        formatter_class=_Formatter,
    )
    _common(p)
    p.add_argument("--assignment", help="only this assignment")
    p.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV file to write")

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


# ---------------------------------------------------------------------------------- commands


def _cmd_release(args) -> int:
    from convcourse.instructor.release import NotInSync, release

    try:
        changed = release(args.course, args.assignments or None, args.check)
    except NotInSync as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from None
    if args.check:
        print("notebooks/ is in sync with solutions/")
    else:
        print("\n".join(changed) if changed else "notebooks/ was already up to date")
    return EXIT_OK


def _cmd_ingest(args) -> int:
    from convcourse.instructor.ingest import IngestLimits, ingest

    layout = CourseLayout.load(args.course)
    report = ingest(
        layout,
        args.assignment,
        args.source,
        lms=args.lms,
        roster=args.roster,
        id_from=args.id_from,
        times=args.times,
        limits=IngestLimits(max_file_mb=args.max_file_mb, max_total_mb=args.max_total_mb),
        dry_run=args.dry_run,
    )
    print(report.text())
    return report.exit_code()


def _cmd_autograde(args) -> int:
    from convcourse.instructor.autograde import BatchOptions, autograde
    from convcourse.instructor.sandbox import (
        Limits,
        check_binds_hide,
        isolation_problem,
        sandbox_binds,
    )

    layout = CourseLayout.load(args.course, args.db)
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.timeout <= 0 or args.memory_mb < 64:
        raise ConfigError("--timeout must be positive and --memory-mb at least 64")
    if args.no_sandbox:
        print(
            "WARNING: --no-sandbox: student code runs with your privileges and can read the "
            "solutions, the gradebook and other submissions.",
            file=sys.stderr,
        )
    elif not args.dask:
        problem = isolation_problem() or check_binds_hide(layout.root, sandbox_binds())
        if problem:
            raise ConfigError(
                f"refusing to grade: isolation is unavailable ({problem}).\n"
                "Fix that (see `convcourse doctor`), or pass --no-sandbox to grade WITHOUT "
                "isolation (unsafe: student code could read solutions and other submissions)."
            )
    options = BatchOptions(
        students=args.students,
        force=args.force,
        workers=args.workers,
        scheduler=args.dask,
        limits=Limits(
            timeout_s=args.timeout, memory_mb=args.memory_mb, max_processes=args.max_processes
        ),
        sandboxed=not args.no_sandbox,
        progress=not args.no_progress,
    )
    summary = autograde(layout, args.assignment, options)
    if args.json:
        print(
            json.dumps(
                {
                    "graded": summary.graded,
                    "skipped": summary.skipped,
                    "details": summary.details,
                    "seconds": round(summary.seconds, 2),
                }
            )
        )
    else:
        print(summary.text())
    return summary.exit_code()


def _cmd_feedback(args) -> int:
    from convcourse.instructor.feedback import generate_feedback

    layout = CourseLayout.load(args.course, args.db)
    paths = generate_feedback(
        layout.root, args.assignment, students=args.students, db_url=layout.db_url
    )
    for path in paths:
        print(path)
    print(f"{len(paths)} feedback file(s) written", file=sys.stderr)
    return EXIT_OK


def _cmd_export(args) -> int:
    from convcourse.instructor.export import export_grades

    layout = CourseLayout.load(args.course, args.db)
    path = export_grades(layout.root, args.out, assignment_id=args.assignment, db_url=layout.db_url)
    print(path)
    return EXIT_OK


def _cmd_report(args) -> int:
    from convcourse.instructor.reports import build_report

    layout = CourseLayout.load(args.course, args.db)
    path = build_report(layout.root, args.assignment, db_url=layout.db_url, out=args.out)
    print(path)
    return EXIT_OK


def _cmd_status(args) -> int:
    layout = CourseLayout.load(args.course)
    folder = layout.results_dir(args.assignment)
    students = layout.students(args.assignment)
    if not folder.is_dir() and not students:
        raise ConfigError(f"nothing submitted or graded for {args.assignment}")
    problems = 0
    for student in sorted(set(students) | {p.stem for p in folder.glob("*.json")}):
        path = layout.results_file(args.assignment, student)
        if not path.exists():
            print(f"{student:24} not graded yet")
            problems += 1
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            print(f"{student:24} unreadable results file")
            problems += 1
            continue
        line = f"{student:24} {data.get('status', '?'):8} {data.get('score', 0):g}/"
        line += f"{data.get('max_score', 0):g}"
        if data.get("status_detail"):
            line += f"  {data['status_detail']}"
        problems += data.get("status") != "graded"
        withheld = data.get("withheld") or []
        if withheld:
            # Evidence of tampering: the points are the instructor's call, in the formgrader.
            problems += 1
            first = next(iter(data.get("evidence") or []), {})
            line += f"\n{'':24} REVIEW: {len(withheld)} test(s) withheld ({', '.join(withheld)})"
            if first:
                line += f": {str(first.get('what', ''))[:160]}"
        print(line)
    return EXIT_PROBLEMS if problems else EXIT_OK


def _cmd_doctor(args) -> int:
    from convcourse.instructor.sandbox import Limits, Sandbox, isolation_problem

    problem = isolation_problem()
    if problem:
        print(f"isolation unavailable: {problem}")
        return EXIT_USAGE
    print("bubblewrap, namespaces and libseccomp: available")
    from convcourse.instructor.memcap import memory_cgroup_problem

    memory = memory_cgroup_problem()
    print(
        "memory cgroups: one per submission (caps everything it holds)"
        if memory is None
        else f"memory cgroups: unavailable ({memory}); memory is capped by the address-space "
        "limit, the seccomp filter (no memfd, no System V shared memory) and the size-limited "
        "scratch folder"
    )
    with Sandbox(sandboxed=True) as box:
        print(
            f"sandbox started (preloading took {box.info.get('preload_s')} s, "
            f"seccomp {'on' if box.info.get('seccomp') else 'off'})"
        )
        request = {
            "cells": [
                {
                    "kind": "code",
                    "i": 0,
                    "source": "import os, socket\nprint(os.getuid())\n"
                    "try:\n    socket.socket()\nexcept OSError as e:\n"
                    "    print('network blocked:', e)",
                }
            ],
            "files": {},
            "env": {},
        }
        record = box.run(request, None, Limits(timeout_s=20))
    for _, frame in record.frames:
        if isinstance(frame, dict) and frame.get("t") == "cell":
            for out in frame.get("outputs", []):
                print("  sandbox says:", str(out.get("text", "")).strip().replace("\n", " | "))
    print("sandboxed grading works")
    return EXIT_OK


def _cmd_kit(args) -> int:
    from convcourse.instructor.kit import KitError, build_kit, differences, write_kit, write_zip

    if args.folder is None and (args.check or args.zip is None):
        raise ConfigError("give the kit FOLDER (or --zip FILE)")
    try:
        files = build_kit(args.course)
        if args.check:
            diff = differences(files, args.folder)
            if diff.stale:
                print(f"{args.folder} is not the current kit:", file=sys.stderr)
                print("\n".join(f"  {line}" for line in diff.lines()), file=sys.stderr)
                print("Run `convcourse kit FOLDER` to rebuild it.", file=sys.stderr)
                return EXIT_PROBLEMS
            print(f"{args.folder} is up to date ({len(files)} files)")
            return EXIT_OK
        if args.folder is not None:
            result = write_kit(files, args.folder, args.course, git=not args.no_git)
            print(
                f"{args.folder}: {len(files)} files, {len(result.written)} written, "
                f"{len(result.removed)} removed"
                + (f", commit {result.commit[:12]}" if result.commit else ", nothing to commit")
            )
            if result.left_alone:
                print(
                    "not part of the kit, left alone and not committed: "
                    + ", ".join(result.left_alone),
                    file=sys.stderr,
                )
        if args.zip is not None:
            print(write_zip(files, args.zip))
    except (KitError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from None
    return EXIT_OK


COMMANDS = {
    "release": _cmd_release,
    "ingest": _cmd_ingest,
    "autograde": _cmd_autograde,
    "feedback": _cmd_feedback,
    "export": _cmd_export,
    "report": _cmd_report,
    "status": _cmd_status,
    "doctor": _cmd_doctor,
    "kit": _cmd_kit,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"convcourse {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # One clear line: what is recorded stays consistent, and the same command resumes.
        print(
            f"convcourse {args.command}: no space left on the disk ({exc.strerror or exc}); "
            "free some space and run the same command again",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
