"""What the grader's static scan (scan.py) counts: forbidden names per rule, and tampering.

Two kinds of table live here, apart from the machinery that applies them:

* **Rules** (``shipped``, ``library_conv``, ``conv_module``, ``autograd``): which names an
  exercise's answer must not reach.  The names come from the course's one table,
  ``convcourse.checks.rules`` (the lessons state it, the checks enforce it at run time); the
  scan adds patterns for what a static reading must also catch -- aten's many convolution
  variants by name (``torch.ops.aten.slow_conv3d``), attributes on an unknown receiver.
* **Tampering evidence**: what an honest student of this course never needs to write -- the
  notebook runs torch/numpy/scipy/matplotlib/d2l code on small tensors and calls the check
  functions; it never needs the interpreter's internals, the file system, other processes, the
  IPython shell or the grader's own code.  Every entry says why it is there.
"""

from __future__ import annotations

import re

from convcourse.checks import rules

__all__ = [
    "RULES",
    "RULE_WORDS",
    "name_rules",
    "entity_rules",
    "import_problem",
    "dunder_problem",
]

RULES = rules.RULE_NAMES
#: How a finding describes what a rule forbids (the sentence reads "corr2d uses F.conv2d (…)").
RULE_WORDS = {
    rules.SHIPPED: "code that ships with the course or d2l",
    rules.LIBRARY_CONV: "a library convolution",
    rules.CONV_MODULE: "a convolution module",
    rules.AUTOGRAD: "autograd",
}

# ------------------------------------------------------------------------------- the rules

_FORBIDDEN = rules.FORBIDDEN_ATTRIBUTES
# library_conv, beyond rules.py's names: every aten convolution op, present and future
# (convolution_overrideable, _slow_conv2d_forward, ...), and torch.nn.grad.conv2d_weight.  Case
# matters: the course's own class is Conv2D, PyTorch's module is Conv2d.
_LIBRARY_CONV = re.compile(
    r"convolution|convolve|^_*correlate|conv(_transpose)?[123]d|conv_tbc|conv_depthwise"
    r"|slow_conv|thnn_conv"
)
_CONV_MODULE = re.compile(r"(Lazy)?Conv(Transpose)?[123]d|_Conv(Transpose)?Nd")
# autograd, beyond rules.py's names: the graph itself and the other gradient hooks.
_AUTOGRAD = _FORBIDDEN[rules.AUTOGRAD] | {
    "grad_fn",
    "register_post_accumulate_grad_hook",
    "autograd",
    "functorch",
}
# shipped: the convcourse package (any entity under it), and d2l's implementations.  corr2d and
# squared_loss exist nowhere else, so they count on any receiver; sgd/SGD/Trainer/train_* also
# name honest things (torch.optim.SGD), so they count only on d2l or on an unknown receiver.
_SHIPPED_ANYWHERE = frozenset({"corr2d", "squared_loss"})
# A base class from these packages is shipped code (its methods run as the student's): a class
# of d2l (d2l.Module, d2l.Trainer) or of the course.
SHIPPED_BASE_ROOTS = frozenset({"d2l", *rules.SHIPPED_PACKAGES})


def _d2l_only(name: str) -> bool:
    return (
        name in rules.D2L_SHIPPED_NAMES
        or name in rules.D2L_TRAINER_SUBCLASSES
        or name.endswith("Trainer")
        or name.startswith(rules.D2L_SHIPPED_PREFIXES)
    )


def name_rules(name: str, d2l_receiver: bool | None = None) -> frozenset[str]:
    """The rules an attribute (or a string naming one) called ``name`` breaks.

    ``d2l_receiver``: True when the object it is read from is d2l, False when it is known not
    to be, None when unknown.
    """
    found = set()
    if name in _FORBIDDEN[rules.LIBRARY_CONV] or _LIBRARY_CONV.search(name):
        found.add(rules.LIBRARY_CONV)
    if name in _FORBIDDEN[rules.CONV_MODULE] or _CONV_MODULE.fullmatch(name):
        found.update((rules.CONV_MODULE, rules.LIBRARY_CONV))
    if name in _AUTOGRAD:
        found.add(rules.AUTOGRAD)
    if name in _SHIPPED_ANYWHERE or (_d2l_only(name) and d2l_receiver is not False):
        found.add(rules.SHIPPED)
    return frozenset(found)


