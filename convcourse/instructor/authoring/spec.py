"""What the grader needs to know about an assignment, read from the INSTRUCTOR's notebooks.

Everything that decides a score comes from here, never from a submission: the graded cells and
their points, which check calls each test cell makes (parsed from the test cell's code, hidden
tests included), the checksums nbgrader uses to recognise an untouched answer, and the versions
of the locked cells.  The instructor notebook is put through the same nbgrader preprocessors
``generate_assignment`` uses (lock, clear solutions, checksums; then clear hidden tests and mark
schemes for the student-visible text), with the course's own nbgrader configuration.

An :class:`AssignmentSpec` is plain data (dataclasses of str/float/bool/list/dict), so a batch
can ship it to Dask workers.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.instructor.layout import ConfigError, CourseLayout, nbgrader_config

__all__ = [
    "CheckCall",
    "CellSpec",
    "NotebookSpec",
    "AssignmentSpec",
    "SpecError",
    "load_spec",
    "check_registry",
    "all_exercises",
    "slot_setup",
    "source_fingerprint",
    "MAX_EXTRA_FILE_BYTES",
]

MAX_EXTRA_FILE_BYTES = 16 * 2**20
SEED_FROM_STUDENT = "student"


class SpecError(ConfigError):
    """The instructor notebook cannot be graded by the sandboxed grader as written."""


@dataclass
class CheckCall:
    """One ``check_xxx(...)`` statement of a test cell."""

    exercise: str
    check_name: str
    args: list[str]  # the notebook names passed, in order (mapped onto Exercise.symbols)
    hidden: bool = False
    seed: str | int | None = None  # "student": the student's seed; an int; None: visible cases
    extra: dict = field(default_factory=dict)  # further constant arguments (e.g. a level)


@dataclass
class CellSpec:
    """A cell of the instructor notebook that nbgrader tracks (it has a grade_id)."""

    grade_id: str
    cell_type: str
    role: str  # "test" | "solution" | "manual" | "task" | "locked"
    points: float
    locked: bool
    checksum: str
    source: str  # as stored in the gradebook (solutions cleared, hidden tests kept)
    student_source: str  # as released (hidden tests and mark schemes removed)
    position: int  # index among the instructor notebook's cells
    nbgrader: dict = field(default_factory=dict)  # metadata as generate_assignment writes it


@dataclass
class NotebookSpec:
    name: str
    cells: list[CellSpec]
    tests: dict[str, list[CheckCall]]
    kernelspec: dict
    metadata: dict
    # The released text of the code cells before the first tracked cell: the same in every
    # honest submission, so a worker slot runs them once (see inside/runner.run_prelude).
    prelude: list[str] = field(default_factory=list)
    # The released text of every code cell (instructor code, answer stubs): a submitted cell
    # with exactly this text is the instructor's, not evidence of anything (scan.py).
    released_code: list[str] = field(default_factory=list)

    def cell(self, grade_id: str) -> CellSpec | None:
        for c in self.cells:
            if c.grade_id == grade_id:
                return c
        return None

    def answer_cell(self, test_grade_id: str) -> CellSpec | None:
        """The answer (solution) cell a test cell checks: the nearest one above it."""
        test = self.cell(test_grade_id)
        if test is None:
            return None
        above = [c for c in self.cells if c.role == "solution" and c.position < test.position]
        return max(above, key=lambda c: c.position) if above else None

    @property
    def auto_max_score(self) -> float:
        return sum(c.points for c in self.cells if c.role == "test")

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells if c.role in ("test", "manual", "task"))


@dataclass
class AssignmentSpec:
    assignment_id: str
    notebooks: dict[str, NotebookSpec]
    files: dict[str, bytes]  # non-notebook files of the source folder (nbgrader copies them)
    fingerprint: str  # hash of the source folder: a change invalidates earlier results

    @property
    def auto_max_score(self) -> float:
        return sum(nb.auto_max_score for nb in self.notebooks.values())

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())

    def prelude(self) -> tuple[str, ...]:
        """The prelude a worker slot may run once (single-notebook assignments only)."""
        if len(self.notebooks) != 1:
            return ()
        return tuple(next(iter(self.notebooks.values())).prelude)

    def preload_modules(self) -> list[str]:
        """Modules the instructor notebooks import (worth importing once per worker slot)."""
        found: list[str] = []
        for nb in self.notebooks.values():
            for name in nb.metadata.get("_imports", []):
                if name not in found:
                    found.append(name)
        return found


def check_registry() -> dict[str, list[str]]:
    """``check function name -> exercise ids``, from ``convcourse.checks.EXERCISES``.

    One check function may stand for several exercises (``check_corr2d_speed`` has a level
    argument): the call's first constant argument then names the exercise (its id ends with it).
    """
    table: dict[str, list[str]] = {}
    for ex_id, ex in all_exercises().items():
        name = getattr(ex, "check_name", "") or ""
        if name:
            table.setdefault(name, []).append(ex_id)
    return table


def all_exercises() -> dict:
    """Every exercise a test cell may call, by id (``convcourse.checks.GRADED_EXERCISES``)."""
    import convcourse.checks as checks

    return dict(checks.GRADED_EXERCISES)


def _pick_exercise(where: str, fname: str, ids: list[str], extra_args: list) -> str:
    if len(ids) == 1:
        return ids[0]
    for value in extra_args:
        for ex_id in ids:
            if ex_id.endswith(f"-{value}"):
                return ex_id
    raise SpecError(f"{where}: cannot tell which of {', '.join(ids)} {fname}() checks")


def source_fingerprint(layout: CourseLayout, assignment_id: str) -> str:
    """A hash of the instructor's folder of ``assignment_id`` (notebooks and other files)."""
    folder = layout.source_dir(assignment_id)
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".ipynb"):
        rel = path.relative_to(folder).as_posix()
        if ".ipynb_checkpoints" in rel or "__pycache__" in rel:
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def slot_setup(layout: CourseLayout, assignment_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a worker slot preloads and runs once -- read cheaply, so that the sandboxes can
    start before the grader itself has imported torch and nbgrader: the modules the instructor
    notebook imports, and its prelude (the code cells before the first tracked cell, which
    ``generate_assignment`` releases unchanged).  Must agree with :func:`load_spec`."""
    import json

    paths = sorted(layout.source_dir(assignment_id).glob("*.ipynb"))
    if len(paths) != 1:
        return (), ()
    try:
        nb = json.loads(paths[0].read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if isinstance(c, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return (), ()
    imports: list[str] = []
    prelude: list[str] = []
    in_prelude = True
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"):
            in_prelude = False
        if cell.get("cell_type") != "code":
            continue
        if in_prelude:
            prelude.append(source)
        for name in _source_imports(source):
            if name not in imports:
                imports.append(name)
        # torch.optim imports torch._dynamo at its first step (seconds): once per slot, then.
        if "torch.optim" in source and "torch._dynamo" not in imports:
            imports.append("torch._dynamo")
    return tuple(imports), tuple(prelude)


def load_spec(layout: CourseLayout, assignment_id: str) -> AssignmentSpec:
    """Read and check the instructor version of ``assignment_id``; raise SpecError if unusable."""
    import nbformat

    folder = layout.source_dir(assignment_id)
    if not folder.is_dir():
        known = ", ".join(layout.assignments()) or "none"
        raise SpecError(
            f"unknown assignment {assignment_id!r}: no folder {folder} (assignments: {known})"
        )
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise SpecError(f"no notebook in {folder}")
    config = nbgrader_config(layout.root)
    registry = check_registry()
    notebooks = {}
    for path in paths:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        notebooks[path.stem] = _notebook_spec(path.stem, nb, config, registry)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".ipynb"):
        rel = path.relative_to(folder).as_posix()
        if ".ipynb_checkpoints" in rel or "__pycache__" in rel:
            continue
        if path.stat().st_size > MAX_EXTRA_FILE_BYTES:
            raise SpecError(f"{path} is too large to copy next to each submission")
        files[rel] = path.read_bytes()
    fingerprint = source_fingerprint(layout, assignment_id)
    return AssignmentSpec(assignment_id, notebooks, files, fingerprint)


def _notebook_spec(name: str, nb, config, registry: dict[str, str]) -> NotebookSpec:
    from nbgrader import utils
    from nbgrader.preprocessors import (
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    imports = _notebook_imports(nb)
    resources: dict = {}
    # The gradebook's version: what generate_assignment stores with SaveCells.
    for pp in (LockCells, ClearSolutions, ClearOutput, ComputeChecksums):
        nb, resources = pp(config=config).preprocess(nb, resources)
    stored = copy.deepcopy(nb)
    # The student's version: hidden tests and mark schemes removed.
    for pp in (ClearHiddenTests, ClearMarkScheme, ComputeChecksums):
        nb, resources = pp(config=config).preprocess(nb, resources)
    cells, tests, seen = [], {}, set()
    for position, (cell, released) in enumerate(zip(stored.cells, nb.cells, strict=True)):
        meta = cell.metadata.get("nbgrader")
        if not meta or "grade_id" not in meta:
            continue
        grade_id = meta["grade_id"]
        if grade_id in seen:
            raise SpecError(f"{name}: grade id {grade_id!r} is used by two cells")
        seen.add(grade_id)
        grade, solution = utils.is_grade(cell), utils.is_solution(cell)
        if grade and not solution and cell.cell_type == "code":
            role = "test"
        elif grade and solution:
            role = "manual"
        elif meta.get("task"):
            role = "task"
        elif solution:
            role = "solution"
        else:
            role = "locked"
        points = float(meta.get("points", 0) or 0) if (grade or meta.get("task")) else 0.0
        cells.append(
            CellSpec(
                grade_id=grade_id,
                cell_type=cell.cell_type,
                role=role,
                points=points,
                locked=bool(meta.get("locked", False)),
                checksum=meta.get("checksum", ""),
                source=cell.source,
                student_source=released.source,
                position=position,
                nbgrader=dict(meta),
            )
        )
        if role == "test":
            tests[grade_id] = parse_test_cell(name, grade_id, cell.source, registry)
    prelude = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id"):
            break
        if cell.cell_type == "code":
            prelude.append(cell.source)
    metadata = {"_imports": imports}
    released_code = [c.source for c in nb.cells if c.cell_type == "code"]
    return NotebookSpec(
        name,
        cells,
        tests,
        dict(nb.metadata.get("kernelspec", {})),
        metadata,
        prelude,
        released_code,
    )


def parse_test_cell(notebook: str, grade_id: str, source: str, registry) -> list[CheckCall]:
    """The check calls of one test cell; anything else in it is an instructor error."""
    where = f"{notebook}: test cell {grade_id!r}"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise SpecError(f"{where} is not valid Python: {exc}") from None
    calls = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            continue
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            raise SpecError(
                f"{where}: line {stmt.lineno} is not a call of a convcourse check; the sandboxed "
                "grader runs test cells made of check_xxx(...) calls only"
            )
        fname = call.func.id
        if fname not in registry:
            raise SpecError(f"{where}: {fname}() is not a check of convcourse.checks.EXERCISES")
        args, extra_args = [], []
        for arg in call.args:
            if isinstance(arg, ast.Name) and not extra_args:
                args.append(arg.id)
            elif isinstance(arg, ast.Constant):
                extra_args.append(arg.value)
            else:
                raise SpecError(f"{where}: argument {ast.unparse(arg)} of {fname}() not understood")
        hidden, seed, extra = False, None, {}
        for kw in call.keywords:
            if kw.arg == "hidden" and isinstance(kw.value, ast.Constant):
                hidden = bool(kw.value.value)
            elif kw.arg == "seed":
                value = kw.value
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id == "student_seed"
                    and not value.args
                ):
                    seed = SEED_FROM_STUDENT
                elif isinstance(value, ast.Constant) and isinstance(value.value, int | type(None)):
                    seed = value.value
                else:
                    raise SpecError(f"{where}: seed={ast.unparse(value)} not understood")
            elif kw.arg and isinstance(kw.value, ast.Constant):
                extra[kw.arg] = kw.value.value
            else:
                raise SpecError(f"{where}: argument {ast.unparse(kw)} of {fname}() not understood")
        if extra_args:
            extra["args"] = extra_args
        exercise = _pick_exercise(where, fname, registry[fname], extra_args)
        calls.append(CheckCall(exercise, fname, args, hidden, seed, extra))
    if not calls:
        raise SpecError(f"{where} calls no check")
    return calls


def _notebook_imports(nb) -> list[str]:
    """Modules imported by the code cells (for preloading; as :func:`slot_setup` finds them)."""
    found: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for name in _source_imports(cell.source):
            if name not in found:
                found.append(name)
        if "torch.optim" in cell.source and "torch._dynamo" not in found:
            found.append("torch._dynamo")
    return found


def _source_imports(source: str) -> list[str]:
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _python_only(source: str) -> str:
    """Drop IPython-only lines (magics, shell escapes) so the rest parses as Python."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def spec_summary(spec: AssignmentSpec) -> str:
    lines = [f"assignment {spec.assignment_id} ({spec.fingerprint})"]
    for nb in spec.notebooks.values():
        tests = ", ".join(f"{g} ({nb.cell(g).points:g})" for g in nb.tests)
        lines.append(f"  {nb.name}: tests {tests}")
    return "\n".join(lines)


def source_path(layout: CourseLayout, spec: AssignmentSpec, notebook: str) -> Path:
    return layout.source_dir(spec.assignment_id) / f"{notebook}.ipynb"
