"""The grader's static analysis of a submission: from the submitted source alone, outside the
sandbox, it answers two questions.

(a) **Which exercises' answers use forbidden code?**  For each graded symbol (``corr2d``) at its
    test cell's position, everything the symbol can reach: its bindings in earlier cells (def,
    class, assignment, import, for/with targets, walrus, ``global`` in a function), the writes
    into an object it names (``TABLE["f"] = ...``, ``TABLE.append(...)``, ``setattr``, also
    through the functions a cell calls or decorates with), then every module-level name that
    code reads, to a fixed point.  Every reference in it that a rule of the exercise names is
    a finding (scan_policy.py: ``F.conv2d`` by attribute name on any receiver, ``from
    convcourse ... import``, ``getattr(F, "conv2d")``, ``class Conv2D(nn.Conv2d)``), whether
    the student or a trusted (released) cell wrote it.  Values passed to a function as
    arguments are data, not code the answer runs, and are not followed.
(b) **Does the notebook hold tampering evidence?**  Anywhere in the untrusted cells: imports
    outside the allow-list, dynamic code and introspection, private and dunder attributes,
    defining hooks (``__del__``, ``__torch_function__``), monkeypatching modules (through
    aliases, containers, functions and ``setattr``), the IPython shell beyond harmless
    magics, paths the lessons never need, and code too large or too deep to analyse.

Cells are read as IPython runs them (scan_walker.py: its input transformer, top-level
``await``, the code inside ``%time``/``%timeit``).  A cell that does not parse never runs, so it
binds nothing and is no evidence.  The work is bounded: at most ``MAX_CELLS`` code cells,
``MAX_CELL_CHARS`` per cell, ``MAX_TOTAL_CHARS`` in all and ``MAX_DEPTH`` levels of nesting are
analysed, and what lies beyond is itself evidence; each unit of code is walked once, and each
target's reachability visits each binding once.
"""

from __future__ import annotations

import ast
import threading
from collections import deque
from dataclasses import dataclass

from convcourse.instructor.judging import scan_policy as policy
from convcourse.instructor.judging.scan_parse import (
    TooDeep,
    looks_plain,
    parse,
    parse_cell,
    transformed,
)
from convcourse.instructor.judging.scan_reach import Finding, Reachability, Target
from convcourse.instructor.judging.scan_scopes import Facts, Recv, Unit, chain_root, dotted
from convcourse.instructor.judging.scan_walker import MAX_DEPTH, Walker, units_of

__all__ = [
    "ScanCell",
    "Target",
    "Finding",
    "ScanReport",
    "scan_submission",
    "to_python",
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_TOTAL_CHARS",
    "MAX_DEPTH",
]

TAMPERING = "tampering"
# The lessons have at most 21 code cells, 6,612 characters of code, 1,192 in one cell, nested
# at most 20 AST levels (real Python code: 20).  The limits leave a margin of 16x or more.
MAX_CELLS = 1_000
MAX_CELL_CHARS = 20_000
MAX_TOTAL_CHARS = 200_000


@dataclass(frozen=True)
class ScanCell:
    index: int  # the cell's index in the submitted notebook
    source: str  # its text as submitted
    trusted: bool  # byte-identical (trailing spaces aside) to a released code cell


@dataclass
class ScanReport:
    tampering: list[Finding]  # in cell order
    forbidden: dict[str, list[Finding]]  # exercise id -> findings (only exercises with some)

    def first_tampering_cell(self) -> int | None:
        return min((f.cell for f in self.tampering), default=None)


# Two of the grader's worker threads scanning at once failed here, now and then, with a
# SystemError from CPython 3.11's AST code (reports of "AST constructor recursion depth
# mismatch" in threaded programs: python/cpython#106905).  Scans run one at a time.
_AST_LOCK = threading.Lock()


def scan_submission(cells: list[ScanCell], targets: list[Target]) -> ScanReport:
    """The analysis of a submission's code cells (in notebook order) for the given targets."""
    with _AST_LOCK:
        return _scan(cells, targets)


