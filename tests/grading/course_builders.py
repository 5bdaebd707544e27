"""Builders shared by the grading tests: a course folder holding the real lesson 02, a submission.

Imported by name (``from course_builders import make_course``), never from ``conftest``: the
name ``conftest`` means a different module in every test folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "02_cross_correlation"
# Short enough that the infinite loop of the corpus costs little, long enough for a loaded CI.
CORPUS_TIMEOUT_S = 30.0


def scripts_on_path() -> None:
    """nbgrader runs ``alembic`` and ``jupyter`` scripts: find the ones of this Python."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def make_course(root: Path) -> Path:
    """A course folder with the real lesson 02 (instructor version) and the nbgrader config."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        REPO / "solutions" / ASSIGNMENT,
        root / "solutions" / ASSIGNMENT,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def submit(root: Path, student: str, files: dict[str, bytes]) -> Path:
    folder = root / "submitted" / student / ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
