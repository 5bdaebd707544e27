"""Calling student code safely, and turning what came back into plain facts.

``call_student`` runs one call with a time limit, captures what it prints (keeping only the
beginning of a flood), records what it ran (``convcourse.checks.recorder``: library
convolutions, shipped code, autograd, and whether that record can be trusted), and never lets an
exception escape.  ``describe`` turns any returned object into plain data (the "observation" a
judge sees).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import linecache
import os
import signal
import sys
import sysconfig
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from convcourse.checks.messages import t
from convcourse.checks.recorder import Recording

__all__ = [
    "Call",
    "StudentTimeout",
    "call_student",
    "describe",
    "time_limit_override",
    "effective_limit",
    "inputs_modified",
    "error_facts",
]

#: Characters of printed output kept for the message; the rest is only counted.
PRINT_KEEP_CHARS = 1200

_LIMIT_OVERRIDE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "convcourse_checks_time_limit", default=None
)


@contextlib.contextmanager
def time_limit_override(seconds: float):
    """Use ``seconds`` as the limit of every student call inside the block (tests, instructors)."""
    if not seconds > 0:
        raise ValueError(f"a time limit must be positive, got {seconds!r}")
    token = _LIMIT_OVERRIDE.set(float(seconds))
    try:
        yield
    finally:
        _LIMIT_OVERRIDE.reset(token)


def effective_limit(default: float) -> float:
    """The time limit in force: an override if one is active, else ``default``."""
    override = _LIMIT_OVERRIDE.get()
    return default if override is None else override


class StudentTimeout(BaseException):
    """Raised inside student code when its time is up.

    A BaseException, so that a student's ``except Exception:`` does not swallow it.
    """


class _BoundedText(io.TextIOBase):
    """A text stream that keeps the first characters written and only counts the rest."""

    def __init__(self, keep: int = PRINT_KEEP_CHARS):
        super().__init__()
        self._keep = keep
        self._head: list[str] = []
        self._kept = 0
        self.chars = 0
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        self.chars += len(s)
        self.lines += s.count("\n")
        if self._kept < self._keep:
            piece = s[: self._keep - self._kept]
            self._head.append(piece)
            self._kept += len(piece)
        return len(s)

    @property
    def head(self) -> str:
        return "".join(self._head)


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are never the student's (torch, the standard library, us)."""
    dirs = {os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(path)
    return tuple(os.path.join(os.path.abspath(d), "") for d in dirs)


_LIBRARY_DIRS = _library_dirs()


def _is_student_frame(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return False
    return not os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def _short(text: str, limit: int = 400) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_facts(exc: BaseException) -> dict:
    """Type, message and the student's line where ``exc`` was raised, as plain data."""
    try:
        message = str(exc)
    except Exception:  # a student's exception class with a broken __str__
        message = t("render.no_error_message")
    facts = {"type": type(exc).__name__, "message": _short(message), "line": None, "code": None}
    try:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if _is_student_frame(f.filename)
        ]
    except Exception:
        frames = []
    if frames:
        where = frames[-1]
        code = where.line or linecache.getline(where.filename, where.lineno).strip()
        facts.update(line=where.lineno, code=_short(code, 160) or None, function=where.name)
    return facts


def _run_with_alarm(thunk, seconds: float, on_fire=None, guard=None):
    """Run ``thunk()`` in this (main) thread; SIGALRM interrupts it after ``seconds``.

    The alarm repeats every 0.2 s.  From the second one on, a line tracer raises as well, so
    that student code that swallows exceptions (``try: ... except: pass`` in a loop) is still
    stopped: the tracer's exception fires inside the ``except`` block and escapes it.
    ``on_fire()`` is called at the first alarm.  ``guard`` (a context manager: the recording)
    is entered before the alarm is armed and left after it is disarmed, so that a late alarm
    never interrupts it half way.
    """
    state = {"active": True, "fired": 0}
    previous_trace = sys.gettrace()

    def tracer(frame, event, arg):
        # Only on line events: raising on the "exception" event of the alarm's own exception
        # would switch tracing off before it is useful.
        if state["active"] and event == "line":
            raise StudentTimeout
        return tracer if state["active"] else None

    def on_alarm(signum, frame):
        if not state["active"]:
            return
        state["fired"] += 1
        if state["fired"] == 1 and on_fire is not None:
            on_fire()
        if state["fired"] > 1:
            sys.settrace(tracer)
            while frame is not None:
                frame.f_trace = tracer
                frame.f_trace_lines = True
                frame = frame.f_back
        raise StudentTimeout

    if guard is not None:
        guard.__enter__()
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    # A previous timer (pytest-timeout, say) is re-armed afterwards with the time it had left.
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    start = time.monotonic()
    try:
        try:
            try:
                return thunk(), None, False
            finally:
                state["active"] = False
        except StudentTimeout:
            state["active"] = False
            return None, None, True
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from student code included
            return None, exc, False
    finally:
        state["active"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if state["fired"] > 1:
            sys.settrace(previous_trace)
        if guard is not None:
            guard.__exit__(None, None, None)
        if old_delay > 0:
            left = max(old_delay - (time.monotonic() - start), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)


def _run_in_thread(thunk, seconds: float, on_fire=None, guard=None):
    """Run ``thunk()`` in a daemon thread and stop waiting after ``seconds``.

    Used where SIGALRM is unavailable (another thread, Windows).  A call that hangs keeps running
    in the background; the check reports it and carries on.  ``guard`` is entered and left in
    that thread (the recorder's hooks are per thread).
    """
    box: dict[str, Any] = {}

    def target():
        try:
            if guard is not None:
                guard.__enter__()
            try:
                box["value"] = thunk()
            finally:
                if guard is not None:
                    guard.__exit__(None, None, None)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="convcourse-student-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return None, None, True
    return box.get("value"), box.get("error"), False


@dataclass
class Call:
    """What happened when the student code was called once."""

    value: Any = None
    error: dict | None = None
    timed_out: bool = False
    seconds: float = 0.0
    limit: float = 0.0
    printed: dict = field(default_factory=lambda: {"chars": 0, "lines": 0, "head": ""})
    calls: dict = field(default_factory=dict)
    record: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def facts(self) -> dict:
        """Everything but the returned value, as plain data."""
        return {
            "ok": self.ok,
            "error": self.error,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 6),
            "limit": self.limit,
            "printed": dict(self.printed),
            "calls": dict(self.calls),
            "record": None if self.record is None else dict(self.record),
        }


def call_student(fn, *args, limit: float, trace: bool = True, **kwargs) -> Call:
    """Call ``fn(*args, **kwargs)`` with a time limit, captured output and a record of what ran
    (``trace``; see ``convcourse.checks.recorder``).

    Never raises (except KeyboardInterrupt): errors, time-outs and floods end up in the ``Call``.
    ``calls`` counts torch functions by name (for the messages), ``record`` holds what the
    rules look at (None when not traced).
    """
    limit = effective_limit(limit)
    out = _BoundedText()
    # One recording per call, reachable only from here: nothing a notebook can switch off.
    recording = Recording() if trace else None

    def thunk():
        return fn(*args, **kwargs)

    def fired():
        if recording is not None:
            recording.alarm_fired = True

    on_main = threading.current_thread() is threading.main_thread()
    runner = _run_with_alarm if on_main and hasattr(signal, "setitimer") else _run_in_thread
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(out))
        # Warnings raised by the student's code count as printed output, not as noise of ours.
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        value, exc, timed_out = runner(thunk, limit, fired, recording)
    for warning in caught[:20]:
        out.write(f"{warning.category.__name__}: {warning.message}\n")
    seconds = time.perf_counter() - start
    if recording is not None and not timed_out:
        recording.check_result(value)
    return Call(
        value=value,
        error=None if exc is None else error_facts(exc),
        timed_out=timed_out,
        seconds=seconds,
        limit=limit,
        printed={"chars": out.chars, "lines": out.lines, "head": out.head},
        calls={} if recording is None else recording.calls,
        record=None if recording is None else recording.facts(),
    )


