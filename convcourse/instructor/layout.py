"""Where a course keeps things: nbgrader's folders and gradebook, read from ``nbgrader_config.py``.

The grader follows nbgrader's layout so nbgrader's own tools keep working on what it writes::

    <course>/nbgrader_config.py
    <course>/<source>/<assignment>/<notebook>.ipynb            instructor version (solutions)
    <course>/submitted/<student>/<assignment>/<notebook>.ipynb the students' work (never modified)
    <course>/autograded/<student>/<assignment>/<notebook>.ipynb
    <course>/feedback/<student>/<assignment>/feedback.html      and <notebook>.html for the
                                                                exchange (feedback_release.py)
    <course>/gradebook.db                                       unless a database URL is given
    <course>/.grading/results/<assignment>/<student>.json       the grader's results
                                                                (recording/results.py)
    <course>/.grading/journal/<assignment>.jsonl                what each run did, in order
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CourseLayout", "ConfigError", "SAFE_ID", "existing_course"]

# Student and assignment ids become folder names: keep them to a portable, harmless alphabet.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class ConfigError(ValueError):
    """The course folder, its configuration or an argument is unusable (exit code 2)."""


@dataclass(frozen=True)
class CourseLayout:
    root: Path
    source: str = "source"
    release: str = "release"
    submitted: str = "submitted"
    autograded: str = "autograded"
    feedback: str = "feedback"
    db_url: str = ""
    course_id: str = ""

    @classmethod
    def load(cls, root, db_url: str | None = None) -> CourseLayout:
        """The layout of the course in ``root``, from its ``nbgrader_config.py`` if it has one."""
        root = Path(root).resolve()
        if not root.is_dir():
            raise ConfigError(f"course folder {root} does not exist")
        values: dict[str, str] = {}
        config_file = root / "nbgrader_config.py"
        if config_file.exists():
            values = _read_nbgrader_config(config_file)
        url = db_url or values.get("db_url") or f"sqlite:///{root / 'gradebook.db'}"
        return cls(
            root=root,
            source=values.get("source_directory", "source"),
            release=values.get("release_directory", "release"),
            submitted=values.get("submitted_directory", "submitted"),
            autograded=values.get("autograded_directory", "autograded"),
            feedback=values.get("feedback_directory", "feedback"),
            db_url=url,
            course_id=values.get("course_id", ""),
        )

    # folders ------------------------------------------------------------------------------

    def source_dir(self, assignment: str) -> Path:
        return self.root / self.source / assignment

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.root / self.submitted / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.root / self.autograded / student / assignment

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self.root / self.feedback / student / assignment

    def results_dir(self, assignment: str) -> Path:
        return self.root / ".grading" / "results" / assignment

    def results_file(self, assignment: str, student: str) -> Path:
        return self.results_dir(assignment) / f"{student}.json"

    def journal_file(self, assignment: str) -> Path:
        return self.root / ".grading" / "journal" / f"{assignment}.jsonl"

    def log_dir(self) -> Path:
        return self.root / ".grading" / "logs"

    # discovery ----------------------------------------------------------------------------

    def assignments(self) -> list[str]:
        folder = self.root / self.source
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def students(self, assignment: str) -> list[str]:
        """Students with a submission folder for ``assignment`` (valid ids only)."""
        folder = self.root / self.submitted
        if not folder.is_dir():
            return []
        return sorted(
            p.name
            for p in folder.iterdir()
            if p.is_dir() and SAFE_ID.match(p.name) and (p / assignment).is_dir()
        )

    def secret_paths(self) -> list[Path]:
        """What a submission must never see."""
        paths = [
            self.root / self.source,
            self.root / self.submitted,
            self.root / self.autograded,
            self.root / self.feedback,
            self.root / ".grading",
        ]
        if self.db_url.startswith("sqlite:///"):
            paths.append(Path(self.db_url.removeprefix("sqlite:///")))
        return paths


def existing_course(root, db_url: str | None = None) -> CourseLayout:
    """The layout of the course in ``root``, which must exist (FileNotFoundError otherwise:
    the reporting commands read a course, they never make one)."""
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"course directory not found: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"course directory is not a directory: {path}")
    return CourseLayout.load(path, db_url)


def _read_nbgrader_config(path: Path) -> dict[str, str]:
    """CourseDirectory settings from an nbgrader config file, loaded the way nbgrader loads it."""
    from traitlets.config.loader import PyFileConfigLoader

    try:
        config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    except Exception as exc:
        raise ConfigError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    section = config.get("CourseDirectory", {})
    keys = (
        "source_directory",
        "release_directory",
        "submitted_directory",
        "autograded_directory",
        "feedback_directory",
        "db_url",
        "course_id",
    )
    return {k: str(section[k]) for k in keys if k in section and section[k]}


def nbgrader_config(root: Path):
    """The full traitlets Config of the course (for nbgrader's preprocessors), or an empty one."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(root) / "nbgrader_config.py"
    if not path.exists():
        return Config()
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
