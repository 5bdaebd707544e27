"""Parsing a submitted cell as IPython runs it, for the grader's static scan (scan.py).

IPython's input transformer turns magics and shell escapes into Python; a cell with none of
them that compiles as it stands is parsed directly (the transformer is by far the slowest
step).  The code of ``%time``/``%timeit`` is returned for walking in place.
"""

from __future__ import annotations

import ast

from convcourse.instructor.judging import scan_policy as policy

# --------------------------------------------------------------------------------- parsing

# Lines IPython may rewrite (magics, shell escapes, help, autocall, pasted prompts).  A cell with
# none of them that compiles as it stands is run by IPython exactly as written (checked on every
# cell of the course and every top-level statement of its Python files), so the scan skips
# IPython's tokenizer for it -- by far the slowest step.
_IPYTHON_STARTS = ("%", "!", "?", "/", ",", ";", ">>>", "...", "In [")
_COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def looks_plain(source: str) -> bool:
    """Whether IPython would run ``source`` as written, if it compiles."""
    lines = source.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first[:1].isspace():
        return False  # IPython removes a common indentation
    for line in lines:
        if line.lstrip().startswith(_IPYTHON_STARTS) or line.rstrip().endswith("?"):
            return False
    return True


def transformed(source: str, manager=None) -> tuple[str, int]:
    """IPython's transform of ``source`` and how many leading lines it dropped."""
    try:
        if manager is None:
            from IPython.core.inputtransformer2 import TransformerManager

            manager = TransformerManager()
        text = manager.transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython refuses the cell: it will not run either
        return source, 0
    dropped = 0
    for line in source.splitlines():
        if line and not line.isspace():
            break
        dropped += 1  # IPython drops leading empty lines: findings keep the submitted lines
    return text, dropped


def parse(text: str) -> tuple[ast.Module | None, str | None]:
    """The AST of ``text`` (None when it does not parse) and why it cannot be analysed."""
    try:
        return compile(text, "<cell>", "exec", _COMPILE_FLAGS, dont_inherit=True), None
    except (SyntaxError, ValueError, OverflowError):
        return None, None
    except (RecursionError, MemoryError):
        return None, "its code is nested too deeply for Python's parser"


def parse_cell(source: str, manager=None) -> tuple[ast.Module | None, str | None, int]:
    """The AST IPython would run for a cell, why it cannot be analysed, and the line offset."""
    if looks_plain(source):
        tree, problem = parse(source)
        if tree is not None or problem:
            return tree, problem, 0
    text, dropped = transformed(source, manager)
    tree, problem = parse(text)
    return tree, problem, dropped


class TooDeep(Exception):
    """The walk went deeper than MAX_DEPTH."""


def magic_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``("run_line_magic", args)`` for ``get_ipython().<method>(...)``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    shell = node.func.value
    if (
        isinstance(shell, ast.Call)
        and isinstance(shell.func, ast.Name)
        and shell.func.id == "get_ipython"
        and not shell.args
        and not shell.keywords
    ):
        return node.func.attr, node.args
    return None


def const_str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def magic_statements(name: str, line: str, cell: str | None) -> list[tuple[str, int]]:
    """The code a %time/%timeit magic runs, as (text, line offset within the magic): parsed with
    IPython's own option parsers, so the scan reads what IPython would run.  The raw line is
    read as well (a second reading costs nothing and covers a parser that changed)."""
    from types import SimpleNamespace

    from IPython.core import magic_arguments
    from IPython.core.magic import Magics
    from IPython.core.magics.execution import ExecutionMagics

    readings = {line}
    try:
        if name == "timeit":
            _, stmt = Magics.parse_options(
                SimpleNamespace(options_table={}),
                line,
                policy.TIMEIT_OPTIONS,
                posix=False,
                strict=False,
                preserve_non_opts=True,
            )
        else:
            _, extra = magic_arguments.parse_argstring(ExecutionMagics.time, line, partial=True)
            stmt = " ".join(extra)
        readings.add(stmt)
    except BaseException:  # noqa: BLE001 - IPython refuses the line: the magic will not run
        pass
    out = [(text, 0) for text in sorted(readings) if text.strip()]
    if cell is not None and cell.strip():
        out.append((cell, 1))
    return out
