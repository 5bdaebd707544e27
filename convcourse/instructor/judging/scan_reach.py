"""Question (a) of the scan (scan.py): which forbidden references an exercise's answer reaches.

From the graded symbols at the test cell's position, a breadth-first walk through the notebook's
bindings before that cell (and the writes into what they name), each name and unit visited
once; every reference a rule of the exercise names (scan_policy.py) is a :class:`Finding`,
with the path from the symbol to it.  :class:`Reachability` is a part of the scanned notebook
(``scan._Notebook``): it reads its ``bindings``, ``mutations``, ``alias_users`` and ``stars``.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass

from convcourse.checks import rules as rules_table
from convcourse.instructor.judging import scan_policy as policy
from convcourse.instructor.judging.scan_scopes import Recv, Ref, chain_root

__all__ = ["Finding", "Reachability", "Target"]


@dataclass(frozen=True)
class Target:
    exercise: str  # exercise id, e.g. "corr2d"
    symbols: tuple[str, ...]  # notebook names the test cell passes, e.g. ("corr2d",)
    position: int  # index of the test cell: only bindings in cells before it count
    forbids: frozenset[str]  # rule names


@dataclass(frozen=True)
class Finding:
    cell: int  # notebook cell index
    line: int | None  # line within the cell (1-based), if known
    rule: str  # "tampering" or one of the rule names
    what: str  # one plain sentence naming the construct


class Reachability:
    """The reachability half of the scanned notebook (see the module's docstring)."""

    def reach(self, target: Target) -> list[Finding]:
        """The forbidden references ``target``'s symbols reach at its position: a breadth-first
        walk from the symbols through the bindings before the test cell, each name and each
        unit visited once."""
        forbids = frozenset(target.forbids)
        if not forbids:
            return []
        before = target.position
        origin: dict[str, tuple[str, ...]] = {}  # name -> the path from a symbol to it
        queue: deque[str] = deque()
        for symbol in target.symbols:
            if symbol not in origin:
                origin[symbol] = (symbol,)
                queue.append(symbol)
        found: dict[tuple, Finding] = {}
        seen_units: set[int] = set()

        def add(cell, line, rules, sentence, between: tuple[str, ...]) -> None:
            # One finding per line and rule: the first is the most specific (the outermost
            # attribute of a chain, the symbol's own binding before what it reaches).
            if len(between) > 4:  # a long chain: its ends say enough
                between = (*between[:2], "…", between[-1])
            via = f", through {' → '.join(between)}" if between else ""
            for rule in sorted(rules & forbids):
                what = f"{sentence} ({policy.RULE_WORDS[rule]}){via}"
                found.setdefault((cell, line, rule), Finding(cell, line, rule, what))

        while queue:
            name = queue.popleft()
            path = origin[name]
            symbol = path[0]
            own = [b for b in self.bindings.get(name, ()) if b.cell < before]
            units = [b.unit for b in own if b.unit is not None]
            if any(b.entity is None for b in own):
                # Something the notebook made (not a module): writes into it count too.
                units += [b.unit for b in self.mutations.get(name, ()) if b.cell < before]
            for b in own:
                if b.entity is not None:
                    if name == symbol:
                        sentence = f"{symbol} is {b.entity}"
                    elif b.entity.rsplit(".", 1)[-1] == name:
                        sentence = f"{symbol} uses {b.entity}"
                    else:
                        sentence = f"{symbol} uses {b.entity}, imported as {name}"
                    add(b.cell, b.line, policy.entity_rules(b.entity), sentence, path[1:-1])
            for cell, line, module in self._star_candidates(name, before):
                rules = policy.entity_rules(f"{module}.{name}")
                sentence = f"{symbol} may use {name} from `from {module} import *`"
                add(cell, line, rules, sentence, path[1:-1])
            for unit in units:
                if id(unit) in seen_units:
                    continue
                seen_units.add(id(unit))
                for ref in unit.facts.refs:
                    rules = self._ref_rules(ref, before)
                    if rules & forbids:
                        add(unit.cell, ref.line, rules, _sentence(symbol, ref), path[1:])
                for free in unit.facts.free:
                    if free not in origin:
                        origin[free] = (*path, free)
                        queue.append(free)
            for alias in self.alias_users.get(name, ()):
                # ``cls = Conv2D; cls.impl = ...`` writes into Conv2D too.
                if alias not in origin:
                    origin[alias] = (*path, alias)
                    queue.append(alias)
        return sorted(found.values(), key=lambda f: (f.cell, f.line or 0, f.rule))

    def _star_candidates(self, name: str, before: int):
        """The ``from M import *`` before the test that may bind ``name`` (whatever else binds
        it: a later binding may sit in a branch that never runs)."""
        for cell, module, line in self.stars:
            if cell < before and _exports(module, name):
                yield cell, line, module

    def _ref_rules(self, ref: Ref, before: int) -> frozenset[str]:
        if ref.kind == "import":
            return policy.entity_rules(ref.name.removesuffix(".*"))
        if ref.kind == "string":
            rules = policy.entity_rules(ref.name) if "." in ref.name else frozenset()
            # Strings name attributes without a receiver: d2l-only names (SGD) do not count.
            return rules | policy.name_rules(ref.name.rsplit(".", 1)[-1], d2l_receiver=False)
        recv = ref.recv
        if ref.kind == "base":  # class C(M): what M stands for
            entities = self._entities_before(ref.name, before)
        else:
            entities = set()
            if recv is not None and recv.kind == "free" and recv.root is not None:
                # What the receiver is decides too: convcourse.<...>, torch.autograd.<...>.
                prefixes = self._entities_before(recv.root, before)
                entities = {".".join((e, *recv.path, ref.name)) for e in prefixes}
        rules = frozenset()
        if ref.kind != "base":
            rules = policy.name_rules(ref.name, d2l_receiver=self._d2l_receiver(recv, before))
        for entity in entities:
            rules |= policy.entity_rules(entity)
            if ref.base and entity.split(".")[0] in policy.SHIPPED_BASE_ROOTS:
                rules |= {rules_table.SHIPPED}  # any class of d2l or the course as a base
        return rules

    def _entities_before(self, name: str, before: int | None, depth: int = 0) -> set[str]:
        """The entities ``name`` may stand for through imports and plain aliases (``g = F``,
        ``T = torch.Tensor``) bound before cell ``before`` (None: anywhere); memoised."""
        key = (name, before)
        if key in self._entity_memo:
            return self._entity_memo[key]
        out: set[str] = set()
        if depth <= 8:
            for b in self.bindings.get(name, ()):
                if before is not None and b.cell >= before:
                    continue
                if b.entity is not None:
                    out.add(b.entity)
                elif isinstance(b.value, ast.Name | ast.Attribute):
                    root, path, mixed = chain_root(b.value)
                    if isinstance(root, ast.Name) and not mixed and root.id != name:
                        for e in self._entities_before(root.id, before, depth + 1):
                            out.add(".".join((e, *path)))
        if depth == 0:
            self._entity_memo[key] = out
        return out

    def _d2l_receiver(self, recv: Recv | None, before: int) -> bool | None:
        """True: the receiver is d2l; False: known not to be; None: unknown."""
        if recv is None:
            return None
        if recv.kind == "self":
            return False
        if recv.kind != "free" or recv.root is None:
            return None
        own = [b for b in self.bindings.get(recv.root, ()) if b.cell < before]
        entities = self._entities_before(recv.root, before)
        if any(e.split(".")[0] == "d2l" for e in entities):
            return True
        resolved = all(
            b.entity is not None or isinstance(b.value, ast.Name | ast.Attribute) for b in own
        )
        return False if own and resolved and entities else None


def _sentence(symbol: str, ref: Ref) -> str:
    if ref.kind == "import":
        return f"{symbol} imports {ref.text}"
    if ref.kind == "string":
        return f"{symbol} names {ref.text} in a string"
    if ref.base:
        return f"{symbol} is based on {ref.text}"
    return f"{symbol} uses {ref.text}"


@functools.lru_cache(maxsize=256)
def _exports(module: str, name: str) -> bool:
    """Whether ``from module import *`` may bind ``name``: the module's ``__all__`` or public
    names when it is already imported here, ``__all__`` read from the source for the course's
    own modules, and True (may) when nothing is known."""
    import sys

    loaded = sys.modules.get(module)
    if loaded is not None:
        names = getattr(loaded, "__all__", None)
        if names is not None:
            return name in names
        return not name.startswith("_") and hasattr(loaded, name)
    if module.split(".")[0] != "convcourse":
        return True
    from pathlib import Path

    import convcourse

    base = Path(convcourse.__file__).parent.joinpath(*module.split(".")[1:])
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return not name.startswith("_")
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                try:
                    return name in ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError):
                    break
    return not name.startswith("_")
