"""Student code that raises, hangs, floods the output or returns garbage gets a clear message,
and no exception ever escapes from inside convcourse."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import torch
from torch import nn

import convcourse.checks as checks
from convcourse.checks import EXERCISES, MISCONCEPTION_KEYS, CheckFailed, time_limit_override
from convcourse.checks.calls import call_student


class Evil:
    """An object that breaks whatever a checker might try on it."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError("evil attribute")

    def __repr__(self):
        raise RuntimeError("evil repr")

    def __eq__(self, other):
        raise RuntimeError("evil eq")

    def __len__(self):
        raise RuntimeError("evil len")

    def __iter__(self):
        raise RuntimeError("evil iter")

    __hash__ = object.__hash__


def raises(*args):
    raise ValueError("boom in student code")


def not_written(*args):
    raise NotImplementedError()


def hangs(*args):
    while True:
        pass


def swallows(*args):
    while True:
        try:
            time.sleep(0.05)
        except:  # noqa: E722 - the point: a bare except around the loop body
            pass


def floods(*args):
    for i in range(6000):
        print("debug line", i)
    return None


def returns_text(*args):
    return "garbage"


def returns_numpy(*args):
    return np.zeros((2, 2))


def returns_odd_shape(*args):
    return torch.zeros((1, 7, 3))


def returns_nan(*args):
    return torch.full((2, 2), float("nan"))


def returns_evil(*args):
    return Evil()


def exits(*args):
    sys.exit(3)


def _objs(exercise_id: str, behaviour):
    """The student's objects for ``exercise_id``, each behaving like ``behaviour``."""
    ex = EXERCISES[exercise_id]
    if exercise_id == "conv2d-layer":

        class Conv2D(nn.Module):
            def __init__(self, kernel_size):
                super().__init__()
                self.weight = nn.Parameter(torch.rand(kernel_size))
                self.bias = nn.Parameter(torch.zeros(1))

            def forward(self, X):
                return behaviour(X)

        return {"Conv2D": Conv2D}
    if exercise_id == "horizontal-kernel":
        return {"K_horizontal": behaviour}
    return {symbol: behaviour for symbol in ex.symbols}


FUNCTION_EXERCISES = [e for e in EXERCISES if e != "horizontal-kernel"]


def _fail(exercise_id, behaviour, **kw):
    check = getattr(checks, EXERCISES[exercise_id].check_name)
    objs = _objs(exercise_id, behaviour)
    with pytest.raises(CheckFailed) as info:
        check(*objs.values(), **kw)
    failure = info.value
    assert failure.misconception in MISCONCEPTION_KEYS
    assert failure.misconception != "internal_error", str(failure)
    return failure


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_raising_code_gets_its_error_and_line(exercise_id):
    failure = _fail(exercise_id, raises)
    text = str(failure)
    assert failure.misconception in {"raised", "breaks_autograd"}
    assert "ValueError: boom in student code" in text
    assert 'raise ValueError("boom in student code")' in text  # the student's line


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_placeholder_says_not_written_yet(exercise_id):
    assert _fail(exercise_id, not_written).misconception == "not_implemented"


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_hanging_code_hits_the_time_limit(exercise_id):
    start = time.monotonic()
    with time_limit_override(0.2):
        failure = _fail(exercise_id, hangs)
    assert failure.misconception == "timeout"
    assert "did not return within 0.2 s" in str(failure)
    assert time.monotonic() - start < 5


def test_code_that_swallows_the_timeout_is_still_stopped():
    start = time.monotonic()
    with time_limit_override(0.2):
        failure = _fail("corr2d", swallows)
    assert failure.misconception == "timeout"
    assert time.monotonic() - start < 5
    assert sys.gettrace() is None


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_a_flood_of_prints_is_cut_short(exercise_id, capsys):
    failure = _fail(exercise_id, floods)
    text = str(failure)
    assert "debug line 0" in text
    assert "debug line 5999" not in text
    assert "only the beginning is shown" in text
    assert len(text) < 8000
    assert "debug line" not in capsys.readouterr().out  # captured, not echoed


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
@pytest.mark.parametrize(
    "behaviour",
    [returns_text, returns_numpy, returns_odd_shape, returns_nan, returns_evil, exits],
)
def test_garbage_gets_a_clear_message(exercise_id, behaviour):
    failure = _fail(exercise_id, behaviour)
    assert str(failure).strip()
    if behaviour is exits:
        assert failure.misconception == "raised" and "SystemExit" in str(failure)


