"""A static look at the student's code, in the grader (never in the sandbox).

It cannot change a score -- verdicts come from comparisons the grader makes itself -- but it
tells the instructor when a submission tried to tamper with grading: redefining builtins,
patching torch, installing IPython input transformers, replacing modules in ``sys.modules``,
killing processes, reading other people's files, faking test output.  Each finding is a short
plain sentence naming the cell; the results file lists them under ``flags``.
"""

from __future__ import annotations

import ast

__all__ = ["scan_cells", "to_python"]

# Builtins whose replacement only makes sense as an attack on a checker (``sum = 0`` is common
# and harmless, so everyday names are left out).
_BUILTIN_NAMES = {
    "print",
    "isinstance",
    "issubclass",
    "len",
    "type",
    "open",
    "repr",
    "getattr",
    "hasattr",
    "hash",
    "callable",
    "__import__",
    "exec",
    "eval",
    "compile",
    "id",
}
_PATCHABLE_ROOTS = {
    "torch",
    "F",
    "nn",
    "np",
    "numpy",
    "math",
    "convcourse",
    "checks",
    "corr",
    "layers",
    "IPython",
    "builtins",
    "__builtins__",
    "sys",
    "os",
    "time",
}
_PROCESS_CALLS = {
    ("os", "_exit"): "ends the process with os._exit",
    ("os", "kill"): "sends signals to processes (os.kill)",
    ("os", "killpg"): "sends signals to process groups (os.killpg)",
    ("os", "fork"): "forks processes (os.fork)",
    ("os", "forkpty"): "forks processes (os.forkpty)",
    ("os", "system"): "runs shell commands (os.system)",
    ("os", "setsid"): "starts a new session (os.setsid)",
    ("sys", "_getframe"): "inspects the interpreter's frames (sys._getframe)",
    ("gc", "get_objects"): "searches the interpreter's objects (gc.get_objects)",
    ("gc", "get_referrers"): "searches the interpreter's objects (gc.get_referrers)",
    ("signal", "signal"): "installs signal handlers",
    ("signal", "setitimer"): "changes interval timers",
}
_SUSPICIOUS_MODULES = {
    "socket": "imports socket (network access)",
    "subprocess": "imports subprocess (runs programs)",
    "ctypes": "imports ctypes (raw memory and system calls)",
    "multiprocessing": "imports multiprocessing",
    "pty": "imports pty",
    "urllib": "imports urllib (network access)",
    "requests": "imports requests (network access)",
    "http": "imports http (network access)",
}
_FAKE_RESULT_WORDS = ("tests passed", "test passed", "all tests", "correct!", "✓ passed")
# Paths no honest notebook of this course mentions.
_SECRET_PATHS = (
    "/etc/shadow",
    "/etc/passwd",
    "gradebook.db",
    "/solutions/",
    "/submitted/",
    "/autograded/",
    "/proc/1/",
    "/root/",
)
_SECRET_PATH_HINTS = (
    "/etc/shadow",
    "gradebook",
    "solutions/",
    "submitted/",
    "autograded/",
    "/root",
    "/home/",
    "..",
)


def to_python(source: str) -> str:
    """The Python that IPython would run for ``source`` (magics become function calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    else:
        return ""
    return ".".join(reversed(parts))


class _Finder(ast.NodeVisitor):
    def __init__(self):
        self.found: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.found:
            self.found.append(text)

    def _target(self, target) -> None:
        if isinstance(target, ast.Attribute):
            name = _dotted(target)
            root = name.split(".")[0]
            if root in ("builtins", "__builtins__"):
                self.add(f"redefines the builtin {target.attr}")
            elif root in _PATCHABLE_ROOTS:
                self.add(f"monkeypatches {name}")
            elif name.startswith("get_ipython()"):
                self.add(f"changes the IPython shell ({name})")
        elif isinstance(target, ast.Subscript):
            name = _dotted(target.value)
            if name in ("sys.modules", "builtins.__dict__", "__builtins__"):
                self.add(f"replaces an entry of {name}")
        elif isinstance(target, ast.Name):
            if target.id in _BUILTIN_NAMES:
                self.add(f"shadows the builtin {target.id}")
            if target.id.startswith("check_") or target.id == "student_seed":
                self.add(f"redefines the grading function {target.id}")
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._target(elt)

    def visit_Assign(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name in _BUILTIN_NAMES or node.name.startswith("check_"):
            self.add(f"defines a function named {node.name}")
        if node.name == "__eq__" and _always_true(node):
            self.add("defines an __eq__ that is always true")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        name = _dotted(node.func)
        parts = tuple(name.split("."))
        if len(parts) >= 2 and parts[-2:] in _PROCESS_CALLS:
            self.add(_PROCESS_CALLS[parts[-2:]])
        if name in ("setattr", "delattr") and node.args:
            target = _dotted(node.args[0])
            if target.split(".")[0] in _PATCHABLE_ROOTS:
                self.add(f"monkeypatches {target} with {name}()")
        if "input_transformer" in name or "ast_transformers" in name:
            self.add("installs an IPython input transformer")
        if name.endswith("register_magic_function") or name.endswith("events.register"):
            self.add(f"hooks into IPython ({name})")
        if name in ("print", "display") or name.endswith(".write"):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    text = arg.value.lower()
                    if any(w in text for w in _FAKE_RESULT_WORDS):
                        self.add("prints text that imitates a test result")
        if name == "open" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if any(h in arg.value for h in _SECRET_PATH_HINTS) or arg.value.startswith("/"):
                    self.add(f"opens {arg.value!r}")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and len(node.value) < 500:
            for hint in _SECRET_PATHS:
                if hint in node.value:
                    self.add(f"refers to {hint!r}")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        name = _dotted(node)
        if "input_transformers" in name or "ast_transformers" in name:
            self.add("installs an IPython input transformer")
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            why = _SUSPICIOUS_MODULES.get(alias.name.split(".")[0])
            if why:
                self.add(why)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.module:
            why = _SUSPICIOUS_MODULES.get(node.module.split(".")[0])
            if why:
                self.add(why)
        self.generic_visit(node)


def _always_true(fn: ast.FunctionDef) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        isinstance(r.value, ast.Constant) and r.value.value is True for r in returns
    )


def scan_cells(cells: list[tuple[str, str]]) -> list[str]:
    """Findings for ``(label, source)`` code cells, as ``"<label>: <finding>"`` sentences."""
    flags: list[str] = []
    for label, source in cells:
        try:
            tree = ast.parse(to_python(source))
        except (SyntaxError, ValueError):
            continue
        finder = _Finder()
        finder.visit(tree)
        flags.extend(f"{label}: {text}" for text in finder.found)
    return flags
