"""The student world holds no answer: no module of convcourse outside convcourse/instructor
defines (at top level) a name that a solution cell of the lessons defines, and none imports the
instructor world."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import convcourse

PACKAGE = Path(convcourse.__file__).resolve().parent
REPO = PACKAGE.parent
STUDENT_WORLD = sorted(
    p for p in PACKAGE.rglob("*.py") if "instructor" not in p.relative_to(PACKAGE).parts
)


def _python(source: str) -> str:
    """The Python IPython would run for a cell (magics become function calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _bound_names(target) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def top_level_bindings(tree: ast.Module) -> dict[str, int]:
    """Every name a module binds at top level (def, class, assignment, import, for, with), with
    its line."""
    found: dict[str, int] = {}
    for node in tree.body:
        names: set[str] = set()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = {node.name}
        elif isinstance(node, ast.Assign):
            names = set().union(*(_bound_names(t) for t in node.targets))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            names = _bound_names(node.target)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.For | ast.AsyncFor):
            names = _bound_names(node.target)
        elif isinstance(node, ast.With | ast.AsyncWith):
            names = set().union(
                *(_bound_names(i.optional_vars) for i in node.items if i.optional_vars)
            )
        for name in names:
            found.setdefault(name, node.lineno)
    return found


def solution_names() -> set[str]:
    """The names the solution cells of solutions/*/*.ipynb define at top level."""
    names: set[str] = set()
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] != "code" or not meta.get("solution"):
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            names |= set(top_level_bindings(ast.parse(_python(source))))
    return names


def instructor_imports(tree: ast.Module) -> list[int]:
    """Lines that import convcourse.instructor (anywhere in the module, lazily too)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name.startswith("convcourse.instructor") for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("convcourse.instructor") or (
                node.module == "convcourse" and any(a.name == "instructor" for a in node.names)
            ):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("convcourse.instructor")
        ):
            lines.append(node.lineno)  # importlib.import_module("convcourse.instructor...")
    return lines


SOLUTION_NAMES = solution_names()


def test_the_solutions_define_the_exercise_names():
    # The set is computed from the notebooks; these are answers of every lesson.
    assert {"corr2d", "corr2d_fast", "Conv2D", "kernel_matrix", "blur_kernel"} <= SOLUTION_NAMES
    assert {"dense_weight_from_kernel", "train_kernel", "K_horizontal"} <= SOLUTION_NAMES


def test_the_student_world_is_what_it_should_be():
    names = {p.relative_to(PACKAGE).as_posix() for p in STUDENT_WORLD}
    assert {"oracle.py", "checks/rules.py", "checks/recorder.py", "kernels.py"} <= names
    assert not {"corr.py", "layers.py"} & names  # moved to convcourse/instructor/reference


@pytest.mark.parametrize("path", STUDENT_WORLD, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_of_the_student_world_defines_an_answer(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    clashes = {n: line for n, line in top_level_bindings(tree).items() if n in SOLUTION_NAMES}
    assert not clashes, f"{path.name} defines solution names at top level: {clashes}"


@pytest.mark.parametrize("path", STUDENT_WORLD, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_of_the_student_world_imports_the_instructor_world(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not instructor_imports(tree), f"{path.name} imports convcourse.instructor"


def test_the_scanner_finds_what_it_looks_for():
    """The two detectors above are not vacuous."""
    tree = ast.parse(
        "import torch\n"
        "def corr2d(X, K): pass\n"
        "class Conv2D: pass\n"
        "K_horizontal = None\n"
        "blur_kernel: object = None\n"
        "from convcourse.instructor.reference.corr import corr2d_fast\n"
        "def later():\n"
        "    import convcourse.instructor.reference.layers\n"
        "    from convcourse import instructor\n"
    )
    bound = top_level_bindings(tree)
    assert {"corr2d", "Conv2D", "K_horizontal", "blur_kernel", "corr2d_fast"} <= set(bound)
    assert "later" in bound and "instructor" not in bound
    assert instructor_imports(tree) == [6, 8, 9]
