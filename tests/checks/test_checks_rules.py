"""The rules: one table (convcourse.checks.rules) that every exercise applies, and a recorder
that no bypass switches off quietly.

Every cheat below is an answer a student could hand in; the check must catch it.  The honest
answers of checks_impls.py are never flagged (test_checks_correct.py); a few honest habits that
come close to the recorder's business (a torch.device block, a helper thread) are checked here.
"""

from __future__ import annotations

import sys
import threading
import types
import warnings

import checks_impls as impl
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from d2l import torch as d2l
from scipy import ndimage, signal
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import convcourse.checks as checks
from convcourse.checks import (
    EXERCISES,
    GRADED_EXERCISES,
    MISCONCEPTION_KEYS,
    CheckFailed,
    rules,
)
from convcourse.checks.calls import call_student

ALL = GRADED_EXERCISES
S, L, M, A = rules.SHIPPED, rules.LIBRARY_CONV, rules.CONV_MODULE, rules.AUTOGRAD

# The course's table (common brief), written out again: the code must agree with it.
COURSE_TABLE = {
    "param-counts": {S},
    "dense-layer": {S, L},
    "dense-weight": {S, L},
    "conv1x1": {S, L},
    "output-shape": {S},
    "corr2d": {S, L},
    "convolve2d": {S, L},
    "corr2d-fast": {S, L},
    "corr2d-speed-pass": {S, L},
    "corr2d-speed-full": {S, L},
    "corr2d-matmul": {S, L},
    "corr1d": {S, L},
    "convolve1d": {S, L},
    "conv2d-layer": {S, M},
    "kernel-grad": {S, A},
    "input-grad": {S, A},
    "receptive-field": {S},
    "horizontal-kernel": {S},
    "diagonal-edges": {S, L},
    "second-derivative": {S},
    "min-kernel-size": {S},
    "integral-kernel": {S},
    "blur-kernel": {S},
    "directional-kernel": {S},
    "train-loop": {S},
    "lr-limit": {S},
    "recover-kernel": {S},
}


def _python_dispatch_off() -> bool:
    return bool(torch._C._dispatch_tls_is_dispatch_key_excluded(torch._C.DispatchKey.Python))


def _hooks() -> tuple:
    return (
        sys.getprofile(),
        sys.gettrace(),
        threading.getprofile(),
        torch._C._len_torch_function_stack(),
        torch._C._len_torch_dispatch_stack(),
        torch._C._is_torch_function_enabled(),
        _python_dispatch_off(),
    )


@pytest.fixture(autouse=True)
def leaves_the_interpreter_as_it_was():
    """Whatever a cheat did to the hooks and stacks, the check puts them back."""
    before = _hooks()
    yield
    assert _hooks() == before


# --- the table ----------------------------------------------------------------------------------


def test_every_exercise_applies_the_course_table():
    assert set(ALL) == set(COURSE_TABLE) == set(rules.EXERCISE_RULES)
    for exercise_id, exercise in ALL.items():
        assert exercise.forbids == COURSE_TABLE[exercise_id], exercise_id
        assert exercise.forbids == rules.EXERCISE_RULES[exercise_id]
        assert exercise.forbids <= set(rules.RULE_NAMES)


def test_every_rule_has_a_statement_and_a_verdict():
    for rule in rules.RULE_NAMES:
        assert rules.statement(rule) and rules.MISCONCEPTIONS[rule] in MISCONCEPTION_KEYS
    text = rules.rules_text(rules.EXERCISE_RULES["corr2d"])
    assert text.startswith("Rules: write it yourself") and "d2l.corr2d" in text
    assert "F.conv1d/conv2d/conv3d" in text and "scipy" in text
    assert rules.rules_text(()) == ""


