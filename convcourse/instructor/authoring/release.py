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
    convcourse release --lang en          # only the English edition

Each other language with a translation folder (``translations/<lang>/``, see
``translation.py``) gets its edition from the same sources: the student version in
``notebooks/<lang>/`` and the instructor version in ``translations/<lang>/instructor/``, the
same file names, code and nbgrader cells as the English, only the prose translated.

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
    "editions",
    "kernelspec",
    "instructor_edition",
    "source_notebooks",
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


def kernelspec(lang: str = "en") -> dict:
    """The kernelspec every notebook of edition ``lang`` names (its kernel sets the language)."""
    if lang == "en":
        return dict(KERNELSPEC)
    from convcourse.instructor.authoring.translation import LANGUAGES

    info = LANGUAGES[lang]
    return {"name": info["kernel"], "display_name": info["display_name"], "language": "python"}


def editions(root) -> list[str]:
    """The languages this course is released in: English, then each translation folder's."""
    from convcourse.instructor.authoring.translation import LANGUAGES, TRANSLATIONS_DIR

    folder = Path(root) / TRANSLATIONS_DIR
    return ["en"] + [lang for lang in sorted(LANGUAGES) if (folder / lang).is_dir()]


def normalize(nb, keep_checked_outputs: bool = False, lang: str = "en"):
    """A canonical copy of notebook ``nb``: outputs, counts and editor metadata removed.

    With ``keep_checked_outputs`` the text outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` stay
    (they are nbval's reference); every other output goes.  nbval ignores a cell without an
    execution count, so a kept output gets the count a fresh "Run All" gives it (its position
    among the code cells); every other count is removed.  Cell ids are kept; a cell without one
    (nbformat < 4.5) gets a fresh one, which is then stable.
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": kernelspec(lang)})
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


def source_notebooks(root: Path) -> list[Path]:
    """The instructor notebooks: the index (if any), then each lesson's."""
    root = Path(root)
    paths = [root / SOURCE_DIR / INDEX] if (root / SOURCE_DIR / INDEX).exists() else []
    return paths + [root / SOURCE_DIR / a / f"{a}.ipynb" for a in lessons(root)]


def strip_sources(root, check: bool = False) -> list[str]:
    """Put every instructor notebook in canonical form; return the files that changed.

    With ``check`` nothing is written: the files that are not in canonical form are returned.
    """
    root = Path(root)
    changed = []
    for path in source_notebooks(root):
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
    for path in source_notebooks(root):
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


def _check_assignments(root: Path, assignments) -> list[str]:
    known = lessons(root)
    assignments = known if assignments is None else list(assignments)
    unknown = sorted(set(assignments) - set(known))
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; {SOURCE_DIR}/ holds {known}")
    return assignments


def generate(root, out_dir, assignments=None, lang: str = "en", source_dir=None) -> list[str]:
    """Write the canonical student release of ``solutions/`` under ``out_dir``.

    Runs nbgrader's ``GenerateAssignment`` for each assignment in a temporary course directory
    (its own throw-away gradebook), then writes every released notebook in canonical form and
    copies any other released file unchanged.  Returns the written paths relative to
    ``out_dir``.  ``source_dir`` replaces ``solutions/`` (an instructor edition in another
    language, see :func:`instructor_edition`); ``lang`` names its kernel.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    root, out_dir = Path(root).resolve(), Path(out_dir)
    source_dir = Path(source_dir) if source_dir is not None else root / SOURCE_DIR
    assignments = _check_assignments(root, assignments)
    written = []
    with tempfile.TemporaryDirectory(prefix="convcourse-release-") as tmp:
        course = Path(tmp)
        shutil.copytree(
            source_dir,
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
                    dest.write_text(canonical_json(normalize(nb, lang=lang)), encoding="utf-8")
                else:
                    shutil.copyfile(path, dest)
                written.append(rel.as_posix())
    index = source_dir / INDEX
    if index.exists():
        nb = nbformat.read(index, as_version=4)
        (out_dir / INDEX).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / INDEX).write_text(canonical_json(normalize(nb, lang=lang)), encoding="utf-8")
        written.append(INDEX)
    return written


def instructor_edition(root, lang: str, out_dir, assignments=None) -> list[str]:
    """Write the ``lang`` instructor edition (a ``solutions/``-shaped tree) under ``out_dir``.

    Each English instructor notebook with its prose replaced from
    ``translations/<lang>/<notebook>.md`` (:mod:`translation`); every other file of a lesson
    folder is copied as it is.  Raises ``TranslationError`` listing every cell whose translation
    is missing, stale, unfinished or empty.
    """
    from convcourse.instructor.authoring import translation

    root, out_dir = Path(root).resolve(), Path(out_dir)
    assignments = _check_assignments(root, assignments)
    written = []
    errors = []
    sources = [root / SOURCE_DIR / INDEX] if (root / SOURCE_DIR / INDEX).exists() else []
    sources += [root / SOURCE_DIR / a / f"{a}.ipynb" for a in assignments]
    for source in sources:
        rel = source.relative_to(root / SOURCE_DIR)
        if source.parent != root / SOURCE_DIR:
            for extra in sorted(p for p in source.parent.rglob("*") if p.is_file()):
                skip = {".ipynb_checkpoints", "__pycache__"} & set(extra.parts)
                if extra != source and not skip:
                    dest = out_dir / extra.relative_to(root / SOURCE_DIR)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(extra, dest)
                    written.append(extra.relative_to(root / SOURCE_DIR).as_posix())
        path = translation.translation_path(root, lang, source.name)
        shown = path.relative_to(root).as_posix()
        if not path.exists():
            errors.append(f"{shown}: missing (run `convcourse translation sync {lang}`)")
            continue
        nb = nbformat.read(source, as_version=4)
        try:
            edition = translation.translate(
                nb, translation.parse(path.read_text(encoding="utf-8")), lang, shown
            )
        except translation.TranslationError as exc:
            errors.append(str(exc))
            continue
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = canonical_json(normalize(edition, keep_checked_outputs=True, lang=lang))
        dest.write_text(text, encoding="utf-8")
        written.append(rel.as_posix())
    if errors:
        raise translation.TranslationError(f"the {lang} edition", errors)
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


def instructor_dir(lang: str) -> str:
    """Where the ``lang`` instructor edition is kept, relative to the course root."""
    from convcourse.instructor.authoring.translation import TRANSLATIONS_DIR

    return f"{TRANSLATIONS_DIR}/{lang}/instructor"


def _fresh_editions(root: Path, out: Path, assignments, languages) -> None:
    """Every managed file of ``languages``' editions under ``out`` (course-root relative)."""
    for lang in languages:
        if lang == "en":
            generate(root, out / RELEASE_DIR, assignments)
            continue
        source = out / instructor_dir(lang)
        instructor_edition(root, lang, source, assignments)
        generate(root, out / RELEASE_DIR / lang, assignments, lang=lang, source_dir=source)