@pytest.mark.parametrize(
    "value, key",
    [
        # The released notebook sets the value to None until the student answers.
        (None, "not_implemented"),
        ("garbage", "wrong_type"),
        (np.array([[1.0], [-1.0]]), "not_a_tensor"),
        (Evil(), "wrong_type"),
        (torch.zeros((2, 1, 1)), "wrong_shape"),
        (torch.full((2, 1), float("nan")), "nan_output"),
        (torch.ones((20, 1)), "wrong_shape"),
    ],
    ids=["none", "str", "numpy", "evil", "3d", "nan", "too_big"],
)
def test_garbage_kernel_value(value, key):
    with pytest.raises(CheckFailed) as info:
        checks.check_horizontal_edge_kernel(value)
    assert info.value.misconception == key, str(info.value)


@pytest.mark.parametrize(
    "returned, key",
    [
        (None, "returned_none"),
        ("garbage", "wrong_type"),
        (np.zeros((3, 4)), "not_a_tensor"),
        ([[0.0]], "not_a_tensor"),
        (torch.zeros(5), "wrong_shape"),
    ],
)
def test_corr2d_garbage_is_named(returned, key):
    with pytest.raises(CheckFailed) as info:
        checks.check_corr2d(lambda X, K: returned)
    assert info.value.misconception == key, str(info.value)


def test_passing_a_result_instead_of_the_function():
    with pytest.raises(CheckFailed) as info:
        checks.check_corr2d(torch.zeros((2, 2)))
    assert info.value.misconception == "wrong_type"
    assert "Pass the function itself" in str(info.value)


def test_a_missing_symbol_is_named_not_defined():
    ex = EXERCISES["corr2d"]
    case = ex.cases()[0]
    obs = ex.probe({}, case)
    verdict = ex.judge(case, obs)
    assert verdict.misconception == "not_defined"
    assert "corr2d" in verdict.message


def test_a_judge_bug_becomes_internal_error_not_a_traceback():
    ex = EXERCISES["corr2d"]
    case = ex.cases()[0]
    verdict = ex.judge(case, {"call": "not what a probe returns"})
    assert verdict.misconception == "internal_error"
    assert "instructor" in verdict.message


def test_missing_super_init_in_a_module():
    class Conv2D(nn.Module):
        def __init__(self, kernel_size):
            self.weight = nn.Parameter(torch.rand(kernel_size))

    with pytest.raises(CheckFailed) as info:
        checks.check_conv2d_layer(Conv2D)
    assert info.value.misconception == "raised"
    assert "Module.__init__" in str(info.value)


def test_call_student_restores_alarm_and_streams():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    timer_before, _ = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout may have one
    stdout = sys.stdout
    call = call_student(hangs, limit=0.1)
    assert call.timed_out and not call.ok
    assert signal.getsignal(signal.SIGALRM) is before
    timer_after, _ = signal.getitimer(signal.ITIMER_REAL)
    assert (timer_after == 0.0) if timer_before == 0.0 else (0 < timer_after <= timer_before)
    assert sys.stdout is stdout


def test_call_student_keeps_an_outer_timer():
    import signal

    old_handler = signal.signal(signal.SIGALRM, lambda *a: None)
    old_timer = signal.setitimer(signal.ITIMER_REAL, 30.0)
    try:
        call_student(lambda: 1, limit=1.0)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < left <= 30.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signal.signal(signal.SIGALRM, old_handler)


def test_time_limit_in_a_worker_thread():
    """Away from the main thread there is no SIGALRM: a thread and a join with a timeout."""
    import threading

    box = {}
    # The hung call cannot be killed in a thread: it must end by itself after the test, or it
    # would spin for the rest of the session and slow every later test (timings above all).
    stop = threading.Event()

    def hangs_until_stopped():
        while not stop.is_set():
            pass

    def worker():
        box["call"] = call_student(hangs_until_stopped, limit=0.2)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        thread.join(10)
        assert box["call"].timed_out
    finally:
        stop.set()


def test_student_warnings_are_captured_as_output():
    import warnings

    def noisy():
        warnings.warn("student warning", UserWarning, stacklevel=1)
        return 1

    call = call_student(noisy, limit=1.0)
    assert "UserWarning: student warning" in call.printed["head"]


def test_keyboard_interrupt_is_not_swallowed():
    def interrupted(X, K):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_corr2d(interrupted)
