"""``python -m convcourse.instructor.release [--root DIR] ...``: the same as ``convcourse release
[--course DIR] ...`` (the release itself is ``convcourse.instructor.authoring.release``)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m convcourse.instructor.release [--root DIR] ...`` is ``convcourse release
    [--course DIR] ...``: one command line, kept under this name for the habit and old scripts."""
    from convcourse.instructor.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    args = ["--course" if a == "--root" else a for a in args]
    args = [("--course=" + a[len("--root=") :]) if a.startswith("--root=") else a for a in args]
    return cli_main(["release", *args])


if __name__ == "__main__":
    sys.exit(main())