def entity_rules(entity: str) -> frozenset[str]:
    """The rules a dotted entity (``torch.nn.functional.conv2d``, ``convcourse.corr``) breaks."""
    parts = entity.split(".")
    found: set[str] = set()
    if parts[0] in rules.SHIPPED_PACKAGES:
        found.add(rules.SHIPPED)
    if any(entity == m or entity.startswith(m + ".") for m in rules.AUTOGRAD_MODULES):
        found.add(rules.AUTOGRAD)
    if entity == rules.CONV_MODULE_PATH or entity.startswith(rules.CONV_MODULE_PATH + "."):
        found.update((rules.CONV_MODULE, rules.LIBRARY_CONV))
    d2l = parts[0] == "d2l"
    for part in parts[1:]:
        found.update(name_rules(part, d2l_receiver=d2l))
    return frozenset(found)


# ------------------------------------------------------------------------------- imports

# Modules a student of this course may import.  Everything else is evidence: the lessons need
# tensors, arrays, maths, timing and plots -- nothing that reaches the interpreter, the file
# system, processes or the network.
_ALLOWED_ROOTS = frozenset(
    {
        "torch",
        "numpy",
        "scipy",
        "math",
        "cmath",
        "random",
        "statistics",
        "itertools",
        "functools",
        "collections",
        "dataclasses",
        "typing",
        "time",
        "matplotlib",
        "d2l",
        "warnings",
        "__future__",
        # Harmless helpers a student might reach for (pure values, no I/O, no code objects).
        "copy",
        "fractions",
        "decimal",
        "numbers",
        "pprint",
        "string",
        "textwrap",
    }
)
_ALLOWED_EXACT_PREFIXES = ("IPython.display",)
# The student world of the course: the checks (only the check functions, the seed and the
# failure type) and the lesson helpers.  convcourse.checks' submodules hold the recorder and
# the exercise tables; the rest of convcourse (reference code, the instructor side) is not for
# students.
_STUDENT_MODULES = frozenset(
    {"convcourse.checks", "convcourse.plots", "convcourse.widgets", "convcourse.images",
     "convcourse.kernels", "convcourse.lessons"}
)  # fmt: skip
_CHECKS_NAMES = frozenset({"student_seed", "set_language", "CheckFailed"})
# Public submodules of allowed packages that still reach past the lesson's needs.
_DENIED_SUBMODULES = {
    "torch.library": "overrides PyTorch operators",
    "torch.overrides": "installs torch function modes",
    "torch.multiprocessing": "starts processes",
    "torch.distributed": "starts processes and opens sockets",
    "torch.utils.cpp_extension": "compiles and loads native code",
    "torch.utils.hooks": "hooks into PyTorch's internals",
    "torch.package": "loads pickled code",
    "torch.hub": "downloads and runs code",
    "torch.jit": "compiles and loads TorchScript",
    "torch.compiler": "compiles code",
    "torch.fx": "rewrites code",
    "torch.export": "rewrites code",
    "torch.backends": "switches PyTorch's kernels",
    "torch.serialization": "loads pickled objects",
    "torch.onnx": "exports and runs models outside PyTorch",
    "torch.utils.benchmark": "runs code from strings",
    "torch.testing._internal": "PyTorch's private test helpers",
    "numpy.ctypeslib": "raw memory",
    "numpy.f2py": "compiles native code",
    "numpy.distutils": "compiles native code",
    "scipy.LowLevelCallable": "raw function pointers",
}
# Why a module is evidence (the finding says "imports gc (the interpreter's object graph)").
_MODULE_WHY = {
    "gc": "the interpreter's object graph",
    "sys": "the interpreter's internals",
    "os": "the operating system",
    "posix": "the operating system",
    "ctypes": "raw memory and system calls",
    "_ctypes": "raw memory and system calls",
    "cffi": "raw memory and system calls",
    "inspect": "frames and source of running code",
    "importlib": "imports by name",
    "pkgutil": "imports by name",
    "runpy": "runs modules",
    "builtins": "the built-in functions",
    "threading": "code running beside the grader",
    "_thread": "code running beside the grader",
    "concurrent": "code running beside the grader",
    "asyncio": "code running beside the grader",
    "multiprocessing": "other processes",
    "subprocess": "runs programs",
    "pty": "runs programs",
    "signal": "signal handlers",
    "faulthandler": "signal handlers",
    "resource": "process limits",
    "socket": "network access",
    "ssl": "network access",
    "http": "network access",
    "urllib": "network access",
    "requests": "network access",
    "select": "file descriptors",
    "selectors": "file descriptors",
    "fcntl": "file descriptors",
    "mmap": "memory-mapped files",
    "pickle": "objects and code from bytes",
    "_pickle": "objects and code from bytes",
    "copyreg": "objects and code from bytes",
    "marshal": "code objects from bytes",
    "shelve": "objects and code from bytes",
    "dill": "objects and code from bytes",
    "cloudpickle": "objects and code from bytes",
    "types": "builds functions, code and modules",
    "code": "runs code from strings",
    "codeop": "compiles code from strings",
    "dis": "bytecode",
    "timeit": "runs code from strings",
    "operator": "attribute access by name (attrgetter)",
    "io": "files and file descriptors",
    "pathlib": "files",
    "shutil": "files",
    "tempfile": "files",
    "glob": "files",
    "fileinput": "files",
    "zipfile": "files",
    "tarfile": "files",
    "sqlite3": "files",
    "atexit": "code run at exit",
    "weakref": "finalizers that run later",
    "traceback": "frames of running code",
    "tracemalloc": "the interpreter's memory",
    "codecs": "byte codecs",
    "site": "the interpreter's start-up",
    "sysconfig": "the interpreter's installation",
    "pdb": "the debugger",
    "bdb": "the debugger",
    "IPython": "the IPython shell",
    "ipykernel": "the kernel",
    "jupyter_client": "the kernel",
    "zmq": "the kernel's sockets",
    "nbformat": "notebook files",
    "nbgrader": "the grading tools",
    "convcourse.instructor": "the grader's own code",
    "convcourse.corr": "the course's reference code",
    "convcourse.layers": "the course's reference code",
    "convcourse.oracle": "the checks' library operations",
    "convcourse.checks.": "the checks' internals",
    "codec": "the grader's frame codec",
    "worker": "the grader's worker",
}


