"""One walk of one unit of a submitted cell, for the grader's static scan (scan.py).

A *unit* is a module-level statement (a def or class with everything inside it, an assignment,
an import, ...) or the header of a compound statement.  Walking it once, with Python's scoping
rules (function, lambda, class and comprehension scopes; ``global``/``nonlocal``), yields its
:class:`Facts`: the references a rule may name (attributes by name, imports, strings), the
module-level names it reads, binds and writes into, the assignments that may carry a module
(for monkeypatching), and -- for an untrusted cell -- tampering evidence, some of it to be
judged once the whole notebook is known.  Cells are parsed as IPython runs them (its input
transformer, top-level ``await``); the code of ``%time``/``%timeit`` is walked in place.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from convcourse.instructor import scan_policy as policy

__all__ = [
    "MAX_DEPTH",
    "Facts",
    "Recv",
    "Ref",
    "TooDeep",
    "Unit",
    "Walker",
    "chain_root",
    "dotted",
    "looks_plain",
    "parse",
    "parse_cell",
    "transformed",
    "units_of",
]

MAX_DEPTH = 120  # AST levels a walk follows: real code reaches 20
_MAX_MAGIC_NESTING = 4
_TEXT = 60  # characters of code quoted in a finding

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


def _outer_parts(node: ast.AST) -> list[ast.AST]:
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


def _inner_parts(node: ast.AST) -> list[ast.AST]:
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


def _scope_of(node: ast.AST, kind: str) -> Scope:
    """The names ``node``'s own scope binds, from one walk that stops at nested scopes (but
    sees the walrus targets of nested comprehensions, which bind here)."""
    params = set(_param_names(node.args)) if isinstance(node, (*_FUNCTIONS, ast.Lambda)) else set()
    local, glob, nonlocal_ = set(params), set(), set()
    stack = list(_inner_parts(node))
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
            stack.extend(_outer_parts(n))
            if isinstance(n, _COMPREHENSIONS) and not in_comprehension:
                # Walrus targets inside a comprehension bind in the enclosing function.
                stack.extend(
                    w for w in _walk_no_scopes(_inner_parts(n)) if isinstance(w, ast.NamedExpr)
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
            stack.extend(_inner_parts(n) + _outer_parts(n))
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
    return text if len(text) <= _TEXT else "…" + text[-_TEXT:]


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


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_DUNDER = re.compile(r"__\w+__")
_DUNDER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_])(__[A-Za-z0-9]\w*__)(?![A-Za-z0-9_])")


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


class Walker:
    """One walk of one unit: references for the rules, module-level bindings, and (for an
    untrusted cell) tampering evidence.  The walk recurses along the AST and gives up with
    :class:`TooDeep` past ``MAX_DEPTH`` levels, far below Python's own recursion limit."""

    def __init__(self, facts: Facts, trusted: bool, magic_depth: int = 0):
        self.f = facts
        self.trusted = trusted
        self.stack: list[Scope] = []
        self.base = False  # inside a class's bases
        self.magic_depth = magic_depth
        self.line_offset = 0
        self.function_name = ""  # the function a ``return`` belongs to
        self.depth = 0  # how deep the walk is: past MAX_DEPTH the code is not analysed

    def inner(self, magic: bool = False) -> Walker:
        """A walker for code found inside this unit (a magic's, an annotation's), in the same
        scope and at the same depth."""
        walker = Walker(self.f, self.trusted, self.magic_depth + magic)
        walker.stack, walker.function_name = self.stack, self.function_name
        walker.depth, walker.line_offset = self.depth, self.line_offset
        return walker

    # -- helpers --------------------------------------------------------------------------

    def line(self, node) -> int:
        return getattr(node, "lineno", 1) + self.line_offset

    def evidence(self, node, what: str) -> None:
        if not self.trusted:
            self.f.evidence.append((self.line(node), what))

    def defer(self, kind: str, node, *data) -> None:
        if not self.trusted:
            self.f.deferred.append((kind, self.line(node), *data))

    def resolve(self, name: str) -> tuple[str, Scope | None]:
        """("local", scope) or ("free", None) for a name read in the current scope."""
        last = len(self.stack) - 1
        for i in range(last, -1, -1):
            scope = self.stack[i]
            if scope.kind == "class" and i != last:
                continue  # methods do not see their class's namespace
            if name in scope.globals:
                return "free", None
            if name in scope.nonlocals:
                continue
            if name in scope.locals:
                return "local", scope
        return "free", None

    def recv(self, node: ast.AST) -> Recv:
        root, path, _ = chain_root(node)
        if isinstance(root, ast.Name):
            where, scope = self.resolve(root.id)
            if where == "free":
                return Recv(root.id, "free", path)
            if scope is not None and scope.self_name == root.id:
                return Recv(root.id, "self", path)
            if scope is not None and root.id in scope.params:
                return Recv(root.id, "param", path)
            return Recv(root.id, "local", path)
        return Recv(None, "computed", path)

    def at_module(self) -> bool:
        return not self.stack

    def bind_module(self, name: str, node) -> None:
        self.f.binds.add(name)
        if name.startswith("check_") or name == "student_seed":
            self.evidence(node, f"redefines the grading function {name}")

    # -- dispatch -------------------------------------------------------------------------

    _handlers: dict[type, object] = {}  # node type -> its v_ method (or None), shared

    def visit(self, node) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooDeep
        kind = type(node)
        try:
            method = self._handlers[kind]
        except KeyError:
            method = self._handlers[kind] = getattr(Walker, "v_" + kind.__name__, None)
        if method is not None:
            method(self, node)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit(child)
        self.depth -= 1

    def children(self, node) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def visit_all(self, nodes) -> None:
        for node in nodes:
            self.visit(node)

    # -- scopes ---------------------------------------------------------------------------

    def enter(self, node, kind: str) -> None:
        previous = self.function_name
        if kind == "function":
            self.function_name = node.name
        elif kind == "lambda":
            self.function_name = "<lambda>"
        scope = _scope_of(node, kind)
        if kind == "function" and self.stack and self.stack[-1].kind == "class":
            static = any(
                isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
            )
            positional = [*node.args.posonlyargs, *node.args.args]
            if positional and not static:
                scope.self_name = positional[0].arg
        self.stack.append(scope)
        if kind == "function":
            for name in scope.globals:
                # ``global x`` then ``x = ...`` in a function binds the module-level x.
                self.f.binds.add(name)
        self.visit_all(_inner_parts(node))
        self.stack.pop()
        self.function_name = previous

    def decorated(self, node) -> None:
        """``@register`` calls register with the function: like ``register(f)``."""
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Name) and self.resolve(decorator.id)[0] == "free":
                self.f.calls.add(decorator.id)

    def v_FunctionDef(self, node) -> None:
        self.function_evidence(node)
        self.decorated(node)
        self.visit_all(_outer_parts(node))
        self.string_annotations(node)
        self.name_binding(node.name, node)
        self.enter(node, "function")

    v_AsyncFunctionDef = v_FunctionDef

    def v_Lambda(self, node) -> None:
        self.visit_all(_outer_parts(node))
        self.enter(node, "lambda")

    def v_ClassDef(self, node) -> None:
        self.class_evidence(node)
        self.decorated(node)
        self.visit_all(node.decorator_list)
        self.base = True
        self.visit_all([*node.bases, *(k.value for k in node.keywords)])
        self.base = False
        for base in node.bases:
            if isinstance(base, ast.Name) and self.resolve(base.id)[0] == "free":
                # What the name stands for decides (class M(d2l.Module) under another name).
                recv = Recv(base.id, "free")
                self.f.refs.append(Ref(self.line(base), "base", base.id, base.id, recv, True))
        self.name_binding(node.name, node)
        self.enter(node, "class")

    def comprehension(self, node) -> None:
        self.visit(node.generators[0].iter)
        for gen in node.generators:
            self.flow(gen.target, gen.iter)
        self.enter(node, "comprehension")

    v_ListComp = v_SetComp = v_GeneratorExp = v_DictComp = comprehension

    def name_binding(self, name: str, node) -> None:
        if self.at_module():
            self.bind_module(name, node)
        elif name in self.stack[-1].globals:
            self.bind_module(name, node)

    # -- names ----------------------------------------------------------------------------

    def v_Name(self, node) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            where, _ = self.resolve(name)
            if where == "free":
                self.f.free.add(name)
                self.free_name_evidence(node, name)
        else:
            module_level = self.at_module() or (self.stack and name in self.stack[-1].globals)
            if module_level and isinstance(node.ctx, ast.Store):
                self.bind_module(name, node)
            if _DUNDER.fullmatch(name) and name not in policy.DUNDER_NAMES_OK:
                if not (self.stack and self.stack[-1].kind == "class"):
                    self.evidence(node, policy.dunder_problem(name, "assigns"))
                elif name not in policy.DUNDER_DEFINE_OK:
                    self.evidence(node, policy.dunder_problem(name, "defines"))

    def free_name_evidence(self, node, name: str) -> None:
        if name in policy.ALWAYS_BUILTINS:
            self.evidence(node, policy.ALWAYS_BUILTINS[name])
        elif name in policy.UNLESS_BOUND_BUILTINS or policy.HISTORY_NAME.fullmatch(name):
            what = policy.UNLESS_BOUND_BUILTINS.get(name, f"reads IPython's history ({name})")
            self.defer("builtin", node, name, what)
        elif name in policy.ATTRIBUTE_BUILTINS:
            # Called directly, v_Call judged it; here it is passed around as a value.
            self.evidence(node, f"passes {name} around as a value")
        elif _DUNDER.fullmatch(name) and name not in policy.DUNDER_NAMES_OK:
            self.evidence(node, policy.dunder_problem(name, "reads"))

    def v_NamedExpr(self, node) -> None:
        self.visit(node.value)
        target = node.target.id
        # The target binds in the nearest scope that is not a comprehension.
        scopes = [s for s in self.stack if s.kind != "comprehension"]
        if not scopes or target in scopes[-1].globals:
            self.bind_module(target, node)
        self.f.flows.append(((("name", target),), node.value))

    # -- attributes -----------------------------------------------------------------------

    def v_Attribute(self, node) -> None:
        attr = node.attr
        recv = self.recv(node.value)
        self.f.refs.append(Ref(self.line(node), "attr", attr, dotted(node), recv, self.base))
        if not isinstance(node.ctx, ast.Load):
            self.store(node, node.value, attr, delete=isinstance(node.ctx, ast.Del))
        self.attribute_evidence(node, attr, recv)
        self.visit(node.value)

    def attribute_evidence(self, node, attr: str, recv: Recv) -> None:
        text = dotted(node)
        if attr.startswith("_"):
            if _DUNDER.fullmatch(attr):
                if attr not in policy.DUNDER_READ_OK:
                    self.evidence(node, policy.dunder_problem(attr, "uses", text))
            elif not (recv.kind == "self" and not recv.path):
                self.evidence(node, f"uses the private attribute {text}")
        if any(word in attr for word in policy.TRANSFORMER_WORDS):
            self.evidence(node, "installs an IPython input transformer")
        if recv.kind == "self":
            return
        if attr in policy.ATTRIBUTE_WHY:
            self.evidence(node, f"uses {text} ({policy.ATTRIBUTE_WHY[attr]})")
        elif attr in policy.MODULE_ATTRIBUTES:
            self.evidence(node, f"reaches the {attr} module through another module ({text})")
        elif attr.startswith(policy.GLOBAL_HOOK_PREFIX):
            self.evidence(node, f"installs a hook on every torch module ({text})")
        if recv.kind == "free":
            self.defer("course_attr", node, node.value, attr, text)

    # -- stores ---------------------------------------------------------------------------

    def store(self, target, receiver, attr: str | None, delete: bool = False) -> None:
        """An attribute (``attr``) or item (None) of ``receiver`` is written or deleted."""
        root, _, _ = chain_root(receiver)
        if isinstance(root, ast.Name):
            where, _ = self.resolve(root.id)
            if where == "free":
                self.f.mutated.add(root.id)
        recv = self.recv(receiver)
        text = dotted(target) if attr is not None else dotted(receiver)
        self.defer("store", target, receiver, attr, recv, text, delete)

    def v_Subscript(self, node) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.store(node, node.value, None, delete=isinstance(node.ctx, ast.Del))
        self.children(node)

    def targets_of(self, target) -> tuple:
        """Carrier keys a value assigned to ``target`` flows into."""
        if isinstance(target, ast.Name):
            return (("name", target.id),)
        if isinstance(target, ast.Starred):
            return self.targets_of(target.value)
        if isinstance(target, ast.Tuple | ast.List):
            return tuple(k for elt in target.elts for k in self.targets_of(elt))
        if isinstance(target, ast.Attribute):
            return (("attr", target.attr),)
        if isinstance(target, ast.Subscript):
            root, _, _ = chain_root(target)
            return (("name", root.id),) if isinstance(root, ast.Name) else ()
        return ()

    def flow(self, target, value) -> None:
        keys = self.targets_of(target)
        if keys and value is not None:
            self.f.flows.append((keys, value))

    def v_Assign(self, node) -> None:
        for target in node.targets:
            self.flow(target, node.value)
            if self.at_module() and isinstance(target, ast.Name):
                self.f.aliases.append((target.id, node.value))
                if isinstance(node.value, ast.Lambda):
                    self.f.flows.append(((("ret", target.id),), node.value.body))
        self.children(node)

    def v_AugAssign(self, node) -> None:
        self.flow(node.target, node.value)
        self.children(node)

    def v_AnnAssign(self, node) -> None:
        if node.value is not None:
            self.flow(node.target, node.value)
            if self.at_module() and isinstance(node.target, ast.Name):
                self.f.aliases.append((node.target.id, node.value))
        elif isinstance(node.target, ast.Name):
            # ``x: int`` binds nothing; do not count it as a store of x.
            self.string_annotation(node.annotation)
            self.visit(node.annotation)
            return
        self.string_annotation(node.annotation)
        self.children(node)

    def v_For(self, node) -> None:
        self.flow(node.target, node.iter)
        self.children(node)

    def v_With(self, node) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self.flow(item.optional_vars, item.context_expr)
        self.children(node)

    def v_Return(self, node) -> None:
        functions = [s for s in self.stack if s.kind in ("function", "lambda")]
        if node.value is not None and functions:
            self.f.flows.append(((("ret", self.function_name),), node.value))
        self.children(node)

    v_Yield = v_YieldFrom = v_Return

    def v_ExceptHandler(self, node) -> None:
        if node.name and self.at_module():
            self.bind_module(node.name, node)
        self.children(node)

    def v_MatchAs(self, node) -> None:
        if node.name and self.at_module():
            self.bind_module(node.name, node)
        self.children(node)

    v_MatchStar = v_MatchAs

    def v_MatchMapping(self, node) -> None:
        if node.rest and self.at_module():
            self.bind_module(node.rest, node)
        self.children(node)

    def v_Delete(self, node) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name) and (
                target.id.startswith("check_") or target.id == "student_seed"
            ):
                self.evidence(target, f"deletes the grading function {target.id}")
        self.children(node)

    # -- imports --------------------------------------------------------------------------

    def v_Import(self, node) -> None:
        for alias in node.names:
            problem = policy.import_problem(alias.name)
            if problem:
                self.evidence(node, problem)
            bound = alias.asname or alias.name.split(".")[0]
            entity = alias.name if alias.asname else alias.name.split(".")[0]
            self.import_binding(node, bound, entity, alias.name, same_check=False)

    def v_ImportFrom(self, node) -> None:
        module = node.module or ""
        if node.level:
            self.evidence(node, f"imports relative to a package ({'.' * node.level}{module})")
            module = "." * node.level + module
        for alias in node.names:
            if alias.name == "*":
                if not node.level:
                    problem = policy.import_problem(module)
                    if problem:
                        self.evidence(node, problem)
                    elif module.split(".")[0] == "convcourse":
                        self.evidence(node, f"imports every name of {module} (*)")
                if self.at_module():
                    self.f.stars.append((module, self.line(node)))
                else:
                    self.f.refs.append(Ref(self.line(node), "import", module + ".*", module))
                continue
            if not node.level:
                problem = policy.import_problem(module, alias.name)
                if problem:
                    self.evidence(node, problem)
                if module == "__future__":
                    continue
            bound = alias.asname or alias.name
            same = module == "convcourse.checks" and bound == alias.name
            full = f"{module}.{alias.name}"
            self.import_binding(node, bound, full, full, same_check=same)

    def import_binding(self, node, bound: str, entity: str, full: str, same_check: bool) -> None:
        self.f.flows.append(((("name", bound),), None))  # a module or an object of one
        if self.at_module() or (self.stack and bound in self.stack[-1].globals):
            self.f.imports.append((bound, entity, self.line(node)))
            if (bound.startswith("check_") or bound == "student_seed") and not same_check:
                self.evidence(node, f"redefines the grading function {bound}")
        # Inside a body (and for the dotted module of ``import a.b``): a reference to it.
        self.f.refs.append(Ref(self.line(node), "import", full, full))

    # -- calls ----------------------------------------------------------------------------

    def v_Call(self, node) -> None:
        magic = magic_call(node)
        if magic is not None:
            self.magic(node, *magic)
            return
        func = node.func
        if isinstance(func, ast.Name) and self.resolve(func.id)[0] == "free":
            name = func.id
            self.f.calls.add(name)
            if name in policy.ATTRIBUTE_BUILTINS:
                self.attribute_builtin(node, name)
                self.f.free.add(name)
                self.visit_all([*node.args, *node.keywords])
                return
            if name == "type" and len(node.args) + len(node.keywords) >= 2:
                self.evidence(node, "builds a class with type(name, bases, namespace)")
            if name in ("print", "display"):
                self.fake_result(node)
        if isinstance(func, ast.Attribute):
            root, _, _ = chain_root(func.value)
            changes = func.attr in policy.MUTATING_METHODS or (
                func.attr.endswith("_") and not func.attr.startswith("_")
            )
            if changes and isinstance(root, ast.Name) and self.resolve(root.id)[0] == "free":
                self.f.mutated.add(root.id)  # lst.append(f), K.copy_(V): writes into the object
            if func.attr in policy.MUTATING_METHODS:
                keys = self.targets_of(func.value) if isinstance(func.value, ast.Name) else ()
                for arg in node.args:
                    if keys:
                        self.f.flows.append((keys, arg))
                if self.recv(func.value).kind == "free":
                    self.defer("mutate", node, func.value, func.attr, dotted(func))
            if func.attr == "write":
                self.fake_result(node)
        for keyword in node.keywords:
            if keyword.arg in policy.PICKLE_KEYWORDS:
                value = keyword.value
                if not (
                    isinstance(value, ast.Constant)
                    and value.value != policy.PICKLE_KEYWORDS[keyword.arg]
                ):
                    self.evidence(node, f"loads pickled objects ({keyword.arg}=...)")
        self.children(node)

    def attribute_builtin(self, node, name: str) -> None:
        """getattr/hasattr/setattr/delattr: fine with a constant public name."""
        args = node.args
        if len(args) < 2:
            self.evidence(node, f"calls {name} without an attribute name")
            return
        attr = folded(args[1])
        if attr is None or not isinstance(args[1], ast.Constant):
            self.evidence(node, f"{name} with an attribute name computed at run time")
            if attr is None:
                return
        if attr.startswith("_") and not (
            _DUNDER.fullmatch(attr) and attr in policy.DUNDER_READ_OK and name != "setattr"
        ):
            self.evidence(node, f"{name} of the private or special attribute {attr!r}")
        recv = self.recv(args[0])
        text = f"{dotted(args[0])}.{attr}"
        # getattr(F, "conv2d") reads F.conv2d: the same reference as the attribute itself.
        self.f.refs.append(Ref(self.line(node), "attr", attr, text, recv, self.base))
        if recv.kind != "self":
            if attr in policy.ATTRIBUTE_WHY:
                self.evidence(node, f"uses {text} ({policy.ATTRIBUTE_WHY[attr]})")
            elif attr in policy.MODULE_ATTRIBUTES:
                self.evidence(node, f"reaches the {attr} module through another module ({text})")
        if name in ("setattr", "delattr"):
            fake = ast.Attribute(value=args[0], attr=attr, ctx=ast.Store())
            ast.copy_location(fake, node)
            self.store(fake, args[0], attr, delete=name == "delattr")
            if name == "setattr" and len(args) > 2:
                self.f.flows.append(((("attr", attr),), args[2]))

    def fake_result(self, node) -> None:
        for arg in node.args:
            text = folded(arg)
            if text and any(w in text.lower() for w in policy.FAKE_RESULT_WORDS):
                self.evidence(node, "prints text that imitates a test result")

    def magic(self, node, method: str, args: list[ast.expr]) -> None:
        """``get_ipython().<method>(...)``: the harmless magics, with their code analysed."""
        values = [const_str(a) for a in args]
        name = values[0] if values else None
        if method == "system" or method == "getoutput":
            command = (values[0] or "") if values else ""
            self.evidence(node, f"runs a shell command (!{command[:_TEXT]})")
            return
        if method not in ("run_line_magic", "run_cell_magic") or name is None or None in values:
            self.evidence(node, f"uses the IPython shell (get_ipython().{method})")
            self.visit_all(args)
            return
        if method == "run_line_magic" and len(values) == 2:
            line = values[1]
            if name in policy.HARMLESS_LINE_MAGICS:
                return
            if name in policy.HELP_MAGICS and _IDENTIFIER.fullmatch(line.strip()):
                return
            if name == "config" and line.strip().startswith(policy.CONFIG_PREFIX):
                return
            if name in policy.CODE_MAGICS:
                self.embedded(node, magic_statements(name, line, None))
                return
        elif method == "run_cell_magic" and len(values) == 3 and name in policy.CODE_MAGICS:
            self.embedded(node, magic_statements(name, values[1], values[2]))
            return
        self.evidence(node, f"uses the IPython magic %{name}")

    def embedded(self, node, statements: list[tuple[str, int]]) -> None:
        """The code of a %time/%timeit magic: parsed and walked as part of this unit, in the
        scope the magic runs in."""
        if self.magic_depth >= _MAX_MAGIC_NESTING:
            self.evidence(node, "nests magics too deeply to analyse")
            return
        for code, offset in statements:
            tree, problem, dropped = parse_cell(code)
            if problem:
                self.evidence(node, f"a %time/%timeit line that cannot be analysed: {problem}")
            if tree is None:
                continue
            inner = self.inner(magic=True)
            inner.line_offset = self.line(node) - 1 + offset + dropped
            inner.visit_all(tree.body)

    # -- definitions ----------------------------------------------------------------------

    def function_evidence(self, node) -> None:
        name = node.name
        if _DUNDER.fullmatch(name) and name not in policy.DUNDER_DEFINE_OK:
            if name == "__eq__" and always_true(node):
                self.evidence(node, "defines an __eq__ that is always true")
            else:
                self.evidence(node, policy.dunder_problem(name, "defines"))
        if isinstance(node, ast.AsyncFunctionDef):
            self.evidence(node, f"defines an asynchronous function ({name})")

    def class_evidence(self, node) -> None:
        for keyword in node.keywords:
            if keyword.arg == "metaclass":
                self.evidence(node, f"gives the class {node.name} a metaclass")
        for base in node.bases:
            root, path, mixed = chain_root(base)
            last = path[-1] if path else (root.id if isinstance(root, ast.Name) else None)
            if mixed or not isinstance(root, ast.Name):
                self.evidence(node, f"derives {node.name} from a computed base ({dotted(base)})")
            elif last in policy.TENSOR_BASES:
                self.evidence(node, f"subclasses a tensor type ({dotted(base)})")
            elif last in policy.META_BASES:
                self.evidence(node, f"defines a metaclass ({node.name})")
            else:
                self.defer("base", base, base, node.name)

    def string_annotations(self, node) -> None:
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is not None and arg.annotation is not None:
                self.string_annotation(arg.annotation)
        if node.returns is not None:
            self.string_annotation(node.returns)

    def string_annotation(self, node) -> None:
        """A string annotation is code to typing.get_type_hints & co.: analyse it as code."""
        text = const_str(node)
        if text is None:
            return
        try:
            tree = compile(text, "<annotation>", "eval", ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        for n in ast.walk(tree.body):
            ast.copy_location(n, node)
        self.inner().visit(tree.body)

    # -- constants and the rest -----------------------------------------------------------

    def v_Constant(self, node) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return
        self.string_evidence(node, value)
        if _IDENTIFIER.fullmatch(value):
            self.f.refs.append(Ref(self.line(node), "string", value, repr(value)))

    def string_evidence(self, node, value: str) -> None:
        for word in policy.PATH_WORDS:
            if word in value:
                shown = value if len(value) <= _TEXT else value[:_TEXT] + "…"
                self.evidence(node, f"refers to {shown!r} (a path no lesson needs)")
                break
        for dunder in _DUNDER_IN_TEXT.findall(value):
            # "__globals__" for getattr, "{0.__globals__}" for string.Formatter().get_field
            if dunder not in ("__main__", *policy.DUNDER_READ_OK):
                self.evidence(node, f"names {dunder} in a string")
                break
        if any(word in value.lower() for word in policy.SCRIPT_WORDS):
            self.evidence(node, "puts a script in the notebook's output (<script>)")

    def v_BinOp(self, node) -> None:
        text = folded(node) if isinstance(node.op, ast.Add) else None
        if text is not None:
            self.string_evidence(node, text)
            if _IDENTIFIER.fullmatch(text):
                self.f.refs.append(Ref(self.line(node), "string", text, repr(text)))
        self.children(node)

    def v_JoinedStr(self, node) -> None:
        text = folded(node)
        if text is not None:
            self.string_evidence(node, text)
            if _IDENTIFIER.fullmatch(text):
                self.f.refs.append(Ref(self.line(node), "string", text, repr(text)))
        self.children(node)

    def v_Await(self, node) -> None:
        self.evidence(node, "uses asynchronous code (await)")
        self.children(node)

    def v_AsyncFor(self, node) -> None:
        self.evidence(node, "uses asynchronous code (async for)")
        self.v_For(node)

    def v_AsyncWith(self, node) -> None:
        self.evidence(node, "uses asynchronous code (async with)")
        self.v_With(node)


def always_true(fn) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        isinstance(r.value, ast.Constant) and r.value.value is True for r in returns
    )