def test_the_tables_name_the_entry_points():
    assert {"conv2d", "convolution", "_convolution", "conv_transpose2d"} <= (
        rules.TORCH_CONV_FUNCTIONS
    )
    assert {"Conv2d", "LazyConv2d", "ConvTranspose2d"} <= rules.CONV_MODULE_CLASSES
    assert "correlate2d" in rules.SCIPY_CONV_FUNCTIONS["scipy.signal"]
    assert "correlate" in rules.SCIPY_CONV_FUNCTIONS["scipy.ndimage"]
    assert rules.NUMPY_CONV_FUNCTIONS == {"convolve", "correlate"}
    for name in ("aten.convolution.default", "aten.mkldnn_convolution", "_convolve2d", "conv2d"):
        assert rules.is_conv_op_name(name), name
    for name in ("aten._convert_indices_from_coo_to_csr.default", "aten.mm", "unfold", "fft_rfft2"):
        assert not rules.is_conv_op_name(name), name
    for name in ("corr2d", "SGD.step", "Trainer.fit", "HPOTrainer.fit", "train_ch6", "sgd"):
        assert rules.is_d2l_shipped(name), name
    for name in ("try_gpu", "Timer.stop", "plot", "Animator.add", "Module.train_x"):
        assert not rules.is_d2l_shipped(name), name
    assert {"conv2d", "Conv2d", "correlate2d", "convolve"} <= rules.FORBIDDEN_ATTRIBUTES[L]
    assert {"backward", "grad"} <= rules.FORBIDDEN_ATTRIBUTES[A]


def test_the_tables_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        rules.EXERCISE_RULES["corr2d"] = frozenset()  # type: ignore[index]
    with pytest.raises(AttributeError):
        rules.TORCH_CONV_FUNCTIONS.clear()  # type: ignore[attr-defined]


# --- cheats -------------------------------------------------------------------------------------


def _4d(X, K):
    return X[None, None].double(), K[None, None].double()


def corr2d_disabled_torch_function(X, K):
    with torch._C.DisableTorchFunction():
        return F.conv2d(*_4d(X, K))[0, 0]


def corr2d_popped_modes(X, K):
    """Pops every torch function mode (the recorder's too) and leaves them popped."""
    while torch._C._len_torch_function_stack():
        torch._C._pop_torch_function_stack()
    return F.conv2d(*_4d(X, K))[0, 0]


def corr2d_popped_and_pushed_back(X, K):
    popped = []
    while torch._C._len_torch_function_stack():
        popped.append(torch._C._pop_torch_function_stack())
    try:
        return F.conv2d(*_4d(X, K))[0, 0]
    finally:
        for mode in reversed(popped):
            torch._C._push_on_torch_function_stack(mode)


