"""What a student's call ran: library convolutions, shipped code, autograd, and whether the
record can be trusted.

``Recording`` is a context manager around one student call.  Three independent layers write
into a record that belongs to that call alone:

- a torch function mode (``TorchFunctionMode``) sees the torch functions the code calls by name:
  ``F.conv2d`` and the other convolutions, and the operations that cut the autograd graph
  (``.item()``, ``.detach()``, ``torch.no_grad()``...) that the messages name;
- a dispatch mode (``TorchDispatchMode``) sees every aten operator that runs, whatever the entry
  point (``torch.ops.aten.convolution``, ``torch._convolution``, inside
  ``torch._C.DisableTorchFunction()`` or after the torch function modes were popped) and records
  those whose name says convolution.  It costs about 15 µs per operator, so it watches only for
  exercises whose rules forbid library convolutions (``rules_in_force``, set by
  ``Exercise.probe``; everywhere else library convolutions are allowed);
- a profile function (``sys.setprofile``) sees every Python function and every compiled
  function that runs: code of the ``convcourse`` package (anything but the recorder's own
  frames), d2l's shipped implementations (``d2l.corr2d``, ``d2l.SGD``, ``d2l.Trainer``...),
  scipy's and numpy's correlation functions, compiled convolution entry points (``torch.conv2d``
  even with Python dispatch switched off), autograd entry points, and calls that switch a
  recorder off (``sys.setprofile``, ``sys.settrace``, popping torch's mode stacks).

After the call the recorder checks that it was still in force (its modes on top of their stacks,
its profile function installed, torch function handling and Python dispatch enabled) and
records ``recorder_disabled`` otherwise; a trace or profile function, a torch function or
dispatch mode already present before the call is recorded as ``foreign_hook``.  Either way the
stacks and hooks are put back as they were before the call.

Nothing here is a table a notebook can empty to stop the recording: the names to look for are
copied from ``convcourse.checks.rules`` into closures when this module is imported, and every
record is a fresh object reachable only from the call that made it.  Code that can rewrite the
interpreter's memory (ctypes) can defeat any in-process recorder; the grader's static scan
reports the means.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import os
import sys
import threading
import types
from collections import Counter

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from convcourse.checks import rules
from convcourse.checks.messages import TEXT_EN

__all__ = ["Recording", "describe_class", "rules_in_force"]


def _forms(path: str | None) -> tuple[str, ...]:
    """A path as written and with its links resolved: code objects name their file as it was
    imported, and comparing strings costs no system call in the profile function."""
    if not path:
        return ()
    return tuple(dict.fromkeys((os.path.abspath(path), os.path.realpath(path))))


def _package_dirs(name: str) -> tuple[str, ...]:
    """The folder of an installed package (both forms, with a trailing separator), found
    without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return ()
    locations = getattr(spec, "submodule_search_locations", None) if spec else None
    if not locations:
        return ()
    return tuple(os.path.join(d, "") for d in _forms(list(locations)[0]))


