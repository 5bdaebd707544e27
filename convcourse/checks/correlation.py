"""The cross-correlation, checked: cases, probe and judge shared by every exercise whose answer
computes one (``corr2d``, ``corr2d_fast``, ``convolve2d`` in lesson 02, the ``Conv2D`` layer in
lesson 03, the 1-D and gradient exercises, and the speed checks' correctness call).

Expected values come from the library (``convcourse.oracle.xcorr2d``: F.conv2d in float64),
never from a course answer; the judge names the usual mistakes (a flipped kernel, an off-by-one
output, integer truncation, a broken gradient, ...).
"""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Verdict
from convcourse.checks.inputs import (
    VISIBLE_SHAPES,
    by_size,
    decimals,
    example_k,
    example_x,
    lesson_edge,
    random_shapes,
    shape_tags,
    small_ints,
)
from convcourse.checks.messages import t
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = ["correlation_cases", "probe_correlation", "judge_correlation"]

# The lesson section a failure points back to, unless the caller names another.
SECTION = "corr"


def correlation_cases(
    seed: int | None, hidden: bool, *, exercise_id: str, gradient: bool = False
) -> list[Case]:
    """The lesson's two examples, then every geometry (1x1 and full-size kernels, non-square
    inputs and kernels, a large image), an integer image and, with ``gradient``, a case whose
    kernel requires grad.  Hidden cases draw shapes and values from ``seed``."""
    gen, rnd = case_random(seed, exercise_id)
    X_edge, K_edge = lesson_edge()
    cases = [
        Case("lesson_example", {"X": example_x(), "K": example_k()}, ("lesson", "square")),
        Case("lesson_edge", {"X": X_edge, "K": K_edge}, ("lesson", "non-square")),
    ]
    shapes = random_shapes(rnd) if hidden else VISIBLE_SHAPES
    for kind, X_shape, K_shape in shapes:
        if hidden:
            dtype = rnd.choice((torch.float32, torch.float64))
            X, K = decimals(gen, X_shape, dtype), decimals(gen, K_shape, dtype)
        else:
            X, K = small_ints(gen, X_shape), small_ints(gen, K_shape)
        cases.append(Case(kind, {"X": X, "K": K}, shape_tags(X_shape, K_shape)))
    # An integer image with a kernel that has fractions: the output must not be truncated.
    X_shape = (rnd.randint(3, 5), rnd.randint(4, 6)) if hidden else (4, 5)
    X = torch.randint(0, 10, X_shape, generator=gen)
    K = torch.tensor([[0.5, -1.0], [0.25, 1.5]])
    if hidden:
        K = torch.randint(-6, 7, (2, 2), generator=gen) / 4 + 0.25
    cases.append(Case("int_image", {"X": X, "K": K}, ("non-square",)))
    if gradient:
        X_shape, K_shape = (
            ((rnd.randint(3, 5), rnd.randint(4, 6)), (2, 3))
            if hidden
            else (
                (4, 5),
                (2, 3),
            )
        )
        X, K = small_ints(gen, X_shape), small_ints(gen, K_shape)
        o = (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
        dY = small_ints(gen, o, -2, 3)
        cases.append(Case("gradient", {"X": X, "K": K, "dY": dY}, ("non-square",)))
    return by_size(cases)


def _expected_correlation(X: torch.Tensor, K: torch.Tensor, mode: str) -> torch.Tensor:
    """Cross-correlation (or true convolution), exact: float64 for floats, integers stay."""
    if mode == "conv":
        K = torch.flip(K, (0, 1))
    return xcorr2d(X, K)


# ---------------------------------------------------------------------------------------------
# Probe and judge of a function f(X, K) -> tensor


def probe_correlation(
    objs: dict, case: Case, limit: float, *, symbol: str, names=("X", "K"), gradient=False
):
    """Call ``symbol(*inputs)`` on fresh copies; record output, input changes and (with
    ``gradient``, for a case with ``dY``) the gradient that reaches the second input."""
    fn = objs[symbol]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    given = {n: case.data[n].clone() for n in names}
    before = {n: T.clone() for n, T in given.items()}
    dY = case.data.get("dY") if gradient else None
    grad_name = names[1]
    if dY is not None:
        given[grad_name].requires_grad_(True)
    call = call_student(fn, *(given[n] for n in names), limit=limit)
    after = {n: T.detach() for n, T in given.items()}
    obs = {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified(before, after),
    }
    if dY is not None:
        obs["grad"] = None
        Y = call.value
        if (
            call.ok
            and isinstance(Y, torch.Tensor)
            and Y.grad_fn is not None
            and Y.shape == dY.shape
        ):
            weights = dY.to(Y.dtype) if Y.is_floating_point() else dY

            def backward():
                (Y * weights).sum().backward()

            back = call_student(backward, limit=limit, trace=False)
            obs["backward"] = back.facts()
            G = given[grad_name].grad
            obs["grad"] = None if G is None else G.detach().to("cpu").clone()
    return obs


def judge_correlation(
    case: Case,
    obs: dict,
    *,
    symbol: str,
    names: tuple[str, str] = ("X", "K"),
    mode: str = "corr",
    section: str = SECTION,
    need_grad: bool = False,
) -> Verdict:
    """The output of ``symbol(X, K)`` against cross-correlation (``mode="corr"``) or true
    convolution (``mode="conv"``), with the known mistakes named.  (The exercise's rules were
    applied before, by ``Exercise.judge``.)"""
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    X, K = case.data[names[0]], case.data[names[1]]
    context = dg.case_text(case, list(names))
    call = obs["call"]
    problem = dg.call_problem(call, symbol, context=context, section=section, window_errors=True)
    if problem:
        return problem
    expected = _expected_correlation(X, K, mode)
    out = obs["output"]
    problem = dg.output_problem(out, symbol, context=context, section=section, expected=expected)
    if problem:
        return problem
    problem = dg.modified_problem(obs["modified"], symbol, context=context, section=section)
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=section, expected=expected, got=got)
    if tuple(got.shape) != tuple(expected.shape):
        key, detail, unsure = dg.shape_mistake(got.shape, X.shape, K.shape)
        return Verdict.failure(key, shown + "\n" + detail, section=section, tentative=unsure)
    if not dg.same(got, expected):
        named = dg.correlation_mistake(X, K, got, expected, mode=mode)
        key, detail, unsure = named if named else ("wrong_values", t("detail.wrong_values"), False)
        return Verdict.failure(
            key,
            shown + "\n" + detail,
            section=section,
            tentative=unsure,
            expected=expected,
            got=got,
        )
    if need_grad and "dY" in case.data:
        return _judge_gradient(case, obs, symbol, context, section)
    return Verdict.ok()


def _judge_gradient(case: Case, obs: dict, symbol: str, context: str, section: str) -> Verdict:
    X, dY = case.data["X"], case.data["dY"]
    context = dg.case_text(case, ["X", "K", "dY"])
    causes = dg.autograd_causes(obs["call"]["calls"])
    back = obs.get("backward")
    if back is not None and back["error"] is not None:
        detail = t(
            "detail.backward_error", type=back["error"]["type"], message=back["error"]["message"]
        )
        return Verdict.failure("breaks_autograd", context + "\n" + detail + causes, section="layer")
    if obs["grad"] is None:
        detail = t("detail.no_grad_fn", symbol=symbol)
        return Verdict.failure("breaks_autograd", context + "\n" + detail + causes, section="layer")
    expected = xcorr2d(dg.as_float(X), dg.as_float(dY))
    if not dg.same(obs["grad"], expected):
        detail = (
            t("detail.wrong_gradient", symbol=symbol)
            + "\n"
            + dg.expected_got(expected, obs["grad"])
        )
        return Verdict.failure("breaks_autograd", context + "\n" + detail + causes, section="layer")
    return Verdict.ok()
