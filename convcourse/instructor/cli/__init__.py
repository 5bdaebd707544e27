"""``convcourse``: the instructor's command line (release, ingest, autograde, feedback, export,
report, similarity, status, doctor, kit).

Exit codes: 0 everything worked; 1 the command ran but some submissions or files had problems
(each one is recorded with a specific status); 2 usage or configuration error (unknown
assignment, unreadable course configuration, isolation unavailable without ``--no-sandbox``).
"""

from __future__ import annotations

import sys

from convcourse.instructor.cli import commands
from convcourse.instructor.cli.commands import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from convcourse.instructor.cli.parser import build_parser
from convcourse.instructor.layout import ConfigError

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "build_parser", "main"]

COMMANDS = {
    "release": commands.cmd_release,
    "translation": commands.cmd_translation,
    "ingest": commands.cmd_ingest,
    "autograde": commands.cmd_autograde,
    "feedback": commands.cmd_feedback,
    "export": commands.cmd_export,
    "report": commands.cmd_report,
    "similarity": commands.cmd_similarity,
    "status": commands.cmd_status,
    "doctor": commands.cmd_doctor,
    "kit": commands.cmd_kit,
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
