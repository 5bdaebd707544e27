"""The audit of a student edition: nothing in it may give an answer away.

:func:`audit` lists every reason a kit must not be published: a path of the instructor's
(``solutions/``, ``convcourse/instructor/``, tests, gradebook, ``nbgrader_config.py``); a line of
a solution, hidden test, mark scheme or model answer of ``solutions/`` in any file (lines too
common to give anything away are not counted, :func:`is_trivial_line`); a name that a solution
cell defines (``corr2d``, ``Conv2D``, ...) defined at top level by a ``.py`` file or by a notebook
code cell outside the answer stubs; an import of ``convcourse.instructor``.  ``convcourse kit``
writes nothing while the list is not empty.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from convcourse.instructor.judging.scan_scopes import SCOPES

__all__ = ["FORBIDDEN", "audit", "is_trivial_line", "solution_secrets"]

# Paths a kit must never hold (a defence in depth: nothing above copies them).
FORBIDDEN = re.compile(
    r"^(solutions|translations|tests|submitted|autograded|feedback|reports|\.grading"
    r"|convcourse/instructor)"
    r"(/|$)|^nbgrader_config\.py$|(^|/)gradebook[^/]*$|\.db$"
)
# nbgrader's markers of instructor-only regions.
_REGIONS = (
    ("BEGIN SOLUTION", "END SOLUTION"),
    ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    ("BEGIN MARK SCHEME", "END MARK SCHEME"),
)
_SECRET_MIN_CHARS = 12  # shorter lines (``return Y``, brackets) are not distinctive


def _region_lines(source: str) -> set[str]:
    lines, inside = set(), False
    for line in source.splitlines():
        if any(begin in line for begin, _ in _REGIONS):
            inside = True
        elif any(end in line for _, end in _REGIONS):
            inside = False
        elif inside:
            lines.add(line.strip())
    return lines


def _python(source: str) -> str:
    """The Python that IPython runs for a cell (magics become calls), for parsing."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _outside_scopes(node):
    """``node`` and everything under it that is not inside a function, class or comprehension
    (what runs in the module's own namespace)."""
    yield node
    if isinstance(node, SCOPES):
        return
    for child in ast.iter_child_nodes(node):
        yield from _outside_scopes(child)