def _module_why(entity: str) -> str:
    for key in sorted(_MODULE_WHY, key=len, reverse=True):
        if key.endswith("."):
            if entity.startswith(key):
                return _MODULE_WHY[key]
        elif entity == key or entity.startswith(key + "."):
            return _MODULE_WHY[key]
    return "a module this course never uses"


# __future__ features that change nothing a scan could misread.  barry_as_FLUFL changes the
# grammar (``<>``), so later cells would parse differently in the kernel than here.
_FUTURE_OK = frozenset(
    {
        "annotations",
        "division",
        "absolute_import",
        "print_function",
        "unicode_literals",
        "generators",
        "nested_scopes",
        "with_statement",
        "generator_stop",
    }
)


def import_problem(module: str, name: str | None = None) -> str | None:
    """Why importing ``module`` (or ``name`` from it) is evidence, or None when it is fine."""
    entity = f"{module}.{name}" if name else module
    parts = entity.split(".")
    if any(p.startswith("_") for p in parts if p != "__future__"):
        return f"imports {entity} (a private module or name)"
    if name == "get_ipython":
        return f"imports {entity} (the IPython shell)"
    if module == "__future__":
        if name in _FUTURE_OK:
            return None
        return f"imports {entity} (changes how later cells parse)"
    for denied, why in _DENIED_SUBMODULES.items():
        if entity == denied or entity.startswith(denied + "."):
            return f"imports {entity} ({why})"
    root = parts[0]
    if root in _ALLOWED_ROOTS:
        return None
    if any(entity == p or entity.startswith(p + ".") for p in _ALLOWED_EXACT_PREFIXES):
        return None
    if module == "IPython" and name == "display":
        return None
    if root == "convcourse":
        if module == "convcourse" and name is None:
            return "imports convcourse (the whole package, not a student module)"
        if module == "convcourse" and f"convcourse.{name}" in _STUDENT_MODULES:
            return None
        if module == "convcourse.checks" and name is not None:
            if name.startswith("check_") or name in _CHECKS_NAMES:
                return None
            return f"imports convcourse.checks.{name} ({_module_why('convcourse.checks.')})"
        if module in _STUDENT_MODULES:
            return None
    return f"imports {entity} ({_module_why(entity)})"


