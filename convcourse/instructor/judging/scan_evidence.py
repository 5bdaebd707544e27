"""The evidence rules of the static scan's walk (scan_walker.py): names, attributes, calls,
magics, definitions and strings that an honest notebook of this course never needs, each
reported with the reason ``scan_policy`` gives.  A mixin of :class:`scan_walker.Walker`."""

from __future__ import annotations

import ast

from convcourse.instructor.judging import scan_policy as policy
from convcourse.instructor.judging.scan_parse import (
    const_str,
    magic_statements,
    parse_cell,
)
from convcourse.instructor.judging.scan_scopes import (
    DUNDER,
    DUNDER_IN_TEXT,
    IDENTIFIER,
    QUOTED_CHARS,
    Recv,
    Ref,
    chain_root,
    dotted,
    folded,
)

__all__ = ["EvidenceRules", "always_true"]

MAX_MAGIC_NESTING = 4


class EvidenceRules:
    """Evidence found while walking (the walker's ``evidence``, ``recv``, ``f`` ... are used)."""

    def free_name_evidence(self, node, name: str) -> None:
        if name in policy.ALWAYS_BUILTINS:
            self.evidence(node, policy.ALWAYS_BUILTINS[name])
        elif name in policy.UNLESS_BOUND_BUILTINS or policy.HISTORY_NAME.fullmatch(name):
            what = policy.UNLESS_BOUND_BUILTINS.get(name, f"reads IPython's history ({name})")
            self.defer("builtin", node, name, what)
        elif name in policy.ATTRIBUTE_BUILTINS:
            # Called directly, v_Call judged it; here it is passed around as a value.
            self.evidence(node, f"passes {name} around as a value")
        elif DUNDER.fullmatch(name) and name not in policy.DUNDER_NAMES_OK:
            self.evidence(node, policy.dunder_problem(name, "reads"))

    def attribute_evidence(self, node, attr: str, recv: Recv) -> None:
        text = dotted(node)
        if attr.startswith("_"):
            if DUNDER.fullmatch(attr):
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
            DUNDER.fullmatch(attr) and attr in policy.DUNDER_READ_OK and name != "setattr"
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
            self.evidence(node, f"runs a shell command (!{command[:QUOTED_CHARS]})")
            return
        if method not in ("run_line_magic", "run_cell_magic") or name is None or None in values:
            self.evidence(node, f"uses the IPython shell (get_ipython().{method})")
            self.visit_all(args)
            return
        if method == "run_line_magic" and len(values) == 2:
            line = values[1]
            if name in policy.HARMLESS_LINE_MAGICS:
                return
            if name in policy.HELP_MAGICS and IDENTIFIER.fullmatch(line.strip()):
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
        if self.magic_depth >= MAX_MAGIC_NESTING:
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
        if DUNDER.fullmatch(name) and name not in policy.DUNDER_DEFINE_OK:
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
        if IDENTIFIER.fullmatch(value):
            self.f.refs.append(Ref(self.line(node), "string", value, repr(value)))

    def string_evidence(self, node, value: str) -> None:
        for word in policy.PATH_WORDS:
            if word in value:
                shown = value if len(value) <= QUOTED_CHARS else value[:QUOTED_CHARS] + "…"
                self.evidence(node, f"refers to {shown!r} (a path no lesson needs)")
                break
        for dunder in DUNDER_IN_TEXT.findall(value):
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
            if IDENTIFIER.fullmatch(text):
                self.f.refs.append(Ref(self.line(node), "string", text, repr(text)))
        self.children(node)

    def v_JoinedStr(self, node) -> None:
        text = folded(node)
        if text is not None:
            self.string_evidence(node, text)
            if IDENTIFIER.fullmatch(text):
                self.f.refs.append(Ref(self.line(node), "string", text, repr(text)))
        self.children(node)


def always_true(fn) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        isinstance(r.value, ast.Constant) and r.value.value is True for r in returns
    )
