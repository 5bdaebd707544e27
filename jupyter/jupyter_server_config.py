"""JupyterLab server settings for students of convcourse.

``python3 course.py lab`` puts this folder first on ``JUPYTER_CONFIG_PATH``, so these settings
apply to the course's JupyterLab only (see README.md here):

- nbgrader's student tools stay (the Validate button, the Assignment List); its instructor tools
  (formgrader, course list, and in ``labconfig/page_config.json`` their menu entries and the
  Create Assignment panel) are switched off.  Instructors start ``jupyter lab`` without this
  folder.
- The Assignment List reads a local nbgrader exchange, ``<repo>/.exchange`` (``nbgrader_config.py``
  here).  When the server starts, each lesson folder of ``notebooks/`` that is not published yet
  is copied into it, as ``nbgrader release_assignment`` would; published copies are left alone,
  so they stay the original release even after the student has worked in ``notebooks/``.
"""

import shutil
from pathlib import Path

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

REPO = Path(__file__).resolve().parent.parent  # this file is in <repo>/jupyter/
COURSE_ID = "convcourse"  # CourseDirectory.course_id in the repository's nbgrader_config.py

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
}


def publish_lessons(repo: Path, course_id: str) -> None:
    """Copy every lesson folder ``notebooks/<id>/`` (one holding ``<id>.ipynb``) that is not yet
    in the exchange's ``<course_id>/outbound/``; nbgrader requires the exchange to exist."""
    outbound = repo / ".exchange" / course_id / "outbound"
    outbound.mkdir(parents=True, exist_ok=True)
    for lesson in sorted((repo / "notebooks").glob("*/")):
        target = outbound / lesson.name
        if (lesson / f"{lesson.name}.ipynb").is_file() and not target.exists():
            shutil.copytree(lesson, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


publish_lessons(REPO, COURSE_ID)