def checks_attribute_ok(name: str) -> bool:
    """Whether a student may read ``name`` from convcourse.checks."""
    return name.startswith("check_") or name in _CHECKS_NAMES


def convcourse_attribute_ok(name: str) -> bool:
    """Whether a student may read ``name`` from the convcourse package itself."""
    return f"convcourse.{name}" in _STUDENT_MODULES


# ------------------------------------------------------------------------- names and attributes

# Builtins no lesson needs -- code from strings, namespaces, files, the debugger, the kernel and
# its shell -- evidence even where the notebook rebinds the name (``open = open`` must not
# hide a later ``open(...)``).
ALWAYS_BUILTINS = {
    "exec": "runs code from a string (exec)",
    "eval": "runs code from a string (eval)",
    "compile": "compiles code from a string (compile)",
    "globals": "reads the notebook's namespace (globals)",
    "locals": "reads a namespace (locals)",
    "vars": "reads an object's namespace (vars)",
    "breakpoint": "starts the debugger (breakpoint)",
    "__import__": "imports a module by name (__import__)",
    "open": "opens a file (open)",
    "exit": "ends the kernel (exit)",
    "quit": "ends the kernel (quit)",
    # The shell itself: only the harmless magics reach it, through IPython's own rewriting.
    "get_ipython": "uses the IPython shell (get_ipython)",
}
# Builtins that are evidence unless the notebook binds the name itself (``dir = (1, 0)``).
UNLESS_BOUND_BUILTINS = {
    "dir": "lists an object's attributes (dir)",
    "input": "waits for keyboard input (input)",
    # IPython's input/output history: it holds the grader's own test cells and their results.
    "In": "reads IPython's input history (In)",
    "Out": "reads IPython's output history (Out)",
    "_ih": "reads IPython's input history (_ih)",
    "_oh": "reads IPython's output history (_oh)",
    "_dh": "reads IPython's directory history (_dh)",
    "_ii": "reads IPython's input history (_ii)",
    "_iii": "reads IPython's input history (_iii)",
}
HISTORY_NAME = re.compile(r"_i?\d+")  # _5, _i5: IPython's numbered history entries
ATTRIBUTE_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr"})

