"""What each ``convcourse`` command does, given its parsed arguments; each returns an exit code.

Every command finds the course through one :class:`~convcourse.instructor.layout.CourseLayout`
and imports the stage it runs only when it runs (``convcourse status`` does not load torch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from convcourse.instructor.layout import ConfigError, CourseLayout

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def cmd_release(args) -> int:
    from convcourse.instructor.authoring.release import (
        NotInSync,
        refresh_outputs,
        release,
        strip_sources,
    )

    if args.refresh_outputs:
        if args.check:
            raise ConfigError("--check cannot be combined with --refresh-outputs")
        for name in refresh_outputs(args.course):
            print(f"outputs refreshed: {name}")
        return EXIT_OK
    if args.strip_sources:
        changed = strip_sources(args.course, check=args.check)
        for name in changed:
            print(f"{'not in canonical form' if args.check else 'rewritten'}: {name}")
        return EXIT_PROBLEMS if (args.check and changed) else EXIT_OK
    from convcourse.instructor.authoring.translation import TranslationError

    languages = args.lang or None
    try:
        changed = release(args.course, args.assignments or None, args.check, languages)
    except (NotInSync, TranslationError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from None
    if args.check:
        print("the released editions are in sync with solutions/ and their translations")
    else:
        print("\n".join(f"updated: {name}" for name in changed) or "the release is up to date")
    return EXIT_OK


def cmd_translation(args) -> int:
    """``convcourse translation sync|check LANG``: keep a translation in step with solutions/."""
    import nbformat

    from convcourse.instructor.authoring import translation
    from convcourse.instructor.authoring.release import source_notebooks

    if args.lang not in translation.LANGUAGES:
        raise ConfigError(
            f"no edition for language {args.lang!r}; known: {sorted(translation.LANGUAGES)}"
        )
    root = Path(args.course)
    try:
        sources = source_notebooks(root)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if args.action == "sync":
        written = translation.sync(root, args.lang, sources, reviewed=set(args.reviewed or ()))
        print("\n".join(f"updated: {w}" for w in written) or "translations already match the cells")
    problems = 0
    for source in sources:
        path = translation.translation_path(root, args.lang, source.name)
        shown = path.relative_to(root).as_posix()
        if not path.exists():
            print(f"{shown}: missing (`convcourse translation sync {args.lang}` starts it)")
            problems += 1
            continue
        found = translation.problems(
            nbformat.read(source, as_version=4),
            translation.parse(path.read_text(encoding="utf-8")),
        )
        for line in found:
            print(f"{shown}: {line}")
        problems += len(found)
    if args.action == "check":
        print(f"{problems} problem(s)" if problems else f"the {args.lang} translation is complete")
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_ingest(args) -> int:
    from convcourse.instructor.intake.ingest import IngestLimits, ingest

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


def cmd_autograde(args) -> int:
    from convcourse.instructor.grading.batch import BatchOptions, autograde
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
                    "lateness": summary.lateness.as_json() if summary.lateness else None,
                }
            )
        )
    else:
        print(summary.text())
    return summary.exit_code()


def cmd_feedback(args) -> int:
    from convcourse.instructor.reporting.feedback import generate_feedback

    layout = CourseLayout.load(args.course, args.db)
    try:
        paths = generate_feedback(
            layout.root, args.assignment, students=args.students, db_url=layout.db_url
        )
    except (ValueError, FileNotFoundError) as exc:  # no gradebook there, unknown assignment
        raise ConfigError(str(exc)) from None
    for path in paths:
        print(path)
    print(f"{len(paths)} feedback file(s) written", file=sys.stderr)
    return _feedback_exchange(layout, args, [path.parent.parent.name for path in paths])


def _feedback_exchange(layout, args, students: list[str]) -> int:
    """Say which pages nbgrader's exchange can deliver; release them with --release."""
    from convcourse.instructor.reporting.feedback_release import (
        exchange_submission,
        release_to_exchange,
    )

    if args.release:
        report = release_to_exchange(layout, args.assignment, students)
        print(report.text(args.assignment), file=sys.stderr)
        return report.exit_code()
    offers = {s: exchange_submission(layout, args.assignment, s) for s in students}
    faults = {s: offer.reason for s, offer in offers.items() if offer.fault}
    for student, why in sorted(faults.items()):
        print(f"WARNING: {student}: no copy for nbgrader's exchange: {why}", file=sys.stderr)
    ready = sum(1 for offer in offers.values() if offer.secret)
    if ready == len(students) and ready:
        print(
            f"all {ready} page(s) ready for nbgrader's exchange: `nbgrader release_feedback "
            f"{args.assignment}` (or convcourse feedback --release) publishes them",
            file=sys.stderr,
        )
    elif ready:
        # nbgrader's release_feedback stops at the first folder that has no secret.
        print(
            f"{ready} of {len(students)} page(s) ready for nbgrader's exchange (the others were "
            "not handed in through it): publish them with convcourse feedback --release",
            file=sys.stderr,
        )
    return EXIT_PROBLEMS if faults else EXIT_OK


