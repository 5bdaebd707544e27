"""nbgrader settings for students: where the Assignment List finds the lessons.

``python3 course.py lab`` puts this folder on ``JUPYTER_CONFIG_PATH``; nbgrader reads this file
besides the course's own ``nbgrader_config.py`` at the repository root (course id, folders).

nbgrader lists assignments through an *exchange* folder.  The course uses a local one inside the
clone, ``.exchange/`` (ignored by git), into which the server publishes the lessons when it starts
(``jupyter_server_config.py`` here).  The lessons students work on are the folders of
``notebooks/``, so that is the assignment folder: every lesson shows up as downloaded, with its
notebook, a Validate button and a Submit button (a submission is copied into ``.exchange/``).
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

REPO = Path(__file__).resolve().parent.parent  # this file is <repo>/jupyter/nbgrader_config.py

# Absolute paths: nbgrader resolves them from several working directories.
c.Exchange.root = str(REPO / ".exchange")
c.Exchange.assignment_dir = str(REPO / "notebooks")