# --------------------------------------------------------------------------------- units


def units_of(tree: ast.Module) -> list[list[ast.AST]]:
    """The module-level units of a cell: each simple statement, each def/class, and the header
    of each compound statement (a copy without its body: the body's statements are units of
    their own, so a loop variable is not bound to everything the loop does)."""
    out: list[list[ast.AST]] = []
    stack = list(reversed(tree.body))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.For | ast.AsyncFor):
            header = [type(stmt)(target=stmt.target, iter=stmt.iter, body=[], orelse=[])]
            body = [*stmt.body, *stmt.orelse]
        elif isinstance(stmt, ast.While | ast.If):
            header = [stmt.test]
            body = [*stmt.body, *stmt.orelse]
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            header = [type(stmt)(items=stmt.items, body=[])]
            body = list(stmt.body)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            header = [ast.ExceptHandler(type=h.type, name=h.name, body=[]) for h in stmt.handlers]
            for copy, handler in zip(header, stmt.handlers, strict=True):
                ast.copy_location(copy, handler)
            body = [*stmt.body, *(s for h in stmt.handlers for s in h.body)]
            body += [*stmt.orelse, *stmt.finalbody]
        elif isinstance(stmt, ast.Match):
            header = [stmt.subject, *(c.pattern for c in stmt.cases)]
            header += [c.guard for c in stmt.cases if c.guard is not None]
            body = [s for c in stmt.cases for s in c.body]
        else:
            out.append([stmt])
            continue
        if isinstance(stmt, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
            ast.copy_location(header[0], stmt)
        if header:
            out.append(header)
        stack.extend(reversed(body))
    return out