def _top_level_definitions(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of every name a module or cell binds at top level: def, class, assignment,
    import, for and with targets, walrus, also inside top-level if/try/with/for blocks."""
    found: list[tuple[str, int]] = []
    for node in _outside_scopes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((node.name, node.lineno))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append((node.id, node.lineno))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    found.append(((alias.asname or alias.name).split(".")[0], node.lineno))
    return found


def _imports_instructor(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name.startswith("convcourse.instructor") for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("convcourse.instructor") or (
                node.module == "convcourse" and any(a.name == "instructor" for a in node.names)
            ):
                lines.append(node.lineno)
    return lines


_BLOCK_KEYWORD = re.compile(r"^(else|try|finally|except\b.*|elif\b.*)\s*:$")
_LOOP_HELPERS = {"range", "enumerate", "zip", "reversed", "len"}


def _plain(node) -> bool:
    """An expression that only names things (no arithmetic, no call with arguments)."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.Attribute | ast.Starred):
        return _plain(node.value)
    if isinstance(node, ast.Subscript):
        return _plain(node.value) and _plain(node.slice)
    if isinstance(node, ast.Slice):
        return all(part is None or _plain(part) for part in (node.lower, node.upper, node.step))
    if isinstance(node, ast.Tuple | ast.List):
        return all(_plain(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.Call):
        return not node.args and not node.keywords and _plain(node.func)
    if isinstance(node, ast.Compare):
        return _plain(node.left) and all(_plain(c) for c in node.comparators)
    if isinstance(node, ast.BoolOp):
        return all(_plain(v) for v in node.values)
    return False


def _bookkeeping(node) -> bool:
    """A value that an assignment may take without giving an answer away: plain, the output
    size arithmetic the lessons publish (``n_h - k_h + 1``: + and - of plain names and
    integers), or a call on names alone (``torch.promote_types(X.dtype, K.dtype)``)."""
    if isinstance(node, ast.Tuple | ast.List):
        return all(_bookkeeping(e) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return all(
            (isinstance(side, ast.Constant) and type(side.value) is int)
            or (_plain(side) and not isinstance(side, ast.Call))
            or (isinstance(side, ast.BinOp) and _bookkeeping(side))
            for side in (node.left, node.right)
        )
    if isinstance(node, ast.Call) and node.args and not node.keywords:
        names = all(isinstance(a, ast.Name | ast.Attribute) and _plain(a) for a in node.args)
        return names and _plain(node.func)
    return _plain(node)


def _closed(line: str) -> str:
    """``line`` with its unclosed brackets closed (the first line of a long call)."""
    closers = {"(": ")", "[": "]", "{": "}"}
    stack = []
    for char in line:
        if char in closers:
            stack.append(closers[char])
        elif stack and char == stack[-1]:
            stack.pop()
    return line + "".join(reversed(stack))


def is_trivial_line(line: str) -> bool:
    """Whether a line of a solution is too common to give anything away.

    Short lines, comments, and Python statements that compute nothing: unpacking shapes
    (``h, w = K.shape``), assignments of the output size the lessons publish
    (``o_h, o_w = n_h - k_h + 1, n_w - k_w + 1``) or of a call on names alone
    (``dtype = torch.promote_types(X.dtype, K.dtype)``), loop headers over ``range``, calls
    without arguments (``optimizer.zero_grad()``), ``with``/``if``/``def`` headers, imports,
    block keywords.  Any other arithmetic, a call with constants, keywords or nested calls as
    arguments, any ``return`` that computes, and prose (a model answer) count.
    """
    line = line.strip()
    if len(line) < _SECRET_MIN_CHARS or line.startswith("#") or _BLOCK_KEYWORD.match(line):
        return True
    text = _closed(line)
    if text.endswith(":"):
        text += " pass"
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return False
    if len(body) != 1:
        return False
    node = body[0]
    if isinstance(node, ast.Assign | ast.AnnAssign):
        return node.value is None or _bookkeeping(node.value)
    if isinstance(node, ast.Expr | ast.Return):
        return node.value is None or _plain(node.value)
    if isinstance(node, ast.For):
        it = node.iter
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
            return it.func.id in _LOOP_HELPERS and all(_plain(a) for a in it.args)
        return _plain(it)
    if isinstance(node, ast.If | ast.While):
        return _plain(node.test)
    if isinstance(node, ast.With):
        return all(_plain(item.context_expr) for item in node.items)
    return isinstance(
        node,
        ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom | ast.Pass | ast.Break,
    ) or isinstance(node, ast.Continue)


def solution_secrets(course) -> tuple[set[str], set[str]]:
    """(names, lines) no kit may contain, from the instructor notebooks of ``solutions/``.

    names: what solution cells define at top level (the answers' names).  lines: distinctive
    lines of solutions, hidden tests, mark schemes and model answers (graded free-response
    cells) that appear nowhere else in the instructor notebooks.  The instructor versions of the
    translated editions (``translations/<lang>/instructor/``, whose model answers are translated)
    count as instructor notebooks too.
    """
    source = Path(course).resolve() / "solutions"
    if not source.is_dir():
        raise FileNotFoundError(
            f"no solutions/ in {Path(course).resolve()}: is this the course folder?"
        )
    names, secret, public = set(), set(), set()
    editions = sorted((Path(course).resolve() / "translations").glob("*/instructor/**/*.ipynb"))
    for path in sorted(source.rglob("*.ipynb")) + editions:
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            lines = {ln.strip() for ln in cell.source.splitlines()}
            if meta.get("solution") and cell.cell_type == "code":
                try:
                    tree = ast.parse(_python(cell.source))
                except SyntaxError:
                    tree = ast.Module(body=[], type_ignores=[])
                names.update(name for name, _ in _top_level_definitions(tree))
            if meta.get("solution") and meta.get("grade"):  # free response: a model answer
                secret |= lines
                continue
            hidden = _region_lines(cell.source)
            secret |= hidden
            public |= lines - hidden
    return names, {ln for ln in secret - public if not is_trivial_line(ln)}


def _answer_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def audit(files: dict[str, bytes], course) -> list[str]:
    """Every reason the kit ``files`` must not be published (empty: it may).

    See the module docstring; ``course`` is the course folder whose ``solutions/`` say what
    must not leak.
    """
    names, secrets = solution_secrets(course)
    problems = [f"{rel}: instructor material" for rel in files if FORBIDDEN.search(rel)]
    for rel, data in files.items():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # images and other binary files hold no source lines
        pieces = [text]
        cells = []
        if rel.endswith(".ipynb"):
            try:
                nb = nbformat.reads(text, as_version=4)
            except Exception as exc:
                problems.append(f"{rel}: not a readable notebook ({type(exc).__name__})")
                continue
            pieces += [cell.source for cell in nb.cells]
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
                if marker in text:
                    problems.append(f"{rel}: holds an nbgrader region marker ({marker})")
            cells = [
                (i, cell.source)
                for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code" and not _answer_cell(cell)
            ]
        elif rel.endswith(".py"):
            cells = [(None, text)]
        for secret in sorted(secrets):
            if any(secret in piece for piece in pieces):
                problems.append(f"{rel}: holds a line of a solution or mark scheme: {secret!r}")
        for index, source in cells:
            where = rel if index is None else f"{rel} cell {index}"
            try:
                tree = ast.parse(_python(source))
            except SyntaxError:
                if index is None:
                    problems.append(f"{where}: not valid Python")
                continue
            for name, line in _top_level_definitions(tree):
                if name in names:
                    problems.append(f"{where} line {line}: defines {name}, an exercise's answer")
            for line in _imports_instructor(tree):
                problems.append(f"{where} line {line}: imports convcourse.instructor")
    return problems
