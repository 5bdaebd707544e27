"""The student edition ("kit"): what students get instead of the instructor's repository.

``convcourse kit DIR`` writes, from the course folder, a folder that is also a git repository
the instructor pushes as the public course.  It holds the released notebooks (the bytes of
``notebooks/``), the student-world package (``convcourse/`` without ``convcourse/instructor/``),
``course.py``, ``requirements/lock.txt``, the students' Jupyter settings (``jupyter/``) and
files made here: a student ``README.md`` and ``pyproject.toml`` (templates in ``kit_files/``),
a ``.gitignore`` and the marker ``.convcourse-kit`` (the list of the kit's files).

Nothing of the instructor's goes in: no ``solutions/``, no instructor tools, no tests, no
gradebook, no ``nbgrader_config.py``.  Before anything is written the kit is audited
(``kit_audit.py``: no line of a solution, hidden test or mark scheme of ``solutions/`` in any
file, no answer's name defined outside the answer stubs, no import of ``convcourse.instructor``)
and ``notebooks/`` must be in sync with ``solutions/`` (``convcourse release`` first).  A kit
that fails either is not written.

Where the kit goes (:func:`write_kit`): ``DIR`` must be absent, empty (a ``.git`` alone counts
as empty: a fresh clone of an empty public repository), or an earlier kit (it holds the
marker).  Anything else is refused untouched.  A rebuild rewrites the files that changed,
removes the files an earlier build wrote that the new one does not, leaves every other file
alone (never committed, listed as extra by ``--check``), and commits the kit's files when
something changed, as a fixed author (``KIT_AUTHOR``) with a message that names only kit paths.
Builds are deterministic: the same course gives the same bytes, which ``--check`` relies on.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import string
import subprocess
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from convcourse.instructor.authoring.kit_audit import audit
from convcourse.instructor.files import write_atomic

__all__ = [
    "KIT_MARKER",
    "KIT_AUTHOR",
    "KitError",
    "Diff",
    "WriteResult",
    "collect",
    "ensure_released",
    "build_kit",
    "differences",
    "check_folder",
    "write_kit",
    "write_zip",
]

KIT_MARKER = ".convcourse-kit"
KIT_FORMAT = 1
KIT_AUTHOR = ("convcourse kit", "kit@convcourse.invalid")
TEMPLATES = Path(__file__).resolve().parent / "kit_files"

# Copied from the course folder as they are: (folder or file, files under it to leave out).
COPIED_FILES = ("course.py", "requirements/lock.txt")
COPIED_TREES = ("notebooks", "convcourse", "jupyter")
INSTRUCTOR_PACKAGE = "convcourse/instructor"
# Never part of the kit, wherever they are, and not "extra" in a kit folder either: what
# running the course leaves behind.  The kit's .gitignore is made from the same lists.
IGNORED_DIRS = (
    ".git",
    ".venv",
    "__pycache__",
    ".ipynb_checkpoints",
    ".exchange",
    ".pytest_cache",
    "build",
    "dist",
)
IGNORED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
IGNORED_NAMES = (".DS_Store",)


class KitError(Exception):
    """The kit cannot be built or written (the message says why and what to do)."""


@dataclass
class Diff:
    """How a kit folder differs from a fresh build."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"changed: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"extra: {p}" for p in self.extra]
        )