# Dunder names a student may read anywhere: the name of a function for a printout, a version.
DUNDER_READ_OK = frozenset({"__init__", "__name__", "__qualname__", "__doc__", "__version__"})
# Dunder methods a student may define: construction and printing, container basics.  Anything
# else changes how the grader's own code sees the object (__eq__, __bool__, __array__,
# __torch_function__), runs code at odd times (__del__, __init_subclass__, __set_name__) or
# forges pickled frames (__reduce__).
DUNDER_DEFINE_OK = frozenset(
    {
        "__init__",
        "__repr__",
        "__str__",
        "__post_init__",
        "__len__",
        "__iter__",
        "__getitem__",
        "__contains__",
    }
)
DUNDER_NAMES_OK = frozenset({"__name__", "__doc__", "__debug__", "__all__"})
_DUNDER_WHY = {
    "__del__": "runs code whenever the object is collected",
    "__getattribute__": "intercepts every attribute read",
    "__getattr__": "intercepts attribute reads",
    "__setattr__": "intercepts attribute writes",
    "__torch_function__": "intercepts every torch function",
    "__torch_dispatch__": "intercepts every torch operator",
    "__init_subclass__": "runs code when a class is derived",
    "__set_name__": "runs code when a class is built",
    "__class_getitem__": "changes how a class is subscripted",
    "__instancecheck__": "fakes isinstance",
    "__subclasscheck__": "fakes issubclass",
    "__eq__": "changes what == says",
    "__ne__": "changes what != says",
    "__bool__": "changes what truth tests say",
    "__array__": "changes how numpy reads the object",
    "__array_function__": "intercepts numpy functions",
    "__array_ufunc__": "intercepts numpy functions",
    "__reduce__": "controls how the object is pickled",
    "__reduce_ex__": "controls how the object is pickled",
    "__getstate__": "controls how the object is pickled",
    "__setstate__": "controls how the object is unpickled",
    "__new__": "changes what constructing the class returns",
    "__call__": "changes what calling the object does",
    "__get__": "makes a descriptor",
    "__set__": "makes a descriptor",
    "__float__": "changes how the object converts to a number",
    "__index__": "changes how the object converts to a number",
    "__hash__": "changes hashing",
    "__class__": "replaces an object's class",
    "__dict__": "reads or replaces an object's namespace",
    "__globals__": "reads a function's global namespace",
    "__code__": "reads or replaces a function's code",
    "__closure__": "reads a function's closure",
    "__defaults__": "reads or replaces a function's defaults",
    "__builtins__": "reaches the built-in functions",
    "__subclasses__": "searches every class",
    "__bases__": "reads or changes a class's bases",
    "__mro__": "reads a class's bases",
    "__base__": "reads a class's base",
    "__self__": "reaches the object behind a method",
    "__func__": "reaches the function behind a method",
    "__module__": "reads where code comes from",
    "__loader__": "reaches the import system",
    "__spec__": "reaches the import system",
    "__file__": "reads where code lives on disk",
    "__wrapped__": "reaches the function behind a decorator",
}


def dunder_problem(name: str, verb: str, shown: str | None = None) -> str:
    """A sentence for a dunder ``name`` used as ``verb`` ("defines", "reads", "uses"), showing
    the code ``shown`` (default: the name)."""
    why = _DUNDER_WHY.get(name)
    return f"{verb} {shown or name}" + (f" ({why})" if why else "")


