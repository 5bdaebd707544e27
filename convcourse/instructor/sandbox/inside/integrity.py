"""Is this interpreter still as the zygote left it?  A snapshot taken before any student code
ran, and the check a probe process makes before it probes anything.

The zygote snapshots, after it preloaded torch and ``convcourse.checks``: the identity of every
builtin; which module object each name of ``sys.modules`` it cares about maps to; the identity
of every function, class and module attribute of those modules (torch, torch.Tensor,
torch.nn.functional, the checks, the grader's own modules).  A probe process is a fork of the
notebook process, in which the student's cells ran; before it runs a single check it compares.
A difference (a patched ``torch.allclose``, a replaced ``isinstance``, a swapped check), a
trace or profile hook, a torch function or dispatch mode left on its stack, torch function
handling switched off -- each is reported, in plain words, as evidence of tampering, and the
grader withholds the test's points for the instructor's review.

This cannot prove the absence of tampering (code that can rewrite memory could rewrite this
check too); it catches every way of changing the grader's behaviour through ordinary Python
objects, and the grader's static scan reports the means of anything deeper (SECURITY.md).
"""

from __future__ import annotations

import builtins
import sys

__all__ = ["Snapshot", "take", "check"]

#: Modules whose attributes the probes rely on; a missing one is skipped.
WATCHED_MODULES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.overrides",
    "torch.autograd",
    "torch.utils._python_dispatch",
    "numpy",
    "math",
    "time",
    "signal",
    "sys",
    "os",
    "json",
    "struct",
    "traceback",
    "linecache",
    "contextlib",
    "threading",
    # and every module of the course's own package loaded by then (see _course_modules)
)
#: The course's package: each of its modules loaded when the snapshot is taken is watched (the
#: zygote has imported all of ``convcourse.checks`` by then), so a new check module is covered
#: without being listed here.
COURSE_PACKAGE = "convcourse"
#: The exercise tables a probe looks its exercises up in (data, so not among the callables):
#: the table objects, their entries and every field of every entry are compared.
REGISTRIES = ("EXERCISES", "GRADED_EXERCISES", "SPEED_EXERCISES")
#: Classes whose methods the probes call.
WATCHED_CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.nn.Module", "torch.nn.Parameter")
# Builtins that IPython or the interpreter legitimately rebind between cells.
_VOLATILE_BUILTINS = frozenset(
    {
        "_",
        "__",
        "___",
        "exit",
        "quit",
        "copyright",
        "credits",
        "license",
        "help",
        "display",
        "get_ipython",
        "__IPYTHON__",
        "__debug__",
        "_ih",
        "_oh",
        "_dh",
    }
)


class Snapshot:
    """Identities, not copies: comparing is a pass over a few thousand ``is`` checks."""

    def __init__(self, extra_modules: tuple[str, ...] = ()):
        self.builtins = {k: v for k, v in vars(builtins).items() if k not in _VOLATILE_BUILTINS}
        self.modules: dict[str, object] = {}
        self.attrs: dict[str, dict[str, object]] = {}
        for name in (*WATCHED_MODULES, *_course_modules(), *extra_modules):
            module = sys.modules.get(name)
            if module is None:
                continue
            self.modules[name] = module
            self.attrs[name] = _callables(vars(module))
        for dotted in WATCHED_CLASSES:
            cls = _resolve(dotted)
            if cls is not None:
                self.attrs[dotted] = _callables(dict(vars(cls)))
        self.registries: dict[str, tuple[dict, dict, dict]] = {}
        checks = sys.modules.get(COURSE_PACKAGE + ".checks")
        for name in REGISTRIES:
            table = getattr(checks, name, None)
            if isinstance(table, dict):
                fields = {k: dict(vars(v)) for k, v in table.items() if hasattr(v, "__dict__")}
                self.registries[name] = (table, dict(table), fields)


