"""The facts a walk of the grader's static scan records, and Python's scoping rules it follows
(function, lambda, class and comprehension scopes), for scan_walker.py and scan.py."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

MAX_DEPTH = 120  # AST levels a walk follows: real code reaches 20
QUOTED_CHARS = 60  # characters of code quoted in a finding

# ---------------------------------------------------------------------------- facts of a unit


@dataclass(frozen=True)
class Recv:
    """The object an attribute is read from: its root name and how that name resolves."""

    root: str | None  # None: a computed object (a call, a subscript of one, ...)
    # "free" (module level), "local", "param" (a function's argument), "self" (a method's own
    # object, its first parameter), "computed" (no name: a call's result, ...)
    kind: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ref:
    line: int
    kind: str  # "attr" | "string" | "import" | "base" (a base class named by a plain name)
    name: str  # attribute name, string value or imported entity
    text: str  # how it reads in the code
    recv: Recv | None = None
    base: bool = False  # the reference is (part of) a base class


@dataclass
class Facts:
    refs: list[Ref] = field(default_factory=list)
    free: set[str] = field(default_factory=set)  # module-level names the unit reads
    mutated: set[str] = field(default_factory=set)  # module-level names it writes into
    calls: set[str] = field(default_factory=set)  # module-level names it calls or decorates with
    binds: set[str] = field(default_factory=set)  # module-level names it binds (not imports)
    imports: list[tuple[str, str, int]] = field(default_factory=list)  # (name, entity, line)
    stars: list[tuple[str, int]] = field(default_factory=list)  # (module, line)
    aliases: list[tuple[str, ast.expr]] = field(default_factory=list)  # name = <expr>
    flows: list[tuple[tuple, ast.AST]] = field(default_factory=list)  # carrier flows
    evidence: list[tuple[int, str]] = field(default_factory=list)  # (line, what)
    deferred: list[tuple] = field(default_factory=list)  # evidence that needs the notebook


@dataclass
class Unit:
    cell: int
    facts: Facts


@dataclass
class Scope:
    kind: str  # "function" | "lambda" | "comprehension" | "class"
    locals: set[str]
    globals: set[str]
    nonlocals: set[str]
    params: set[str]
    self_name: str | None = None


#: Nodes with a scope of their own: what they bind is not a name of the enclosing scope.
SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _param_names(args: ast.arguments) -> list[str]:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return names


def outer_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a scope-making node that run in the enclosing scope."""
    if isinstance(node, _FUNCTIONS):
        a = node.args
        parts = [*node.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d)]
        parts += [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.annotation]
        parts += [x.annotation for x in (a.vararg, a.kwarg) if x is not None and x.annotation]
        return parts + ([node.returns] if node.returns else [])
    if isinstance(node, ast.Lambda):
        return [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    if isinstance(node, _COMPREHENSIONS):
        return [node.generators[0].iter]
    return []


def inner_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a scope-making node that run in its own scope."""
    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
        return list(node.body)
    if isinstance(node, ast.Lambda):
        return [node.body]
    if isinstance(node, ast.DictComp):
        elts = [node.key, node.value]
    else:
        elts = [node.elt]
    parts = []
    for i, gen in enumerate(node.generators):
        parts += [gen.target, *gen.ifs] + ([gen.iter] if i else [])
    return parts + elts


def scope_of(node: ast.AST, kind: str) -> Scope:
    """The names ``node``'s own scope binds, from one walk that stops at nested scopes (but
    sees the walrus targets of nested comprehensions, which bind here)."""
    params = set(_param_names(node.args)) if isinstance(node, (*_FUNCTIONS, ast.Lambda)) else set()
    local, glob, nonlocal_ = set(params), set(), set()
    stack = list(inner_parts(node))
    in_comprehension = isinstance(node, _COMPREHENSIONS)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            local.add(n.id)
        elif isinstance(n, ast.NamedExpr) and not in_comprehension:
            if isinstance(n.target, ast.Name):
                local.add(n.target.id)
        elif isinstance(n, ast.Global):
            glob.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonlocal_.update(n.names)
        elif isinstance(n, ast.alias):
            if n.name != "*":
                local.add(n.asname or n.name.split(".")[0])
        elif isinstance(n, ast.ExceptHandler) and n.name:
            local.add(n.name)
        elif isinstance(n, ast.MatchAs | ast.MatchStar) and n.name:
            local.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            local.add(n.rest)
        if isinstance(n, SCOPES):
            if isinstance(n, (*_FUNCTIONS, ast.ClassDef)):
                local.add(n.name)
            stack.extend(outer_parts(n))
            if isinstance(n, _COMPREHENSIONS) and not in_comprehension:
                # Walrus targets inside a comprehension bind in the enclosing function.
                stack.extend(
                    w for w in _walk_no_scopes(inner_parts(n)) if isinstance(w, ast.NamedExpr)
                )
            continue
        stack.extend(ast.iter_child_nodes(n))
    if in_comprehension:
        local = {n.id for g in node.generators for n in ast.walk(g.target) if _is_store(n)}
    local -= glob | nonlocal_
    return Scope(kind, local, glob, nonlocal_, params)


def _walk_no_scopes(nodes):
    stack = list(nodes)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, _COMPREHENSIONS):
            stack.extend(inner_parts(n) + outer_parts(n))
        elif not isinstance(n, SCOPES):
            stack.extend(ast.iter_child_nodes(n))


def _is_store(n) -> bool:
    return isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)


def dotted(node: ast.AST) -> str:
    """``torch.nn.functional.conv2d`` for an attribute chain; ``….conv2d`` when it starts at a
    computed object.  Iterative (chains can be long) and short."""
    parts = []
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            parts.append("[…]")
            node = node.value
        else:
            parts.append("()")
            node = node.func
        if len(parts) > 12:
            break
    head = node.id if isinstance(node, ast.Name) else "…"
    text = head
    for part in reversed(parts):
        text += part if part in ("[…]", "()") else "." + part
    return text if len(text) <= QUOTED_CHARS else "…" + text[-QUOTED_CHARS:]


def chain_root(node: ast.AST) -> tuple[ast.AST, tuple[str, ...], bool]:
    """The root of an attribute/subscript chain, the attribute names on the way, and whether a
    subscript or call is among them."""
    path, mixed = [], False
    while isinstance(node, ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Attribute):
            path.append(node.attr)
        else:
            mixed = True
        node = node.value
    return node, tuple(reversed(path)), mixed


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
DUNDER = re.compile(r"__\w+__")
DUNDER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_])(__[A-Za-z0-9]\w*__)(?![A-Za-z0-9_])")


def folded(node: ast.AST, depth: int = 0) -> str | None:
    """The value of a string built from constants (``"conv" + "2d"``, f-strings of constants)."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = folded(node.left, depth + 1), folded(node.right, depth + 1)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                part = part.value
            value = folded(part, depth + 1)
            if value is None:
                return None
            out.append(value)
        return "".join(out)
    return None