def corr2d_aten(X, K):
    args = (None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    return torch.ops.aten.convolution(*_4d(X, K), *args)[0, 0]


def corr2d_aten_overload(X, K):
    args = (None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    return torch.ops.aten.convolution.default(*_4d(X, K), *args)[0, 0]


def corr2d_private_convolution(X, K):
    args = (None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)
    return torch._convolution(*_4d(X, K), *args)[0, 0]


def corr2d_torch_convolution(X, K):
    return torch.convolution(*_4d(X, K), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)[0, 0]


def corr2d_no_python_dispatch(X, K):
    with torch._C._DisableTorchDispatch():
        return F.conv2d(*_4d(X, K))[0, 0]


def corr2d_nothing_but_the_operator(X, K):
    """Torch function handling and Python dispatch off, the operator called directly."""
    args = (None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    with torch._C.DisableTorchFunction(), torch._C._DisableTorchDispatch():
        return torch.ops.aten.convolution.default(*_4d(X, K), *args)[0, 0]


def corr2d_modes_disabled(X, K):
    from torch.utils._python_dispatch import _disable_current_modes

    with _disable_current_modes():
        return F.conv2d(*_4d(X, K))[0, 0]


def _conv(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    return torch.conv2d(X, K)


with warnings.catch_warnings():  # torch.jit.script is deprecated; it still runs
    warnings.simplefilter("ignore", FutureWarning)
    _SCRIPTED = torch.jit.script(_conv)


def corr2d_scripted(X, K):
    """TorchScript runs the convolution in C++, without a Python call of it."""
    return _SCRIPTED(*_4d(X, K))[0, 0]


def corr2d_in_a_thread(X, K):
    box = {}
    worker = threading.Thread(target=lambda: box.update(Y=F.conv2d(*_4d(X, K))[0, 0]))
    worker.start()
    worker.join()
    return box["Y"]


def corr2d_in_a_raw_thread(X, K):
    import _thread

    box, done = {}, threading.Event()

    def work():
        box["Y"] = F.conv2d(*_4d(X, K))[0, 0]
        done.set()

    _thread.start_new_thread(work, ())
    done.wait(5)
    return box["Y"]


def corr2d_profile_swapped(X, K):
    """Removes the profile function, convolves, and puts it back."""
    saved = sys.getprofile()
    sys.setprofile(None)
    try:
        with torch._C._DisableTorchDispatch():
            return F.conv2d(*_4d(X, K))[0, 0]
    finally:
        sys.setprofile(saved)


class _Lazy(torch.Tensor):
    """A tensor whose torch functions run its own code later, when the check reads it."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return super().__torch_function__(func, types, args, kwargs or {})


def corr2d_lazy_result(X, K):
    return impl.corr2d_shifts(X, K).as_subclass(_Lazy)


def corr2d_numpy(X, K):
    x, k = X.double().numpy(), K.double().numpy()
    rows = [
        sum(np.correlate(x[i + a], k[a], mode="valid") for a in range(k.shape[0]))
        for i in range(x.shape[0] - k.shape[0] + 1)
    ]
    return torch.tensor(np.array(rows))


def corr2d_ndimage(X, K):
    out = ndimage.correlate(X.double().numpy(), K.double().numpy(), mode="constant")
    return torch.as_tensor(out[: X.shape[0] - K.shape[0] + 1, : X.shape[1] - K.shape[1] + 1])


def corr2d_fft(X, K):
    x, k = X.double().numpy(), np.flip(K.double().numpy())
    return torch.as_tensor(signal.fftconvolve(x, k, mode="valid").copy())


class Conv2DLazyInAList(nn.Module):
    """An nn.LazyConv2d kept in a plain list (not a registered submodule)."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))
        self.helpers = [nn.LazyConv2d(1, kernel_size, bias=False)]

    def forward(self, x):
        conv = self.helpers[0]
        conv(x[None, None])
        with torch.no_grad():
            conv.weight.copy_(self.weight[None, None])
        return F.conv2d(x[None, None], self.weight[None, None])[0, 0] + self.bias


class Conv2DScripted(impl.Conv2D):
    """An nn.Conv2d compiled by TorchScript: its forward runs in C++."""

    def __init__(self, kernel_size):
        super().__init__(kernel_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            self.conv = torch.jit.script(nn.Conv2d(1, 1, kernel_size, bias=False))

    def forward(self, x):
        self.conv(x[None, None])
        return impl.corr2d_shifts(x, self.weight) + self.bias


_OUTSIDE = nn.Conv2d(1, 1, 1)


class Conv2DModuleOutside(impl.Conv2D):
    """Runs an nn.Conv2d that is not one of its attributes."""

    def forward(self, x):
        _OUTSIDE(x[None, None])
        return impl.corr2d_shifts(x, self.weight) + self.bias


def _course_conv2d():
    from convcourse.instructor.reference.layers import Conv2D

    class Conv2DCourse(Conv2D):
        pass

    return Conv2DCourse


def _d2l_module_conv2d():
    class Conv2DOnD2l(d2l.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(kernel_size))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return impl.corr2d_shifts(x, self.weight) + self.bias

    return Conv2DOnD2l


def kernel_grad_hidden_autograd(X, dY):
    K = torch.zeros((X.shape[0] - dY.shape[0] + 1, X.shape[1] - dY.shape[1] + 1))
    K.requires_grad_(True)
    with torch._C.DisableTorchFunction():
        (grad,) = torch.autograd.grad((impl.corr2d_shifts(X, K) * dY).sum(), [K])
    return grad


def kernel_grad_functorch(X, dY):
    def loss(K):
        return (impl.corr2d_shifts(X, K) * dY).sum()

    shape = (X.shape[0] - dY.shape[0] + 1, X.shape[1] - dY.shape[1] + 1)
    return torch.func.grad(loss)(torch.zeros(shape))


def train_d2l_sgd(X, Y, K_init, lr, num_epochs):
    K = K_init.clone().requires_grad_(True)
    losses = []
    for _ in range(num_epochs):
        loss = ((impl.corr2d_shifts(X, K) - Y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        d2l.sgd([K], lr, 1)
    return K.detach(), losses


def train_checks_helper(X, Y, K_init, lr, num_epochs):
    from convcourse.checks import lesson5

    return lesson5._expected_training(X, Y, K_init, lr, num_epochs)


def recover_with_d2l(X, Y, kernel_shape):
    K = torch.zeros(kernel_shape, requires_grad=True)
    opt = torch.optim.Adam([K], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        sum(((d2l.corr2d(x, K) - y) ** 2).sum() for x, y in zip(X, Y, strict=True)).backward()
        opt.step()
    return K.detach()


def dense_weight_checks_helper(V, input_shape):
    from convcourse.checks import lesson1

    return lesson1._expected_weight(V, input_shape)


CHEATS = [
    # shipped code
    ("corr2d", d2l.corr2d, "shipped_code"),
    ("corr2d", impl.corr2d_d2l, "shipped_code"),
    ("corr2d", impl.corr2d_course, "shipped_code"),
    ("corr2d-matmul", impl.kernel_matrix_checks_helper, "shipped_code"),
    ("dense-weight", dense_weight_checks_helper, "shipped_code"),
    ("blur-kernel", impl.blur_gallery_gaussian, "shipped_code"),
    ("train-loop", train_d2l_sgd, "shipped_code"),
    ("train-loop", train_checks_helper, "shipped_code"),
    ("recover-kernel", recover_with_d2l, "shipped_code"),
    # library convolutions, whatever the entry point
    ("corr2d", corr2d_disabled_torch_function, "library_conv"),
    ("corr2d", corr2d_aten, "library_conv"),
    ("corr2d", corr2d_aten_overload, "library_conv"),
    ("corr2d", corr2d_private_convolution, "library_conv"),
    ("corr2d", corr2d_torch_convolution, "library_conv"),
    ("corr2d", corr2d_no_python_dispatch, "library_conv"),
    ("corr2d", corr2d_nothing_but_the_operator, "library_conv"),
    ("corr2d", corr2d_scripted, "library_conv"),
    ("corr2d", corr2d_in_a_thread, "library_conv"),
    ("corr2d", corr2d_numpy, "library_conv"),
    ("corr2d", corr2d_ndimage, "library_conv"),
    ("convolve2d", corr2d_fft, "library_conv"),
    ("corr2d-fast", impl.corr2d_scipy, "library_conv"),
    ("corr2d-fast", corr2d_no_python_dispatch, "library_conv"),
    ("corr2d-speed-pass", impl.corr2d_scipy, "library_conv"),
    # switching the recorder off
    ("corr2d", corr2d_popped_modes, "recorder_tampered"),
    ("corr2d", corr2d_popped_and_pushed_back, "recorder_tampered"),
    ("corr2d", corr2d_modes_disabled, "recorder_tampered"),
    ("corr2d", corr2d_profile_swapped, "recorder_tampered"),
    ("corr2d", impl.corr2d_profile_off, "recorder_tampered"),
    ("corr2d", corr2d_in_a_raw_thread, "recorder_tampered"),
    ("corr2d", corr2d_lazy_result, "recorder_tampered"),
    # autograd where the gradient is to be derived by hand
    ("kernel-grad", impl.kernel_grad_autograd, "used_autograd"),
    ("kernel-grad", kernel_grad_hidden_autograd, "used_autograd"),
    ("kernel-grad", kernel_grad_functorch, "used_autograd"),
    # convolution modules in the layer
    ("conv2d-layer", impl.Conv2DSubclass, "library_conv"),
    ("conv2d-layer", impl.Conv2DLibrary, "library_conv"),
    ("conv2d-layer", Conv2DLazyInAList, "library_conv"),
    ("conv2d-layer", Conv2DModuleOutside, "library_conv"),
    ("conv2d-layer", Conv2DScripted, "library_conv"),
    ("conv2d-layer", _course_conv2d(), "shipped_code"),
    ("conv2d-layer", _d2l_module_conv2d(), "shipped_code"),
]


def _fails(exercise_id: str, answer, **kw) -> CheckFailed:
    exercise = ALL[exercise_id]
    check = getattr(checks, exercise.check_name)
    args = [answer] + (["pass"] if exercise_id.startswith("corr2d-speed") else [])
    with pytest.raises(CheckFailed) as info:
        check(*args, **kw)
    return info.value


@pytest.mark.parametrize(
    "exercise_id, answer, key",
    CHEATS,
    ids=[f"{e}:{getattr(a, '__name__', type(a).__name__)}" for e, a, _ in CHEATS],
)
def test_the_check_catches_the_cheat(exercise_id, answer, key):
    failure = _fails(exercise_id, answer)
    assert failure.misconception == key, str(failure)


@pytest.mark.parametrize("exercise_id, answer, key", CHEATS[:12], ids=lambda v: str(v)[:30])
def test_hidden_checks_catch_it_too_and_say_what_ran(exercise_id, answer, key):
    failure = _fails(exercise_id, answer, seed=5, hidden=True)
    assert failure.misconception == key
    assert "The rule:" in str(failure)


def test_the_message_names_what_ran_and_the_rule():
    text = str(_fails("corr2d", impl.corr2d_d2l))
    assert "d2l.corr2d" in text and "nothing that ships with the course or d2l" in text
    text = str(_fails("corr2d", corr2d_disabled_torch_function))
    assert "torch.nn.functional.conv2d" in text and "no library convolution" in text
    text = str(_fails("corr2d", corr2d_aten))
    assert "torch.ops.aten.convolution" in text
    text = str(_fails("corr2d", impl.corr2d_profile_off))
    assert "sys.setprofile was called" in text and "cannot be trusted" in text
    text = str(_fails("conv2d-layer", impl.Conv2DSubclass))
    assert "nn.Conv2d" in text and "F.conv2d" in text  # and that F.conv2d is allowed


# --- hooks and modes present before the call ----------------------------------------------------


class _Mode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


class _DispatchMode(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # no torch._dynamo wrapper (a slow import)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _tracer(frame, event, arg):
    return None


@pytest.mark.parametrize("hook", ["settrace", "setprofile", "function_mode", "dispatch_mode"])
def test_a_foreign_hook_makes_the_result_untrusted(hook):
    if hook == "settrace":
        sys.settrace(_tracer)
    elif hook == "setprofile":
        sys.setprofile(_tracer)
    mode = {"function_mode": _Mode, "dispatch_mode": _DispatchMode}.get(hook)
    entered = mode() if mode else None
    if entered is not None:
        entered.__enter__()
    try:
        outcome = EXERCISES["corr2d"].run({"corr2d": impl.corr2d_loop})
    finally:
        if entered is not None:
            entered.__exit__(None, None, None)
        sys.settrace(None)
        sys.setprofile(None)
    assert outcome.verdict.misconception == "recorder_tampered", outcome.verdict.message
    assert "was active" in outcome.verdict.message or "on its stack" in outcome.verdict.message


def test_torch_function_handling_switched_off_beforehand():
    guard = torch._C.DisableTorchFunction()
    guard.__enter__()
    try:
        outcome = EXERCISES["corr2d"].run({"corr2d": impl.corr2d_loop})
    finally:
        guard.__exit__(None, None, None)
    assert outcome.verdict.misconception == "recorder_tampered"


def test_the_records_survive_emptied_tables(monkeypatch):
    """Emptying every table of the checks' modules (``calls._TRACED = frozenset()`` and the
    like) before the probes changes no record: judged where the tables are intact (as the grader
    judges, outside the submission's process), the cheat is still named."""
    import importlib

    exercise = EXERCISES["corr2d"]
    cases = exercise.cases()
    names = ["calls", "recorder", "rules", "diagnose", "core", "lesson2"]
    modules = [importlib.import_module(f"convcourse.checks.{n}") for n in names]
    modules.append(importlib.import_module("convcourse.oracle"))
    monkeypatch.setattr(modules[0], "_TRACED", frozenset(), raising=False)
    for module in modules:
        for attr, value in list(vars(module).items()):
            if attr.startswith("__"):
                continue
            if isinstance(value, types.MappingProxyType):
                monkeypatch.setattr(module, attr, types.MappingProxyType({}))
            elif type(value) in (set, frozenset, dict, list, tuple):
                monkeypatch.setattr(module, attr, type(value)())
    observations = [
        exercise.probe({"corr2d": corr2d_disabled_torch_function}, case) for case in cases
    ]
    monkeypatch.undo()
    assert exercise.grade(cases, observations).misconception == "library_conv"


# --- honest habits ------------------------------------------------------------------------------


def corr2d_device_block(X, K):
    with torch.device("cpu"):
        return impl.corr2d_loop(X, K)


def corr2d_with_helper_thread(X, K):
    """A helper thread that only waits (like a progress bar's monitor)."""
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        return impl.corr2d_shifts(X, K)
    finally:
        stop.set()
        helper.join()


@pytest.mark.parametrize("answer", [corr2d_device_block, corr2d_with_helper_thread])
def test_honest_habits_are_not_flagged(answer):
    outcome = EXERCISES["corr2d"].run({"corr2d": answer})
    assert outcome.verdict.passed, outcome.verdict.message


def test_a_default_device_is_not_a_foreign_hook():
    torch.set_default_device("cpu")  # pushes torch's own DeviceContext mode
    try:
        outcome = EXERCISES["corr2d"].run({"corr2d": impl.corr2d_loop})
    finally:
        torch.set_default_device(None)
    assert outcome.verdict.passed, outcome.verdict.message


def test_library_convolutions_are_allowed_where_the_rules_allow_them():
    for exercise_id, objs in (
        ("conv2d-layer", {"Conv2D": impl.Conv2DFunctional}),
        ("train-loop", {"train_kernel": impl.train_kernel_sgd}),
        ("kernel-grad", {"kernel_grad": corr2d_disabled_torch_function}),
    ):
        outcome = ALL[exercise_id].run(objs)
        assert outcome.verdict.passed, outcome.verdict.message


def test_a_record_is_plain_data_and_names_every_layer():
    call = call_student(corr2d_disabled_torch_function, torch.rand(4, 4), torch.rand(2, 2), limit=5)
    record = call.facts()["record"]
    assert set(record) == {
        "library",
        "shipped",
        "modules",
        "autograd",
        "recorder_disabled",
        "foreign_hook",
    }
    assert "aten.convolution" in record["library"]  # the dispatch mode
    assert "torch.conv2d" in record["library"]  # the profile function
    assert record["recorder_disabled"] == [] and record["foreign_hook"] == []
    untraced = call_student(
        impl.corr2d_loop, torch.rand(4, 4), torch.rand(2, 2), limit=5, trace=False
    )
    assert untraced.facts()["record"] is None


def _hangs_with_the_recorder_half_off(X, K):
    with torch._C._DisableTorchDispatch(), torch._C.DisableTorchFunction():
        while True:
            pass


def test_a_time_out_leaves_no_hook_behind():
    from convcourse.checks import time_limit_override

    with time_limit_override(0.3):
        outcome = EXERCISES["corr2d"].run({"corr2d": _hangs_with_the_recorder_half_off})
    assert outcome.verdict.misconception == "timeout"  # and the fixture finds the hooks clean


def test_a_recording_in_another_thread_sets_no_process_wide_hook():
    box = {}

    def worker():
        box["call"] = call_student(corr2d_in_a_thread, torch.rand(4, 4), torch.rand(2, 2), limit=5)
        box["inside"] = threading.getprofile()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert box["inside"] is None and box["call"].ok
    assert box["call"].record["recorder_disabled"] == []
