"""Regenerate the student notebooks (``notebooks/``) from the instructor sources (``solutions/``).

The instructor notebook of each lesson is the one source of truth.  The student version is made
from it by nbgrader's own ``generate_assignment`` (solutions replaced by stubs, hidden tests and
mark schemes removed, test cells locked and checksummed), run in a temporary course directory so
that the repository's gradebook is never touched, and then written in one canonical form (no
outputs, no execution counts, only the metadata that matters, sorted JSON), so regenerating is
byte-stable and ``--check`` can tell whether the committed release is in sync with its source.

    convcourse release                    # regenerate notebooks/
    convcourse release --check            # exit 1 and list files not in sync
    convcourse release --strip-sources    # canonical form of solutions/
    convcourse release --refresh-outputs  # re-run solutions/, keep the outputs nbval checks

(``python -m convcourse.instructor.release`` takes the same arguments.)
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

__all__ = [
    "INDEX",
    "KERNELSPEC",
    "NotInSync",
    "CHECK_OUTPUT_MARK",
    "is_checked",
    "lessons",
    "normalize",
    "canonical_json",
    "strip_sources",
    "refresh_outputs",
    "generate",
    "release",
]

SOURCE_DIR = "solutions"
RELEASE_DIR = "notebooks"
INDEX = "00_index.ipynb"
KERNELSPEC = {"name": "convcourse", "display_name": "Python 3 (convcourse)", "language": "python"}
# Cells whose output is deterministic (seeded) carry this comment; nbval compares their output
# with the one stored in the instructor notebook, so that output is the only one kept there.
CHECK_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"
# Cell metadata worth keeping: nbgrader's own, the lock flags nbgrader sets, and tags.
_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")
_TEXT_MIME = "text/plain"


class NotInSync(Exception):
    """The committed ``notebooks/`` differ from what ``solutions/`` generates."""

    def __init__(self, files: list[str]):
        self.files = files
        listing = "\n".join(f"  {f}" for f in files)
        super().__init__(
            f"{len(files)} student notebook file(s) are not in sync with solutions/:\n{listing}\n"
            "Run `python -m convcourse.instructor.release` and commit the result "
            "(never edit notebooks/ by hand)."
        )


def lessons(root: Path) -> list[str]:
    """The assignment ids: the folders of ``solutions/`` holding a notebook of the same name."""
    source = Path(root) / SOURCE_DIR
    if not source.is_dir():
        raise FileNotFoundError(f"no {SOURCE_DIR}/ folder in {root}")
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _keep_output(output) -> dict | None:
    """The text part of one output of a checked cell (images and HTML are never compared)."""
    if output.output_type == "stream":
        return nbformat.v4.new_output("stream", name=output.name, text=output.text)
    if output.output_type in ("execute_result", "display_data"):
        text = output.get("data", {}).get(_TEXT_MIME)
        if text is None:
            return None
        kind = output.output_type
        extra = {"execution_count": None} if kind == "execute_result" else {}
        return nbformat.v4.new_output(kind, data={_TEXT_MIME: text}, **extra)
    return None  # errors are never reference output


def _coalesce(outputs: list) -> list:
    """Join consecutive stream outputs of the same stream (how text is split is timing)."""
    joined = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (
            last is not None
            and output.output_type == last.output_type == "stream"
            and output.name == last.name
        ):
            last.text += output.text
        else:
            joined.append(output)
    return joined


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output: a line ``# NBVAL_CHECK_OUTPUT``, as in nbval."""
    return any(line.strip() == CHECK_OUTPUT_MARK for line in cell.source.splitlines())