@dataclass
class WriteResult:
    """What :func:`write_kit` did."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    commit: str | None = None


# ------------------------------------------------------------------------------ collecting


def _ignored(rel: str) -> bool:
    parts = rel.split("/")
    return (
        any(p in IGNORED_DIRS or p.endswith(IGNORED_SUFFIXES) for p in parts)
        or parts[-1] in IGNORED_NAMES
    )


def _tree_files(root: Path, folder: str) -> dict[str, bytes]:
    base = root / folder
    if not base.is_dir():
        raise KitError(f"the course folder {root} has no {folder}/")
    files = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if _ignored(rel):
            continue
        if path.is_symlink():
            raise KitError(f"{rel} is a symbolic link; the kit copies plain files only")
        if not path.is_file():
            continue
        if rel == INSTRUCTOR_PACKAGE or rel.startswith(INSTRUCTOR_PACKAGE + "/"):
            continue
        files[rel] = path.read_bytes()
    return files


def _gitignore() -> bytes:
    lines = [
        "# What running the course leaves behind (python3 course.py setup/lab/check).",
        *(f"{name}/" for name in IGNORED_DIRS if name != ".git"),
        *(f"*{suffix}" for suffix in IGNORED_SUFFIXES),
        *IGNORED_NAMES,
    ]
    return ("\n".join(lines) + "\n").encode()


def _toml_list(items: list[str]) -> str:
    # JSON strings of printable text are valid TOML basic strings.
    return "[\n" + "".join(f"    {json.dumps(item)},\n" for item in items) + "]"


def _toml_license(value) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{key} = {json.dumps(str(v))}" for key, v in sorted(value.items()))
        return "{ " + inner + " }"
    return json.dumps(str(value))


def _pyproject(root: Path) -> bytes:
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    template = string.Template((TEMPLATES / "pyproject.toml.template").read_text(encoding="utf-8"))
    text = template.substitute(
        name=json.dumps(project["name"]),
        version=json.dumps(project["version"]),
        description=json.dumps(project.get("description", "")),
        requires_python=json.dumps(project.get("requires-python", ">=3.11")),
        license=_toml_license(project.get("license", {"text": "MIT"})),
        dependencies=_toml_list(project.get("dependencies", [])),
    )
    return text.encode()


def _lesson_rows(files: dict[str, bytes], edition: str = "") -> str:
    """One README table row per lesson notebook: its folder and its title.

    ``edition`` ("zh") takes the lessons of ``notebooks/<edition>/`` instead.
    """
    rows = []
    folder = f"notebooks/{edition}/" if edition else "notebooks/"
    pattern = re.compile(rf"^{re.escape(folder)}([^/]+)/\1\.ipynb$")
    for rel in sorted(files):
        match = pattern.match(rel)
        if not match:
            continue
        nb = nbformat.reads(files[rel].decode("utf-8"), as_version=4)
        title = next(
            (
                line.lstrip("#").strip()
                for cell in nb.cells
                if cell.cell_type == "markdown"
                for line in cell.source.splitlines()
                if line.startswith("# ")
            ),
            match.group(1),
        )
        rows.append(f"| `{folder}{match.group(1)}/` | {title} |")
    return "\n".join(rows)


def collect(course) -> dict[str, bytes]:
    """The kit's files (relative path -> bytes) from the course folder; nothing is checked.

    Deterministic: the same course folder gives the same mapping.
    """
    root = Path(course).resolve()
    files: dict[str, bytes] = {}
    for folder in COPIED_TREES:
        files.update(_tree_files(root, folder))
    for name in COPIED_FILES:
        path = root / name
        if not path.is_file():
            raise KitError(f"the course folder {root} has no {name}")
        files[name] = path.read_bytes()
    if not any(p.startswith("notebooks/") and p.endswith(".ipynb") for p in files):
        raise KitError(f"no released notebooks in {root / 'notebooks'}: run `convcourse release`")
    files["pyproject.toml"] = _pyproject(root)
    files[".gitignore"] = _gitignore()
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    files["README.md"] = readme.replace("{lessons}", _lesson_rows(files)).encode()
    if any(p.startswith("notebooks/zh/") for p in files):
        readme_zh = (TEMPLATES / "README.zh.md").read_text(encoding="utf-8")
        files["README.zh.md"] = readme_zh.replace("{lessons}", _lesson_rows(files, "zh")).encode()
    marker = {"format": KIT_FORMAT, "files": sorted([*files, KIT_MARKER])}
    files[KIT_MARKER] = (json.dumps(marker, indent=1) + "\n").encode()
    return dict(sorted(files.items()))


def ensure_released(course) -> None:
    """Raise KitError unless ``notebooks/`` is what ``solutions/`` releases today."""
    from convcourse.instructor.authoring.release import NotInSync, release

    try:
        release(Path(course), check=True)
    except NotInSync as exc:
        raise KitError(
            f"{exc}\nThe kit ships notebooks/ as it is: run `convcourse release` first."
        ) from None


def build_kit(course) -> dict[str, bytes]:
    """The audited kit of the course folder; KitError when it would leak or is out of date."""
    files = collect(course)
    problems = audit(files, course)
    if problems:
        listing = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise KitError(
            f"the kit would give away answers or instructor material; nothing was written:\n"
            f"{listing}{more}"
        )
    ensure_released(course)
    return files


# ------------------------------------------------------------------------- kit folder, zip


def _folder_files(folder: Path) -> dict[str, Path]:
    """The files of a kit folder that count: not under .git, not what running it leaves."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if _ignored(rel) or not (path.is_file() or path.is_symlink()):
            continue
        found[rel] = path
    return found