def _safe_repr(value, limit: int = 120) -> str:
    try:
        return _short(repr(value), limit)
    except Exception:
        return f"<{type(value).__name__} object>"


def _tensor_facts(T: torch.Tensor) -> dict:
    facts = {
        "dtype": str(T.dtype).replace("torch.", ""),
        "device": str(T.device),
        "shape": [int(s) for s in T.shape],
        "requires_grad": bool(T.requires_grad),
        "grad_fn": type(T.grad_fn).__name__ if T.grad_fn is not None else None,
        "tensor": None,
    }
    try:
        copy = T.detach()
        if copy.layout != torch.strided:
            copy = copy.to_dense()
        facts["tensor"] = copy.to("cpu").clone().contiguous()
    except Exception:  # meta tensors and other exotic ones have no values to copy
        facts["tensor"] = None
    return facts


def describe(value) -> dict:
    """Plain-data facts about a returned object.

    ``kind`` is one of none, tensor, ndarray, list, tuple, number, str, module, other; arrays,
    lists and tuples of numbers also get ``tensor`` (their values as a CPU tensor) so a judge can
    say "right numbers, wrong type".
    """
    facts: dict[str, Any] = {"kind": "other", "type": type(value).__name__}
    if value is None:
        facts["kind"] = "none"
    elif isinstance(value, torch.Tensor):
        facts["kind"] = "tensor"
        facts.update(_tensor_facts(value))
    elif isinstance(value, bool):
        facts.update(kind="number", value=bool(value))
    elif isinstance(value, int):
        facts.update(kind="number", value=int(value))
    elif isinstance(value, float):
        facts.update(kind="number", value=float(value))
    elif isinstance(value, str):
        facts.update(kind="str", value=_short(value, 200))
    elif isinstance(value, torch.nn.Module):
        facts.update(kind="module", repr=_safe_repr(value))
    elif type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        facts["kind"] = "ndarray" if getattr(value, "ndim", 0) else "number"
        try:
            T = torch.as_tensor(value.copy())
            if facts["kind"] == "number":
                facts["value"] = T.item()
            else:
                facts.update(shape=[int(s) for s in T.shape], dtype=str(value.dtype), tensor=T)
        except Exception:
            facts["repr"] = _safe_repr(value)
    elif isinstance(value, list | tuple):
        facts.update(kind=type(value).__name__, length=len(value))
        try:
            facts["tensor"] = torch.tensor(value)
            facts["shape"] = [int(s) for s in facts["tensor"].shape]
        except Exception:
            facts["repr"] = _safe_repr(value)
    else:
        facts["repr"] = _safe_repr(value)
    return facts


def inputs_modified(before: dict[str, torch.Tensor], after: dict[str, Any]) -> list[str]:
    """Names of the tensors in ``after`` whose shape or values differ from ``before``."""
    changed = []
    for name, original in before.items():
        now = after.get(name)
        try:
            same = (
                isinstance(now, torch.Tensor)
                and now.shape == original.shape
                and now.dtype == original.dtype
                and bool(torch.equal(now.detach().to("cpu"), original))
            )
        except Exception:
            same = False
        if not same:
            changed.append(name)
    return changed