def normalize(nb, keep_checked_outputs: bool = False):
    """A canonical copy of notebook ``nb``: outputs, counts and editor metadata removed.

    With ``keep_checked_outputs`` the text outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` stay
    (they are nbval's reference); every other output goes.  nbval ignores a cell without an
    execution count, so a kept output gets the count a fresh "Run All" gives it (its position
    among the code cells); every other count is removed.  Cell ids are kept; a cell without one
    (nbformat < 4.5) gets a fresh one, which is then stable.
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC)})
    code_cells = 0
    for cell in nb.cells:
        if "id" not in cell:
            cell["id"] = nbformat.v4.new_code_cell().id
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in _CELL_METADATA}
        )
        if cell.cell_type == "code":
            code_cells += 1
            kept = []
            if keep_checked_outputs and is_checked(cell):
                kept = _coalesce([o for o in map(_keep_output, cell.outputs) if o is not None])
            for output in kept:
                if output.output_type == "execute_result":
                    output.execution_count = code_cells
            cell.outputs = kept
            cell.execution_count = code_cells if kept else None
        elif "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    nbformat.validate(nb)
    return nb


def canonical_json(nb) -> str:
    """The notebook as sorted, indented JSON text with a final newline."""
    return nbformat.writes(nb, version=4) + "\n"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _source_notebooks(root: Path) -> list[Path]:
    root = Path(root)
    paths = [root / SOURCE_DIR / INDEX] if (root / SOURCE_DIR / INDEX).exists() else []
    return paths + [root / SOURCE_DIR / a / f"{a}.ipynb" for a in lessons(root)]


def strip_sources(root, check: bool = False) -> list[str]:
    """Put every instructor notebook in canonical form; return the files that changed.

    With ``check`` nothing is written: the files that are not in canonical form are returned.
    """
    root = Path(root)
    changed = []
    for path in _source_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        text = canonical_json(normalize(nb, keep_checked_outputs=True))
        if check:
            if path.read_text(encoding="utf-8") != text:
                changed.append(path.relative_to(root).as_posix())
        elif _write_if_changed(path, text):
            changed.append(path.relative_to(root).as_posix())
    return changed


def refresh_outputs(root, timeout: int = 120) -> list[str]:
    """Execute every instructor notebook and store the outputs of its checked cells.

    Run it after changing a cell marked ``# NBVAL_CHECK_OUTPUT`` (and review the diff): the
    stored text is what nbval compares against in the test suite.
    """
    from nbclient import NotebookClient

    root = Path(root)
    changed = []
    for path in _source_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=KERNELSPEC["name"],
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        if _write_if_changed(path, canonical_json(normalize(nb, keep_checked_outputs=True))):
            changed.append(path.relative_to(root).as_posix())
    return changed


@contextlib.contextmanager
def _scripts_on_path():
    """Put this Python's script folder on PATH while nbgrader runs.

    nbgrader's ``Gradebook`` runs the ``alembic`` command found on PATH; in a virtual environment
    that is not activated (``.venv/bin/python -m ...``) it would not be found.
    """
    scripts = str(Path(sys.executable).parent)
    old = os.environ.get("PATH", "")
    if shutil.which("alembic") is None:
        os.environ["PATH"] = scripts + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _nbgrader_config(root: Path, course_root: Path):
    """The repository's nbgrader configuration, pointed at a scratch course directory."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (root / "nbgrader_config.py").exists():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = f"sqlite:///{course_root / 'gradebook.db'}"
    config.CourseDirectory.source_directory = SOURCE_DIR
    config.CourseDirectory.release_directory = RELEASE_DIR
    return config


def generate(root, out_dir, assignments=None) -> list[str]:
    """Write the canonical student release of ``solutions/`` under ``out_dir``.

    Runs nbgrader's ``GenerateAssignment`` for each assignment in a temporary course directory
    (its own throw-away gradebook), then writes every released notebook in canonical form and
    copies any other released file unchanged.  Returns the written paths relative to
    ``out_dir``.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    root, out_dir = Path(root).resolve(), Path(out_dir)
    known = lessons(root)
    assignments = known if assignments is None else list(assignments)
    unknown = sorted(set(assignments) - set(known))
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; {SOURCE_DIR}/ holds {known}")
    written = []
    with tempfile.TemporaryDirectory(prefix="convcourse-release-") as tmp:
        course = Path(tmp)
        shutil.copytree(
            root / SOURCE_DIR,
            course / SOURCE_DIR,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        config = _nbgrader_config(root, course)
        for assignment in assignments:
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = assignment
            app = GenerateAssignment(coursedir=coursedir, config=config)
            with _scripts_on_path():
                result = capture_log(app)
            if not result["success"]:
                raise RuntimeError(
                    f"nbgrader generate_assignment {assignment} failed:\n"
                    f"{result.get('log', '')}\n{result.get('error', '')}"
                )
            released = course / RELEASE_DIR / assignment
            for path in sorted(p for p in released.rglob("*") if p.is_file()):
                rel = path.relative_to(course / RELEASE_DIR)
                dest = out_dir / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".ipynb":
                    nb = nbformat.read(path, as_version=4)
                    dest.write_text(canonical_json(normalize(nb)), encoding="utf-8")
                else:
                    shutil.copyfile(path, dest)
                written.append(rel.as_posix())
    index = root / SOURCE_DIR / INDEX
    if index.exists():
        nb = nbformat.read(index, as_version=4)
        (out_dir / INDEX).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / INDEX).write_text(canonical_json(normalize(nb)), encoding="utf-8")
        written.append(INDEX)
    return written


def _tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    skip = {".ipynb_checkpoints", "__pycache__"}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(folder).parts)
    }


def release(root=".", assignments=None, check: bool = False) -> list[str]:
    """Regenerate ``notebooks/`` from ``solutions/``; return the files that changed.

    With ``check`` nothing is written: the files of ``notebooks/`` that differ from a fresh
    generation (changed, missing or extra) are listed in the :class:`NotInSync` raised.
    ``assignments`` limits the work to some lessons (the index is always included).
    """
    root = Path(root).resolve()
    release_dir = root / RELEASE_DIR
    with tempfile.TemporaryDirectory(prefix="convcourse-fresh-") as tmp:
        fresh_dir = Path(tmp)
        generate(root, fresh_dir, assignments)
        fresh = _tree(fresh_dir)
        committed = _tree(release_dir)
        if assignments is not None:
            scope = (*assignments, INDEX)
            committed = {
                k: v for k, v in committed.items() if k == INDEX or k.split("/")[0] in scope
            }
        differing = sorted(
            name for name in set(fresh) | set(committed) if fresh.get(name) != committed.get(name)
        )
        if check:
            if differing:
                raise NotInSync([f"{RELEASE_DIR}/{name}" for name in differing])
            return []
        for name in differing:
            dest = release_dir / name
            if name in fresh:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(fresh[name])
            else:
                dest.unlink()
        return [f"{RELEASE_DIR}/{name}" for name in differing]
