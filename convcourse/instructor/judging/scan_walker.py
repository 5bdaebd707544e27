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

from convcourse.instructor.judging import scan_policy as policy
from convcourse.instructor.judging.scan_evidence import EvidenceRules
from convcourse.instructor.judging.scan_parse import (
    TooDeep,
    magic_call,
)
from convcourse.instructor.judging.scan_scopes import (
    DUNDER,
    MAX_DEPTH,
    Facts,
    Recv,
    Ref,
    Scope,
    chain_root,
    dotted,
    inner_parts,
    outer_parts,
    scope_of,
)

__all__ = ["MAX_DEPTH", "Walker", "units_of"]


class Walker(EvidenceRules):
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
        scope = scope_of(node, kind)
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
        self.visit_all(inner_parts(node))
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
        self.visit_all(outer_parts(node))
        self.string_annotations(node)
        self.name_binding(node.name, node)
        self.enter(node, "function")

    v_AsyncFunctionDef = v_FunctionDef

    def v_Lambda(self, node) -> None:
        self.visit_all(outer_parts(node))
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
            if DUNDER.fullmatch(name) and name not in policy.DUNDER_NAMES_OK:
                if not (self.stack and self.stack[-1].kind == "class"):
                    self.evidence(node, policy.dunder_problem(name, "assigns"))
                elif name not in policy.DUNDER_DEFINE_OK:
                    self.evidence(node, policy.dunder_problem(name, "defines"))

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

    def v_Await(self, node) -> None:
        self.evidence(node, "uses asynchronous code (await)")
        self.children(node)

    def v_AsyncFor(self, node) -> None:
        self.evidence(node, "uses asynchronous code (async for)")
        self.v_For(node)

    def v_AsyncWith(self, node) -> None:
        self.evidence(node, "uses asynchronous code (async with)")
        self.v_With(node)


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