def _course_modules() -> list[str]:
    prefix = COURSE_PACKAGE + "."
    return sorted(n for n in list(sys.modules) if n == COURSE_PACKAGE or n.startswith(prefix))


def _changed(now: dict, before: dict) -> bool:
    return now.keys() != before.keys() or any(now[k] is not v for k, v in before.items())


def _resolve(dotted: str):
    mod, _, attr = dotted.rpartition(".")
    module = sys.modules.get(mod)
    return getattr(module, attr, None) if module is not None else None


def _callables(table: dict) -> dict[str, object]:
    """The entries worth watching: functions, classes, modules and descriptors (not data)."""
    out = {}
    for key, value in table.items():
        if key.startswith("__") and key.endswith("__") and key not in ("__eq__", "__call__"):
            continue
        if callable(value) or type(value).__name__ in ("module", "getset_descriptor", "property"):
            out[key] = value
    return out


def _wrapped_by_torch(now, before) -> bool:
    """torch rebinds some of its own functions when a submodule loads (``torch._dynamo``
    wraps ``torch.manual_seed``): a wrapper of the original made by torch's own code."""
    if getattr(now, "__wrapped__", None) is not before:
        return False
    torch = sys.modules.get("torch")
    code = getattr(now, "__code__", None)
    if torch is None or code is None:
        return False
    import os

    return os.path.abspath(code.co_filename).startswith(
        os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "")
    )


def take(extra_modules: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(extra_modules)


def _hooks() -> list[str]:
    found = []
    if sys.gettrace() is not None:
        found.append("a trace function (sys.settrace) was installed")
    if sys.getprofile() is not None:
        found.append("a profile function (sys.setprofile) was installed")
    threading = sys.modules.get("threading")
    if threading is not None:
        if getattr(threading, "_trace_hook", None) is not None:
            found.append("a trace function for new threads (threading.settrace) was installed")
        if getattr(threading, "_profile_hook", None) is not None:
            found.append("a profile function for new threads was installed")
    torch = sys.modules.get("torch")
    if torch is not None:
        C = torch._C
        try:
            if not C._is_torch_function_enabled():
                found.append("torch function handling was switched off (DisableTorchFunction)")
            if C._len_torch_function_stack() > 0:
                found.append("a torch function mode was left active")
        except AttributeError:
            pass
        try:
            from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

            if _get_current_dispatch_mode_stack():
                found.append("a torch dispatch mode was left active")
        except (ImportError, AttributeError):
            pass
    return found


def check(snapshot: Snapshot, limit: int = 12) -> list[str]:
    """What differs from ``snapshot``, as plain sentences (at most ``limit`` of them)."""
    found = _hooks()
    table = vars(builtins)
    for key, value in snapshot.builtins.items():
        if table.get(key) is not value:
            found.append(f"the builtin {key} was replaced")
    for name, module in snapshot.modules.items():
        if sys.modules.get(name) is not module:
            found.append(f"the module {name} was replaced in sys.modules")
    checks = sys.modules.get(COURSE_PACKAGE + ".checks")
    for name, (table, entries, fields) in snapshot.registries.items():
        if getattr(checks, name, None) is not table or table.keys() != entries.keys():
            found.append(f"the exercise table convcourse.checks.{name} was replaced or changed")
            continue
        for key, value in entries.items():
            now = table[key]
            if now is not value or (key in fields and _changed(vars(now), fields[key])):
                found.append(f"the exercise {key!r} of convcourse.checks.{name} was changed")
    for where, entries in snapshot.attrs.items():
        live = _resolve(where) if where in WATCHED_CLASSES else snapshot.modules.get(where)
        if live is None:
            continue
        current = vars(live)
        for key, value in entries.items():
            now = current.get(key)
            if now is not value and not _wrapped_by_torch(now, value):
                found.append(f"{where}.{key} was replaced or removed")
                if len(found) >= limit:
                    return found
    return found[:limit]