# Attribute names that are evidence on any receiver: each reaches something no lesson needs.
ATTRIBUTE_WHY = {
    "ctypeslib": "raw memory",
    "f2py": "compiles native code",
    "cpp_extension": "compiles and loads native code",
    "load_inline": "compiles and loads native code",
    "load_library": "loads native code",
    "load": "loads files or pickled objects",
    "loads": "loads pickled objects",
    "from_file": "maps a file into memory",
    "fromfile": "reads a file",
    "memmap": "maps a file into memory",
    "LowLevelCallable": "raw function pointers",
    "library": "overrides PyTorch operators",
    "overrides": "installs torch function modes",
    "ops": "PyTorch's raw operators",
    "jit": "compiles and loads TorchScript",
    "compile": "compiles code",
    "hub": "downloads and runs code",
    "package": "loads pickled code",
    "backends": "switches the library's back ends",
    "benchmark": "runs code from strings (torch.utils.benchmark)",
    "onnx": "exports and runs models outside PyTorch",
    "get_ipython": "the IPython shell",
    # Other processes (os's, reached however): the grader's own among them.
    "kill": "sends signals to processes",
    "killpg": "sends signals to process groups",
    "fork": "forks processes",
    "forkpty": "forks processes",
    "system": "runs shell commands",
    "popen": "runs shell commands",
    "execv": "replaces the process",
    "execve": "replaces the process",
    "setsid": "starts a new session",
    # Frames and code objects of running code: the grader's own frames are one f_back away.
    **{
        name: "frames and code objects of running code"
        for name in (
            "gi_frame",
            "cr_frame",
            "ag_frame",
            "gi_code",
            "cr_code",
            "f_back",
            "f_globals",
            "f_locals",
            "f_builtins",
            "f_code",
            "tb_frame",
            "tb_next",
            "co_code",
            "co_consts",
            "co_names",
        )
    },
    "multiprocessing": "starts processes",
    "distributed": "starts processes and opens sockets",
    "get_type_hints": "evaluates strings as code",
    "ForwardRef": "evaluates strings as code",
    "loadtxt": "reads a file",
    "genfromtxt": "reads a file",
    "fromregex": "reads a file",
    "imread": "reads a file",
    "download": "downloads files",
    "download_extract": "downloads files",
    # Output that runs in the browser of whoever opens the graded notebook or its feedback.
    "Javascript": "puts a script in the notebook's output",
    "display_javascript": "puts a script in the notebook's output",
}
# A module reached as an attribute of another (d2l.os, torch.sys): the same as importing it.
MODULE_ATTRIBUTES = frozenset(
    {
        "os",
        "sys",
        "gc",
        "inspect",
        "importlib",
        "builtins",
        "threading",
        "subprocess",
        "ctypes",
        "signal",
        "socket",
        "pickle",
        "marshal",
        "types",
        "io",
        "pathlib",
        "atexit",
        "weakref",
        "traceback",
        "codecs",
        "shutil",
        "tempfile",
        "glob",
        "requests",
        "urllib",
        "zipfile",
        "tarfile",
        "hashlib",
        "multiprocessing",
        "mmap",
        "resource",
        "pty",
        "asyncio",
        "runpy",
        "pkgutil",
    }
)
# Global hooks that run code inside every torch module call, including the grader's probes.
GLOBAL_HOOK_PREFIX = "register_module_"
# Keyword arguments that turn on loading pickled objects.
PICKLE_KEYWORDS = {"allow_pickle": True, "weights_only": False}
# Attributes of IPython's shell that rewrite every cell before it runs (the test cells too).
TRANSFORMER_WORDS = ("input_transformer", "ast_transformers")
# Attribute writes that honest code makes on objects that are not its own (tensors, layers).
HONEST_STORES = frozenset({"weight", "bias", "data", "grad", "requires_grad"})
# Mutating methods: called on something reached from a course or d2l module they change the
# grader's tables (convcourse.checks.EXERCISES.clear()).
MUTATING_METHODS = frozenset(
    {
        "update",
        "clear",
        "pop",
        "popitem",
        "setdefault",
        "append",
        "extend",
        "insert",
        "remove",
        "discard",
        "add",
    }
)
# Roots whose module-level containers are grading state.
GRADING_ROOTS = frozenset({"convcourse", "d2l", "builtins", "sys", "IPython"})
# Bases that make an object pass for a tensor, or a class that builds classes.
TENSOR_BASES = frozenset({"Tensor", "Parameter", "TensorBase", "UninitializedParameter", "Buffer"})
META_BASES = frozenset({"type", "ABCMeta", "EnumMeta", "EnumType"})

# Paths and names no honest notebook of this course mentions.
PATH_WORDS = (
    "/proc",
    "/dev/",
    "/etc/",
    "/sys/",
    "/opt/convcourse",
    "/root/",
    "/home/",
    "gradebook",
    "solutions/",
    "submitted/",
    "autograded/",
    ".grading",
)
# Output that runs in the browser of whoever opens the graded notebook or its feedback.
SCRIPT_WORDS = ("<script", "javascript:")
# Printed phrases that imitate the checks' verdict (the checks print their own).
FAKE_RESULT_WORDS = ("tests passed", "test passed", "all tests")
# IPython magics with nothing to hide: the code of %time/%timeit is analysed like any other.
CODE_MAGICS = frozenset({"time", "timeit"})
# IPython's option string for %timeit (IPython/core/magics/execution.py): its statement is what
# remains, exactly as IPython's own option parser leaves it.
TIMEIT_OPTIONS = "n:r:tcp:qov:"
HARMLESS_LINE_MAGICS = frozenset({"matplotlib"})
HELP_MAGICS = frozenset({"pinfo", "pinfo2"})
CONFIG_PREFIX = "InlineBackend."