def cmd_export(args) -> int:
    lms = getattr(args, "format", "nbgrader")
    if lms != "nbgrader":
        return _export_lms(args, lms)
    from convcourse.instructor.reporting.export import export_grades

    for flag in ("lms_assignment_id", "lms_assignment_name", "out_of"):
        if getattr(args, flag, None) is not None:
            raise ConfigError(f"--{flag.replace('_', '-')} needs --format canvas or moodle")
    layout = CourseLayout.load(args.course, args.db)
    out = args.out if args.out is not None else Path("grades.csv")
    try:
        path = export_grades(
            layout.root, out, assignment_id=args.assignment, db_url=layout.db_url, wide=args.wide
        )
    except (ValueError, FileNotFoundError) as exc:  # no gradebook there, unknown assignment
        raise ConfigError(str(exc)) from None
    print(path)
    return EXIT_OK


def _export_lms(args, lms: str) -> int:
    from convcourse.instructor.reporting.lms_export import export_lms_grades

    if not args.assignment:
        raise ConfigError(f"--format {lms} needs --assignment (one LMS assignment per file)")
    if args.wide:
        raise ConfigError("--wide is for --format nbgrader (an LMS import has one grade column)")
    layout = CourseLayout.load(args.course, args.db)
    out = args.out if args.out is not None else Path(f"{args.assignment}-{lms}.csv")
    try:
        done = export_lms_grades(
            layout.root,
            out,
            lms,
            args.assignment,
            db_url=layout.db_url,
            lms_assignment_id=args.lms_assignment_id,
            lms_assignment_name=args.lms_assignment_name,
            out_of=args.out_of,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    print(done.path)
    for note in done.notes:
        print(f"note: {note}", file=sys.stderr)
    for miss in done.unmatched:
        print(f"not in the {lms} file: {miss.student_id}: {miss.reason}", file=sys.stderr)
    print(
        f"{done.exported} student(s) written to {done.path}; {len(done.unmatched)} not matched"
        + (f", listed in {done.unmatched_path}" if done.unmatched else ""),
        file=sys.stderr,
    )
    return EXIT_PROBLEMS if done.unmatched else EXIT_OK


def cmd_report(args) -> int:
    from convcourse.instructor.reporting.reports import build_report

    layout = CourseLayout.load(args.course, args.db)
    try:
        path = build_report(layout.root, args.assignment, db_url=layout.db_url, out=args.out)
    except (ValueError, FileNotFoundError) as exc:  # no gradebook there, unknown assignment
        raise ConfigError(str(exc)) from None
    print(path)
    return EXIT_OK


def cmd_similarity(args) -> int:
    from convcourse.instructor.files import write_atomic
    from convcourse.instructor.reporting.similarity_course import (
        page_path,
        result_json,
        run_similarity,
        similarity_page,
        text_table,
    )

    if not 0.0 < args.threshold <= 1.0:
        raise ConfigError("--threshold must be in (0, 1], e.g. 0.85 for 85%")
    layout = CourseLayout.load(args.course)
    if not layout.students(args.assignment):
        raise ConfigError(f"nothing submitted for {args.assignment} in {layout.root}")
    result = run_similarity(layout, args.assignment, args.threshold)
    path = args.out or page_path(layout, args.assignment)
    if path.is_dir():
        raise ConfigError(f"--out is a directory, expected an .html file: {path}")
    write_atomic(path, similarity_page(result, args.assignment))
    if args.json:
        print(json.dumps({**result_json(result, args.assignment), "page": str(path)}))
    else:
        print(text_table(result, args.assignment))
        print(f"page: {path}")
    return EXIT_PROBLEMS if result.unreadable else EXIT_OK


def cmd_status(args) -> int:
    from convcourse.instructor.recording import results as results_file

    layout = CourseLayout.load(args.course)
    folder = layout.results_dir(args.assignment)
    students = layout.students(args.assignment)
    if not folder.is_dir() and not students:
        raise ConfigError(f"nothing submitted or graded for {args.assignment}")
    problems = 0
    for student in sorted(set(students) | {p.stem for p in folder.glob("*.json")}):
        data, why = results_file.read(
            layout.results_file(args.assignment, student), student, args.assignment
        )
        if data is None:
            print(f"{student:24} {why}")
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


def cmd_doctor(args) -> int:
    from convcourse.instructor.sandbox import Limits, Sandbox, isolation_problem
    from convcourse.instructor.sandbox.inside import protocol

    problem = isolation_problem()
    if problem:
        print(f"isolation unavailable: {problem}")
        return EXIT_USAGE
    print("bubblewrap, namespaces and libseccomp: available")
    from convcourse.instructor.sandbox.memcap import memory_cgroup_problem

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
        if isinstance(frame, dict) and frame.get("t") == protocol.CELL:
            for out in frame.get("outputs", []):
                print("  sandbox says:", str(out.get("text", "")).strip().replace("\n", " | "))
    print("sandboxed grading works")
    return EXIT_OK


def cmd_kit(args) -> int:
    from convcourse.instructor.authoring.kit import (
        KitError,
        build_kit,
        differences,
        write_kit,
        write_zip,
    )

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