def _scan(cells: list[ScanCell], targets: list[Target]) -> ScanReport:
    notebook = _Notebook(cells)
    forbidden = {}
    for target in targets:
        found = notebook.reach(target)
        if found:
            forbidden.setdefault(target.exercise, []).extend(
                f for f in found if f not in forbidden.get(target.exercise, [])
            )
    return ScanReport(notebook.tampering(), forbidden)


def to_python(source: str, manager=None) -> str:
    """The Python that IPython would run for ``source`` (magics become function calls)."""
    if looks_plain(source) and parse(source)[0] is not None:
        return source
    return transformed(source, manager)[0]


# ------------------------------------------------------------------------------ the notebook


@dataclass
class _Binding:
    cell: int
    unit: Unit | None = None  # the code to scan when reached
    entity: str | None = None  # an import: what it binds
    line: int | None = None
    value: ast.expr | None = None  # a simple ``name = value``: for alias resolution


class _Notebook(Reachability):
    def __init__(self, cells: list[ScanCell]):
        self.units: list[Unit] = []
        self.bindings: dict[str, list[_Binding]] = {}
        self.mutations: dict[str, list[_Binding]] = {}
        self.stars: list[tuple[int, str, int]] = []  # (cell, module, line)
        self.evidence: list[Finding] = []
        self.trusted: dict[int, bool] = {}
        self._entity_memo: dict[tuple, set[str]] = {}
        self._read(cells)
        self._index()
        self._carriers()
        self._judge_deferred()

    # -- reading --------------------------------------------------------------------------

    def _read(self, cells: list[ScanCell]) -> None:
        from IPython.core.inputtransformer2 import TransformerManager

        manager = TransformerManager()
        total = 0
        for analysed, cell in enumerate(cells):
            self.trusted[cell.index] = cell.trusted
            size = len(cell.source)
            if size > MAX_CELL_CHARS:
                self._finding(
                    cell.index,
                    None,
                    f"the cell holds {size:,} characters of code, more than the scan reads "
                    f"({MAX_CELL_CHARS:,})",
                    force=True,
                )
                continue
            if analysed >= MAX_CELLS or total + size > MAX_TOTAL_CHARS:
                self._finding(
                    cell.index,
                    None,
                    f"the notebook holds more code than the scan reads ({len(cells):,} code "
                    f"cells; at most {MAX_CELLS:,} cells and {MAX_TOTAL_CHARS:,} characters "
                    f"are analysed): the {len(cells) - analysed:,} cells from here on were not",
                    force=True,
                )
                return
            total += size
            tree, problem, dropped = parse_cell(cell.source, manager)
            if problem:
                self._finding(cell.index, None, problem, force=True)
            if tree is None:
                continue
            units = []
            try:
                for nodes in units_of(tree):
                    facts = Facts()
                    walker = Walker(facts, cell.trusted)
                    walker.line_offset = dropped
                    walker.visit_all(nodes)
                    units.append(Unit(cell.index, facts))
            except (TooDeep, RecursionError):
                # Nothing of the cell counts (its bindings are unknown): the finding says so.
                why = f"its code is nested more than {MAX_DEPTH} levels deep, too deep to analyse"
                self._finding(cell.index, None, why, force=True)
                continue
            for unit in units:
                self.units.append(unit)
                for line, what in unit.facts.evidence:
                    self._finding(cell.index, line, what)

    def _finding(self, cell: int, line: int | None, what: str, force: bool = False) -> None:
        if force or not self.trusted.get(cell, False):
            self.evidence.append(Finding(cell, line, TAMPERING, what))

    def tampering(self) -> list[Finding]:
        """Every piece of evidence, one per cell and sentence, in cell (then line) order."""
        seen, out = set(), []
        for f in sorted(self.evidence, key=lambda f: (f.cell, f.line or 0)):
            if (f.cell, f.what) not in seen:
                seen.add((f.cell, f.what))
                out.append(f)
        return out

    # -- the binding table ----------------------------------------------------------------

    def _index(self) -> None:
        for unit in self.units:
            f = unit.facts
            values = dict(f.aliases)
            for name in f.binds:
                self.bindings.setdefault(name, []).append(
                    _Binding(unit.cell, unit, value=values.get(name))
                )
            for name, entity, line in f.imports:
                self.bindings.setdefault(name, []).append(
                    _Binding(unit.cell, entity=entity, line=line)
                )
            for name in f.mutated:
                self.mutations.setdefault(name, []).append(_Binding(unit.cell, unit))
            for module, line in f.stars:
                self.stars.append((unit.cell, module, line))
        self.module_bound = set(self.bindings)
        self.alias_users: dict[str, set[str]] = {}  # name -> names bound to it (x = name)
        for name, bindings in self.bindings.items():
            for b in bindings:
                if isinstance(b.value, ast.Name) and b.value.id != name:
                    self.alias_users.setdefault(b.value.id, set()).add(name)
        self._writes_through_calls()

    def _writes_through_calls(self) -> None:
        """A unit that calls a function of the notebook writes into whatever that function
        writes into (``@register`` storing the decorated function in a global table): each
        function's writes, to a fixed point over the call graph, become writes of its callers."""
        writes: dict[str, set[str]] = {}
        callers: dict[str, set[str]] = {}  # function -> functions whose bodies call it
        for name, bindings in self.bindings.items():
            for b in bindings:
                if b.unit is not None:
                    writes.setdefault(name, set()).update(b.unit.facts.mutated)
                    for called in b.unit.facts.calls:
                        callers.setdefault(called, set()).add(name)
        queue = deque(name for name, names in writes.items() if names)
        while queue:
            called = queue.popleft()
            for caller in callers.get(called, ()):
                mine = writes.setdefault(caller, set())
                if not writes[called] <= mine:
                    mine |= writes[called]
                    queue.append(caller)
        for unit in self.units:
            for called in unit.facts.calls:
                for name in writes.get(called, ()):
                    self.mutations.setdefault(name, []).append(_Binding(unit.cell, unit))

    # -- which names may hold a module (for monkeypatching) --------------------------------

    def _carriers(self) -> None:
        """Names, attribute names and functions that may hold (or return) a module or class,
        scope-insensitively: a worklist over the notebook's assignments (linear)."""
        carriers: set[tuple[str, str]] = set()
        flows: list[tuple[tuple, ast.AST]] = []
        for unit in self.units:
            for keys, value in unit.facts.flows:
                if value is None:
                    carriers.update(keys)  # an import
                else:
                    flows.append((keys, value))
        readers: dict[tuple[str, str], list[int]] = {}
        for i, (_, value) in enumerate(flows):
            for key in _reads(value):
                readers.setdefault(key, []).append(i)
        self.carrier_keys = carriers
        queue = deque(range(len(flows)))
        while queue:
            i = queue.popleft()
            keys, value = flows[i]
            if all(k in carriers for k in keys) or not self.carries(value):
                continue
            for key in keys:
                if key not in carriers:
                    carriers.add(key)
                    queue.extend(readers.get(key, ()))

    def carries(self, node: ast.AST, depth: int = 0) -> bool:
        """Whether the value of ``node`` may be a module, a class, or a container of one."""
        keys = self.carrier_keys
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, ast.Name):
            return ("name", node.id) in keys
        if isinstance(node, ast.Attribute):
            return (
                ("attr", node.attr) in keys
                or node.attr in _CLASS_ATTRIBUTES
                or self.carries(node.value, depth + 1)
            )
        if isinstance(node, ast.Subscript | ast.Starred):
            return self.carries(node.value, depth + 1)
        if isinstance(node, ast.NamedExpr):
            return self.carries(node.value, depth + 1)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(self.carries(e, depth + 1) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.carries(v, depth + 1) for v in node.values)
        if isinstance(node, ast.IfExp):
            return self.carries(node.body, depth + 1) or self.carries(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp):
            return any(self.carries(v, depth + 1) for v in node.values)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            return self.carries(node.elt, depth + 1)
        if isinstance(node, ast.DictComp):
            return self.carries(node.value, depth + 1)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id in ("type", "vars", "globals", "locals", "__import__", "super"):
                    return True
                if func.id == "getattr" and node.args:
                    return self.carries(node.args[0], depth + 1)
                return ("ret", func.id) in keys
            if isinstance(func, ast.Attribute):
                if func.attr in _CONTAINER_READS:
                    return self.carries(func.value, depth + 1)
                return func.attr in ("import_module", "__getattribute__")
        return False

    def entities(self, node: ast.AST) -> set[str]:
        """The dotted entities an alias chain may stand for, in any cell (for the evidence that
        depends on what a name is): ``c.EXERCISES`` with ``c = convcourse.checks``."""
        root, path, mixed = chain_root(node)
        if mixed or not isinstance(root, ast.Name):
            return set()
        return {".".join((e, *path)) for e in self._entities_before(root.id, None)}

    def _judge_deferred(self) -> None:
        for unit in self.units:
            for item in unit.facts.deferred:
                what = self._deferred(*item)
                if what:
                    self._finding(unit.cell, item[1], what)

    def _deferred(self, kind: str, line: int, *data) -> str | None:
        if kind == "builtin":
            name, what = data
            return None if name in self.module_bound else what
        if kind == "store":
            return self._store(*data)
        if kind == "mutate":
            receiver, method, text = data
            if self._grading_state(receiver):
                return f"changes the course's or d2l's state ({text}(…))"
            return None
        if kind == "course_attr":
            receiver, attr, text = data
            for entity in self.entities(receiver):
                if entity == "convcourse.checks" and not policy.checks_attribute_ok(attr):
                    return f"reaches the checks' internals ({text})"
                if entity == "convcourse" and not policy.convcourse_attribute_ok(attr):
                    return f"reaches course code that is not for students ({text})"
            return None
        if kind == "base":
            base, cls = data
            for entity in self.entities(base):
                last = entity.rsplit(".", 1)[-1]
                if last in policy.TENSOR_BASES:
                    return f"subclasses a tensor type ({dotted(base)}: {entity})"
                if last in policy.META_BASES:
                    return f"defines a metaclass ({cls})"
            return None
        return None

    def _store(self, receiver, attr, recv: Recv, text: str, delete: bool) -> str | None:
        verb = "deletes" if delete else "monkeypatches"
        if recv.kind == "self" and not recv.path:
            return None  # self.weight = ...: the object's own attributes
        # What a module-level name stands for; a function's own names are its business.
        module_level = recv.kind == "free"
        if attr is None:  # an item: sys.modules[...], EXERCISES[...], plt.rcParams[...]
            if isinstance(receiver, ast.Attribute) and receiver.attr == "rcParams":
                return None
            if (module_level and self._grading_state(receiver)) or (
                isinstance(receiver, ast.Attribute) and self.carries(receiver.value)
            ):
                return f"replaces an entry of {text}"
            return None
        if self.carries(receiver):
            roots = {e.split(".")[0] for e in self.entities(receiver)} if module_level else set()
            if roots & {"builtins"} or (
                isinstance(receiver, ast.Name) and receiver.id == "__builtins__"
            ):
                return f"redefines the builtin {attr}"
            return f"{verb} {text}"
        if attr in policy.HONEST_STORES or recv.kind == "self":
            return None
        if recv.kind == "param":
            return f"{verb} an attribute of an argument ({text}), which could be a module"
        if recv.kind == "computed":
            return f"{verb} an attribute of a computed object ({text})"
        return None

    def _grading_state(self, receiver) -> bool:
        """Whether ``receiver`` may be a module-level object of the course or d2l."""
        for entity in self.entities(receiver):
            if entity.split(".")[0] in policy.GRADING_ROOTS and "rcParams" not in entity:
                return True
        return False


_CLASS_ATTRIBUTES = frozenset({"__class__", "__dict__", "__globals__", "__builtins__", "__self__"})
_CONTAINER_READS = frozenset({"values", "items", "get", "pop", "copy", "setdefault"})


def _reads(value: ast.AST):
    """The carrier keys whose status can change whether ``value`` carries a module."""
    stack = [value]
    count = 0
    while stack and count < 10_000:
        node = stack.pop()
        count += 1
        if isinstance(node, ast.Name):
            yield ("name", node.id)
        elif isinstance(node, ast.Attribute):
            yield ("attr", node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            yield ("ret", node.func.id)
        stack.extend(ast.iter_child_nodes(node))
