"""What the kit tests look for, computed from the instructor notebooks (``solutions/``).

Written independently of ``convcourse.instructor.authoring.kit`` (which audits the same
things before it writes a kit), after ``tests/course/test_course_leaks.py``: a test that
reused the audit could not catch a bug in it.  Only the filter of trivial lines is shared
(``is_trivial_line``), and tests below make sure that it leaves enough to look for.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import nbformat

from convcourse.instructor.authoring.kit_audit import is_trivial_line

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
SKIP_PARTS = {".git", "__pycache__", ".ipynb_checkpoints"}


def lessons() -> list[str]:
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_path(lesson: str, lang: str = "en") -> Path:
    """The instructor notebook of ``lesson``; of another edition, its instructor version."""
    if lang != "en":
        return REPO / "translations" / lang / "instructor" / lesson / f"{lesson}.ipynb"
    return SOLUTIONS / lesson / f"{lesson}.ipynb"


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_answer_cell(cell) -> bool:
    """An answer stub: nbgrader's solution cell (code)."""
    return cell.cell_type == "code" and bool(nbgrader(cell).get("solution"))


def _inside(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def secret_lines(lesson: str, lang: str = "en") -> set[str]:
    """Lines of the lesson's solutions, hidden tests, mark schemes and model answers that occur
    nowhere else in the instructor notebook (of edition ``lang``: the Chinese one has its model
    answers translated), without the trivial ones."""
    nb = nbformat.read(source_path(lesson, lang), as_version=4)
    secret, public = set(), set()
    for cell in nb.cells:
        lines = {ln.strip() for ln in cell.source.splitlines()}
        meta = nbgrader(cell)
        if meta.get("grade") and meta.get("solution"):  # free response: model answer, rubric
            secret |= lines
            continue
        hidden = set()
        for begin, end in (
            ("BEGIN SOLUTION", "END SOLUTION"),
            ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
            ("BEGIN MARK SCHEME", "END MARK SCHEME"),
        ):
            hidden.update(_inside(cell.source, begin, end))
        secret |= hidden
        public |= lines - hidden
    return {ln for ln in secret - public if not is_trivial_line(ln)}


def python_of(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def top_level_names(source: str) -> set[str]:
    """Names bound at module level by ``source`` (def, class, assignments, imports, loops)."""
    tree = ast.parse(python_of(source))
    names = set()
    scopes = (
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Lambda,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
    )

    def visit(node):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        if isinstance(node, scopes):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def solution_names() -> set[str]:
    """What the solution cells of every lesson define at top level: the answers' names."""
    names = set()
    for lesson in lessons():
        nb = nbformat.read(source_path(lesson), as_version=4)
        for cell in nb.cells:
            if is_answer_cell(cell):
                names |= top_level_names(cell.source)
    return names


def tree(folder: Path) -> dict[str, bytes]:
    """The files under ``folder`` (relative path -> bytes), without caches and .git."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not SKIP_PARTS & set(p.relative_to(folder).parts)
    }


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a student's commands: nothing of this test run's Python leaks in
    (``course.py test`` sets PYTHONPATH to the instructor repository)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.pop("CONVCOURSE_STUDENT_ID", None)
    env.update(extra)
    return env


PYTHON = sys.executable