def _manifest(folder: Path) -> list[str] | None:
    """The files an earlier build wrote into ``folder``, or None when it is not a kit."""
    marker = folder / KIT_MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = [str(f) for f in data["files"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return []  # a damaged marker: still a kit, but nothing is removed on its word
    return [f for f in files if _safe_relative(f)]


def _safe_relative(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts and "" not in parts


def differences(files: dict[str, bytes], folder) -> Diff:
    """How ``folder`` differs from the kit ``files`` (changed, missing, extra)."""
    folder = Path(folder)
    present = _folder_files(folder) if folder.is_dir() else {}
    diff = Diff()
    for rel, data in files.items():
        path = present.get(rel)
        if path is None:
            diff.missing.append(rel)
        elif path.is_symlink() or path.read_bytes() != data:
            diff.changed.append(rel)
    diff.extra = sorted(set(present) - set(files))
    return diff


def check_folder(course, folder) -> Diff:
    """Compare ``folder`` with a fresh build of the course's kit."""
    return differences(build_kit(course), folder)


def _refuse_unless_kit_target(course: Path, folder: Path) -> list[str] | None:
    """The earlier manifest (None for a new kit); KitError for a folder that is no kit."""
    course, folder = course.resolve(), folder.resolve()
    if folder == course or any(
        folder == course / name or (course / name) in folder.parents
        for name in (*COPIED_TREES, "solutions", "requirements")
    ):
        raise KitError(f"{folder} is inside the course folder's sources; choose another folder")
    if course.is_relative_to(folder):
        raise KitError(f"{folder} holds the course folder itself; choose another folder")
    if folder.exists() and not folder.is_dir():
        raise KitError(f"{folder} exists and is not a folder")
    if not folder.exists():
        return None
    manifest = _manifest(folder)
    if manifest is not None:
        return manifest
    entries = [p.name for p in folder.iterdir() if p.name != ".git"]
    if entries:
        shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
        raise KitError(
            f"refusing to write the kit into {folder}: it is not empty ({shown}) and holds no "
            f"{KIT_MARKER}, so it is not an earlier kit. Nothing was changed. Give a new or "
            "empty folder (or an empty clone of the public repository)."
        )
    return None


def _git(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    name, email = KIT_AUTHOR
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    # The user's settings must not sign, rewrite line ends or run hooks on the kit's commits.
    settings = ["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]
    settings += ["-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=main"]
    return subprocess.run(
        ["git", *settings, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


def _commit_message(status: list[tuple[str, str]], first: bool) -> str:
    if first:
        return (
            "Student edition of the course\n\n"
            "The lessons, the student package and course.py, written by `convcourse kit`.\n"
        )
    groups = {"A": "added", "M": "changed", "D": "removed"}
    lines = ["Update the student edition", ""]
    for code, label in groups.items():
        paths = [p for c, p in status if c[:1] == code]
        if paths:
            lines.append(f"{label}: " + ", ".join(paths))
    other = [p for c, p in status if c[:1] not in groups]
    if other:
        lines.append("other: " + ", ".join(other))
    return "\n".join(lines) + "\n"


def _commit(folder: Path, files: list[str], removed: list[str]) -> str | None:
    """Stage and commit the kit's ``files`` and the ``removed`` ones; None if nothing changed.

    Only these paths are staged and committed: whatever else is in the folder stays out.
    """
    if shutil.which("git") is None:
        raise KitError("git is not installed: install it, or pass --no-git")
    if not (folder / ".git").exists():
        _git(folder, "init", "-q")
    has_head = _git(folder, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode == 0
    tracked = set(_git(folder, "ls-files", "-z").stdout.split("\0"))
    paths = sorted({*files, *(p for p in removed if p in tracked)})
    _git(folder, "add", "--all", "--", *paths)
    out = _git(folder, "diff", "--cached", "--name-status", "--no-renames", "--", *paths).stdout
    status = [tuple(line.split("\t", 1)) for line in out.splitlines() if "\t" in line]
    if not status:
        return None
    message = _commit_message(status, first=not has_head)
    changed = [p for _, p in status]
    _git(folder, "commit", "-q", "--no-verify", "-m", message, "--", *changed)
    return _git(folder, "rev-parse", "HEAD").stdout.strip()


def write_kit(files: dict[str, bytes], folder, course, git: bool = True) -> WriteResult:
    """Write the kit ``files`` into ``folder`` (module docstring: which folders are accepted).

    ``course`` is the course folder (a kit is never written inside its sources).
    """
    folder = Path(folder)
    manifest = _refuse_unless_kit_target(Path(course), folder)
    result = WriteResult()
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = folder / rel
        if path.is_symlink():
            path.unlink()
        elif path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel == "course.py":
            path.chmod(0o755)
        result.written.append(rel)
    for rel in sorted(set(manifest or []) - set(files)):
        path = folder / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            result.removed.append(rel)
            _remove_empty_parents(path.parent, folder)
    result.left_alone = differences(files, folder).extra
    if git:
        result.commit = _commit(folder, list(files), result.removed)
    return result


def _remove_empty_parents(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: the same bytes every build


def _zip_bytes(files: dict[str, bytes], top: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if rel == "course.py" else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix, so that the modes above are read
            archive.writestr(info, data)
    return buffer.getvalue()


def write_zip(files: dict[str, bytes], path) -> Path:
    """Write the kit as a zip file whose one top folder is named after the file (``x.zip`` ->
    ``x/``).  An existing file is replaced only when it is an earlier kit zip."""
    path = Path(path)
    top = path.stem or "convcourse"
    if path.exists():
        earlier = False
        if path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                earlier = any(n.endswith(f"/{KIT_MARKER}") for n in archive.namelist())
        if not earlier:
            raise KitError(f"refusing to replace {path}: it is not a kit zip written earlier")
    return write_atomic(path, _zip_bytes(files, top))