def _make():
    """Build the recorder with everything it looks for held in closures (see the docstring)."""
    here = os.path.dirname(__file__)
    # The recorder's own frames (this module, and calls.py: the time limit, the captured output).
    own_files = frozenset(_forms(__file__) + _forms(os.path.join(here, "calls.py")))
    convcourse_dirs = tuple(os.path.join(d, "") for d in _forms(os.path.dirname(here)))
    torch_dirs = _package_dirs("torch")
    d2l_dirs = _package_dirs("d2l")
    scipy_dirs = _package_dirs("scipy")
    numpy_dirs = _package_dirs("numpy")
    threading_files = frozenset(_forms(threading.__file__))
    contextlib_files = frozenset(_forms(contextlib.__file__))
    conv_classes = tuple(
        v
        for v in vars(torch.nn.modules.conv).values()
        if isinstance(v, type)
        and issubclass(v, torch.nn.Module)
        and v.__module__ == rules.CONV_MODULE_PATH
    )
    # Copies of the rules' tables, and the tests written out here: a function of another module
    # called while the student's code runs would itself be recorded (it is convcourse code).
    conv_fragments = tuple(rules.CONV_NAME_FRAGMENTS)
    not_conv_fragments = tuple(rules.ATEN_NOT_CONV_FRAGMENTS)
    d2l_heads = rules.D2L_SHIPPED_NAMES | rules.D2L_TRAINER_SUBCLASSES
    d2l_prefixes = tuple(rules.D2L_SHIPPED_PREFIXES)
    torch_conv = rules.TORCH_CONV_FUNCTIONS
    scipy_conv = {
        mod.split(".", 1)[1] + "/": names for mod, names in rules.SCIPY_CONV_FUNCTIONS.items()
    }
    numpy_conv = rules.NUMPY_CONV_FUNCTIONS
    autograd_functions = rules.AUTOGRAD_FUNCTIONS
    library_conv = rules.LIBRARY_CONV
    # What the record says when it cannot be trusted: the catalogue's English templates, copied
    # (a record is a fact in one language; the judge shows it in the student's, see diagnose).
    reason = {k.split(".", 1)[1]: v for k, v in TEXT_EN.items() if k.startswith("reason.")}
    # Names the torch function mode reports under ``calls`` (the messages' autograd causes).
    # Property getters are recorded with a leading dot (".data", ".grad").
    tf_call_names = frozenset(
        {
            "item",
            "detach",
            "detach_",
            "numpy",
            "tolist",
            "__float__",
            "__int__",
            "__array__",
            ".data",
            "backward",
            "grad",
            "_set_grad_enabled",
            "requires_grad_",
        }
    )
    max_names = 40  # distinct names per record, so that a record stays small whatever ran
    hook_builtins = frozenset({"setprofile", "settrace"})
    hook_threading = frozenset(
        {"setprofile", "settrace", "setprofile_all_threads", "settrace_all_threads"}
    )
    stack_builtins = frozenset(
        {
            "_pop_torch_function_stack",
            "_pop_torch_dispatch_stack",
            "_push_on_torch_function_stack",
            "_push_on_torch_dispatch_stack",
            "_set_torch_function_mode",
            "_set_dispatch_mode",
            "_unset_dispatch_mode",
        }
    )
    stack_python = frozenset(
        {"_pop_mode", "_pop_mode_temporarily", "_disable_current_modes", "_disable_user_modes"}
    )
    stack_files = frozenset({"overrides.py", "utils/_python_dispatch.py"})
    op_calls = frozenset({"OpOverloadPacket.__call__", "OpOverload.__call__"})
    thread_builtins = frozenset({"start_new_thread", "start_joinable_thread", "_start_new_thread"})
    python_key = torch._C.DispatchKey.Python
    key_excluded = torch._C._dispatch_tls_is_dispatch_key_excluded
    tf_enabled = torch._C._is_torch_function_enabled
    tf_len, tf_at = torch._C._len_torch_function_stack, torch._C._get_function_stack_at
    tf_push, tf_pop = torch._C._push_on_torch_function_stack, torch._C._pop_torch_function_stack
    td_len, td_at = torch._C._len_torch_dispatch_stack, torch._C._get_dispatch_stack_at
    td_push, td_pop = torch._C._push_on_torch_dispatch_stack, torch._C._pop_torch_dispatch_stack
    getprofile, setprofile, gettrace = sys.getprofile, sys.setprofile, sys.gettrace
    thread_getprofile, thread_setprofile = threading.getprofile, threading.setprofile
    thread_gettrace = threading.gettrace
    unseen = object()
    conv_names = frozenset(c.__name__ for c in conv_classes)
    plain_tensor_types = (torch.Tensor, torch.nn.Parameter, torch.nn.parameter.Buffer)

    def is_conv(name: str) -> bool:
        lowered = name.lower()
        if any(bad in lowered for bad in not_conv_fragments):
            return False
        return any(part in lowered for part in conv_fragments)

    def is_d2l_shipped(qualname: str) -> bool:
        head = qualname.split(".", 1)[0]
        return head in d2l_heads or ("." not in qualname and head.startswith(d2l_prefixes))

    def below(filename: str, dirs: tuple[str, ...]) -> str | None:
        """``filename`` relative to the first of ``dirs`` it lies in (with / separators)."""
        for d in dirs:
            if filename.startswith(d):
                return filename[len(d) :].replace(os.sep, "/")
        return None

    def convcourse_name(rel: str, qualname: str) -> str:
        module = "convcourse/" + (rel[:-3] if rel.endswith(".py") else rel)
        module = module.replace("/", ".").removesuffix(".__init__")
        return f"{module}.{qualname.split('.<locals>')[0]}"

    class _Record:
        """One call's record; plain data comes out of ``facts``."""

        def __init__(self):
            self.calls: Counter = Counter()
            self.library: Counter = Counter()
            self.shipped: Counter = Counter()
            self.modules: Counter = Counter()
            self.autograd: Counter = Counter()
            self.disabled: list[str] = []
            self.foreign: list[str] = []

        @staticmethod
        def add(counter: Counter, name: str) -> None:
            if name in counter or len(counter) < max_names:
                counter[name] += 1

        def facts(self) -> dict:
            return {
                "library": dict(self.library),
                "shipped": dict(self.shipped),
                "modules": dict(self.modules),
                "autograd": dict(self.autograd),
                "recorder_disabled": list(dict.fromkeys(self.disabled)),
                "foreign_hook": list(dict.fromkeys(self.foreign)),
            }

    class _FunctionRecorder(TorchFunctionMode):
        """Torch functions by name: convolutions, autograd, and what cuts the graph."""

        def __init__(self, record: _Record):
            super().__init__()
            self._record = record

        def __torch_function__(self, func, types, args=(), kwargs=None):
            try:
                name = getattr(func, "__name__", "")
                if name == "__get__":
                    name = "." + getattr(getattr(func, "__self__", None), "__name__", "?")
                if name in tf_call_names:
                    record = self._record
                    if name == "_set_grad_enabled":
                        if args and args[0] is False:
                            record.calls["no_grad"] += 1
                    else:
                        record.calls[name] += 1
                    if name in ("backward", "grad", ".grad", "requires_grad_"):
                        record.add(record.autograd, name)
                elif name == ".grad":
                    self._record.add(self._record.autograd, ".grad")
                elif name in torch_conv:
                    self._record.add(self._record.library, "torch." + name)
            except Exception:  # never let the record break the student's call
                pass
            return func(*args, **(kwargs or {}))

    class _DispatchRecorder(TorchDispatchMode):
        """Every aten operator that runs; convolutions are recorded."""

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # No torch._dynamo wrapper around __torch_dispatch__: it costs a slow import of
            # torch._dynamo (seconds) and a lot of time on every operator.
            return False

        def __init__(self, record: _Record):
            super().__init__()
            self._record = record
            self._seen: dict = {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            try:
                # By id: hashing an operator runs Python code (slow under the profile function);
                # the value keeps the operator alive, so its id is not reused.
                seen = self._seen.get(id(func))
                if seen is None:
                    name = str(func)
                    seen = (func, name.rsplit(".", 1)[0] if is_conv(name) else None)
                    self._seen[id(func)] = seen
                if seen[1] is not None:
                    self._record.add(self._record.library, seen[1])
            except Exception:
                pass
            return func(*args, **kwargs) if kwargs else func(*args)

    def classify_code(code):
        """(kind, name) for a Python function worth recording, or None."""
        filename = code.co_filename
        if filename in own_files or code.co_name == "<module>":
            return None
        qualname = getattr(code, "co_qualname", code.co_name)
        rel = below(filename, convcourse_dirs)
        if rel is not None:
            return ("shipped", convcourse_name(rel, qualname))
        if below(filename, d2l_dirs) is not None:
            if is_d2l_shipped(qualname):
                return ("shipped", "d2l." + qualname.split(".<locals>")[0])
            return None
        top = qualname == code.co_name
        rel = below(filename, torch_dirs)
        if rel is not None:
            if rel == "nn/modules/conv.py":
                head, _, method = qualname.partition(".")
                if method in ("forward", "_conv_forward"):
                    return ("module", "nn." + head)
                return None
            if rel == "_ops.py" and qualname in op_calls:
                return ("op", None)
            if rel == "_tensor.py" and qualname == "Tensor.backward":
                return ("autograd", "Tensor.backward")
            if top and code.co_name in autograd_functions:
                if rel.startswith("autograd/"):
                    return ("autograd", "torch.autograd." + code.co_name)
                if rel.startswith("_functorch/"):
                    return ("autograd", "torch.func." + code.co_name)
            if rel in stack_files and code.co_name in stack_python:
                return ("stack", "torch " + code.co_name)
            return None
        rel = below(filename, scipy_dirs)
        if rel is not None:
            for sub, names in scipy_conv.items():
                if top and rel.startswith(sub) and code.co_name in names:
                    return ("library", f"scipy.{sub[:-1]}.{code.co_name}")
            return None
        if top and code.co_name in numpy_conv and below(filename, numpy_dirs) is not None:
            return ("library", "numpy." + code.co_name)
        if filename in threading_files and code.co_name in hook_threading:
            return ("hook", "threading." + code.co_name)
        return None

    def c_module(fn) -> str:
        module = getattr(fn, "__module__", None)
        if module:
            return str(module)
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, types.ModuleType):
            return owner.__name__
        return type(owner).__module__ if owner is not None else ""

    def classify_c(name: str):
        if name in hook_builtins:
            return "hook"
        if name in stack_builtins:
            return "stack"
        if name in thread_builtins:
            return "thread"
        if is_conv(name):
            return "conv"
        return None

    def caller_file(frame) -> str:
        return frame.f_code.co_filename if frame is not None else ""

    def with_site(frame) -> str:
        """The file of the code that called ``frame``, looking through ``contextlib`` (a
        ``with f():`` of a generator-based context manager enters it from contextlib)."""
        caller = frame.f_back
        while caller is not None and caller.f_code.co_filename in contextlib_files:
            caller = caller.f_back
        return caller_file(caller)

    def in_torch(filename: str) -> bool:
        return below(filename, torch_dirs) is not None

    def make_profile(record: _Record, active: list):
        codes: dict = {}
        names: dict = {}

        def on_code(frame, kind, name):
            if kind == "shipped":
                record.add(record.shipped, name)
            elif kind == "library":
                record.add(record.library, name)
            elif kind == "module":
                record.add(record.modules, name)
            elif kind == "autograd":
                record.add(record.autograd, name)
            elif kind == "op":
                op = frame.f_locals.get("self")
                op_name = str(getattr(op, "_qualified_op_name", None) or getattr(op, "_name", ""))
                if is_conv(op_name):
                    record.add(record.library, "torch.ops." + op_name.replace("::", "."))
            elif kind == "hook":
                if with_site(frame) not in own_files:
                    record.disabled.append(reason["called"].format(name=name))
            elif kind == "stack":
                caller = with_site(frame)
                if not in_torch(caller) and caller not in own_files:
                    record.disabled.append(reason["mode_stack"].format(name=name))

        def on_c(frame, fn, name, kind):
            where = caller_file(frame)
            if where in own_files:
                return
            module = c_module(fn)
            if kind == "conv":
                root = module.split(".", 1)[0]
                if root in ("torch", "numpy", "scipy"):
                    shown = module.replace("torch._ops.", "torch.ops.")
                    record.add(record.library, f"{shown}.{name}")
            elif kind == "hook":
                if module == "sys":
                    record.disabled.append(reason["called"].format(name=f"sys.{name}"))
            elif kind == "stack":
                if not in_torch(where):
                    record.disabled.append(reason["mode_stack"].format(name=f"torch._C.{name}"))
            elif kind == "thread":
                if where not in threading_files:
                    record.disabled.append(reason["raw_thread"].format(name=f"_thread.{name}"))

        def profile(frame, event, arg):
            if not active[0]:
                return
            try:
                if event == "call":
                    code = frame.f_code
                    hit = codes.get(code, unseen)
                    if hit is unseen:
                        hit = classify_code(code)
                        codes[code] = hit
                    if hit is not None:
                        on_code(frame, *hit)
                elif event == "c_call":
                    name = getattr(arg, "__name__", None)
                    if type(name) is not str:
                        return
                    kind = names.get(name, unseen)
                    if kind is unseen:
                        kind = classify_c(name)
                        names[name] = kind
                    if kind is not None:
                        on_c(frame, arg, name, kind)
            except Exception:  # an exception here would switch profiling off: never raise
                pass

        return profile

    def python_dispatch_off() -> bool:
        try:
            return bool(key_excluded(python_key))
        except Exception:
            return False

    def device_context():
        module = sys.modules.get("torch.utils._device")
        return getattr(module, "DeviceContext", None)

    def stack(length, at) -> list:
        return [at(i) for i in range(length())]

    def same_modes(now: list, expected: list) -> bool:
        # Identity, not ==: a mode's own __eq__ must not decide.
        return len(now) == len(expected) and all(a is b for a, b in zip(now, expected, strict=True))

    def restore(length, at, push, pop, before, ours) -> None:
        """Empty the stack, exit ``ours`` properly (its bookkeeping), push ``before`` back."""
        while length():
            pop()
        push(ours)
        try:
            ours.__exit__(None, None, None)
        finally:
            while length():
                pop()
            for mode in before:
                push(mode)

    in_force: contextvars.ContextVar = contextvars.ContextVar("convcourse_rules", default=None)

    @contextlib.contextmanager
    def rules_in_force(forbids):
        """Inside the block, recordings serve an exercise with the rules ``forbids``: the
        dispatch mode (the costly layer, about 15 µs per operator) only watches when
        ``library_conv`` is among them.  Outside any block every layer watches."""
        token = in_force.set(frozenset(forbids))
        try:
            yield
        finally:
            in_force.reset(token)

    def dispatch_needed() -> bool:
        rules_now = in_force.get()
        return rules_now is None or library_conv in rules_now

    class Recording:
        """Record what one student call runs (see the module docstring).

        ``with Recording() as rec: fn(...)``, then ``rec.facts()`` (plain data) and
        ``rec.calls`` (torch functions by name, for the messages).  ``alarm_fired`` is set by
        the caller when its time limit interrupted the call (an interrupted profile function
        is switched off by Python itself, which is no sign of tampering).  ``dispatch``: with
        the dispatch mode (default: when the rules in force forbid library convolutions).
        """

        def __init__(self, dispatch: bool | None = None):
            self._record = _Record()
            self._active = [False]
            self._profile = make_profile(self._record, self._active)
            self._tf = _FunctionRecorder(self._record)
            self._td = _DispatchRecorder(self._record)
            self._dispatch = dispatch_needed() if dispatch is None else bool(dispatch)
            self.alarm_fired = False

        @property
        def calls(self) -> dict:
            return dict(self._record.calls)

        def facts(self) -> dict:
            return self._record.facts()

        def check_result(self, value) -> None:
            """A tensor subclass in the result (other than nn.Parameter) runs its own code when
            the check reads it, after the recording: recorded as ``recorder_disabled``."""
            values = [value]
            if type(value) in (list, tuple):
                values += list(value)[:16]
            elif type(value) is dict:
                values += list(value.values())[:16]
            for v in values:
                kind = type(v)
                try:  # the type's own attributes, not what a metaclass would answer
                    mro = type.__dict__["__mro__"].__get__(kind)
                    name = type.__dict__["__name__"].__get__(kind)
                except Exception:
                    continue
                if torch.Tensor in mro and kind not in plain_tensor_types:
                    self._record.disabled.append(reason["tensor_subclass"].format(name=name))

        def __enter__(self):
            record = self._record
            if gettrace() is not None:
                record.foreign.append(reason["trace_active"])
            if getprofile() is not None:
                record.foreign.append(reason["profile_active"])
            if thread_gettrace() is not None or thread_getprofile() is not None:
                record.foreign.append(reason["thread_hooks"])
            allowed = device_context()
            self._tf_before = stack(tf_len, tf_at)
            for mode in self._tf_before:
                if allowed is None or type(mode) is not allowed:
                    record.foreign.append(reason["function_mode"].format(name=type(mode).__name__))
            self._td_before = stack(td_len, td_at)
            for mode in self._td_before:
                record.foreign.append(reason["dispatch_mode"].format(name=type(mode).__name__))
            if not tf_enabled():
                record.foreign.append(reason["function_off"])
            if python_dispatch_off():
                record.foreign.append(reason["dispatch_off"])
            self._previous = (getprofile(), thread_getprofile())
            # Threads started by the call get the profile function too; only from the main
            # thread, since the setting is the whole process's.
            self._threads = threading.current_thread() is threading.main_thread()
            self._tf.__enter__()
            if self._dispatch:
                self._td.__enter__()
            self._active[0] = True
            if self._threads:
                thread_setprofile(self._profile)
            setprofile(self._profile)
            return self

        def __exit__(self, *exc):
            installed = getprofile()
            setprofile(self._previous[0])
            if self._threads:
                thread_setprofile(self._previous[1])
            self._active[0] = False
            record = self._record
            if installed is not self._profile and not self.alarm_fired:
                record.disabled.append(reason["profile_removed"])
            if not tf_enabled():
                record.disabled.append(reason["function_off"])
            if python_dispatch_off():
                record.disabled.append(reason["dispatch_off"])
            tf_now = stack(tf_len, tf_at)
            if same_modes(tf_now, [*self._tf_before, self._tf]):
                self._tf.__exit__(None, None, None)
            else:
                record.disabled.append(reason["function_modes_changed"])
                restore(tf_len, tf_at, tf_push, tf_pop, self._tf_before, self._tf)
            td_now = stack(td_len, td_at)
            if not self._dispatch:
                if not same_modes(td_now, self._td_before):
                    record.disabled.append(reason["dispatch_modes_changed"])
                    while td_len():
                        td_pop()
                    for mode in self._td_before:
                        td_push(mode)
            elif same_modes(td_now, [*self._td_before, self._td]):
                self._td.__exit__(None, None, None)
            else:
                record.disabled.append(reason["dispatch_modes_changed"])
                restore(td_len, td_at, td_push, td_pop, self._td_before, self._td)
            return False

    def describe_class(cls, instance=None) -> dict:
        """What a class (and an instance of it) is made of, for the rules: shipped base classes
        (convcourse, d2l) and convolution modules as base classes or as parts."""
        shipped, conv_bases, parts = [], [], []
        try:
            mro = type.__dict__["__mro__"].__get__(cls) if isinstance(cls, type) else ()
        except Exception:
            mro = ()
        for base in mro:
            module = str(getattr(base, "__module__", "") or "")
            name = f"{module}.{getattr(base, '__qualname__', base.__name__)}"
            files = {
                v.__code__.co_filename
                for v in vars(base).values()
                if isinstance(v, types.FunctionType)
            }
            root = module.split(".", 1)[0]
            if root in ("convcourse", "d2l") or any(
                below(f, convcourse_dirs + d2l_dirs) is not None for f in files
            ):
                shipped.append(name)
            if any(base is c for c in conv_classes):
                conv_bases.append("nn." + base.__name__)
        if isinstance(instance, torch.nn.Module):
            found = []
            try:
                found += [m for m in instance.modules() if m is not instance]
            except Exception:
                pass
            try:  # parts kept outside the registered submodules (lists, dicts, plain attributes)
                for value in vars(instance).values():
                    if isinstance(value, list | tuple):
                        found += list(value)
                    elif isinstance(value, dict):
                        found += list(value.values())
                    else:
                        found.append(value)
            except Exception:
                pass
            names = set()
            for m in found:
                if isinstance(m, conv_classes):
                    names.add("nn." + type(m).__name__)
                elif isinstance(m, torch.jit.ScriptModule):  # a scripted nn.Conv2d runs in C++
                    original = str(getattr(m, "original_name", ""))
                    if original in conv_names:
                        names.add(f"nn.{original} (scripted)")
            parts = sorted(names)
        return {
            "shipped_bases": list(dict.fromkeys(shipped)),
            "conv_bases": list(dict.fromkeys(conv_bases)),
            "conv_parts": parts,
        }

    return Recording, describe_class, rules_in_force


Recording, describe_class, rules_in_force = _make()