def _managed(root: Path, languages) -> dict[str, bytes]:
    """The committed files that a release of ``languages`` writes (course-root relative)."""
    files = {}
    others = set(editions_known())  # notebooks/<lang>/ is that edition's, released or not
    for name, data in _tree(root / RELEASE_DIR).items():
        lang = name.split("/")[0] if name.split("/")[0] in others else "en"
        if lang in languages:
            files[f"{RELEASE_DIR}/{name}"] = data
    for lang in languages:
        if lang != "en":
            for name, data in _tree(root / instructor_dir(lang)).items():
                files[f"{instructor_dir(lang)}/{name}"] = data
    return files


def _in_scope(path: str, scope: tuple[str, ...]) -> bool:
    """Whether managed file ``path`` belongs to one of the assignments ``scope`` (or an index)."""
    parts = path.split("/")
    if parts[0] == RELEASE_DIR:
        parts = parts[1:]
    else:  # translations/<lang>/instructor/...
        parts = parts[3:]
    if parts and parts[0] in set(editions_known()):
        parts = parts[1:]
    return parts[0] == INDEX or parts[0] in scope


def editions_known() -> list[str]:
    from convcourse.instructor.authoring.translation import LANGUAGES

    return sorted(LANGUAGES)


def release(root=".", assignments=None, check: bool = False, languages=None) -> list[str]:
    """Regenerate ``notebooks/`` (and each translated edition) from ``solutions/``.

    Returns the files that changed.  With ``check`` nothing is written: the files that differ
    from a fresh generation (changed, missing or extra) are listed in the :class:`NotInSync`
    raised.  ``assignments`` limits the work to some lessons (the index is always included);
    ``languages`` to some editions (default: every edition, :func:`editions`).
    """
    root = Path(root).resolve()
    available = editions(root)
    languages = available if languages is None else list(languages)
    unknown = sorted(set(languages) - set(available))
    if unknown:
        raise ValueError(f"no edition {unknown}; this course has {available}")
    clash = sorted(set(lessons(root)) & set(editions_known()))
    if clash:
        raise ValueError(f"lesson folder(s) {clash} carry the name of a language edition")
    with tempfile.TemporaryDirectory(prefix="convcourse-fresh-") as tmp:
        fresh_dir = Path(tmp)
        _fresh_editions(root, fresh_dir, assignments, languages)
        fresh = {
            name: data
            for name, data in _tree(fresh_dir).items()
            if name.startswith(f"{RELEASE_DIR}/")
            or any(
                name.startswith(instructor_dir(lang) + "/") for lang in languages if lang != "en"
            )
        }
        committed = _managed(root, languages)
        if assignments is not None:
            scope = tuple(assignments)
            committed = {k: v for k, v in committed.items() if _in_scope(k, scope)}
        differing = sorted(
            name for name in set(fresh) | set(committed) if fresh.get(name) != committed.get(name)
        )
        if check:
            if differing:
                raise NotInSync(differing)
            return []
        for name in differing:
            dest = root / name
            if name in fresh:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(fresh[name])
            else:
                dest.unlink()
        return differing
