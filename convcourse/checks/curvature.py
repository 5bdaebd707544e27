"""Lesson 05, the curvature of the loss: the largest learning rate gradient descent survives.

The summed squared error ℓ(K) = Σ (X ⋆ K − Y)² is a quadratic in the kernel's entries: with A
the matrix whose rows are the windows of X, ℓ = ‖A k − y‖², its Hessian is H = 2 AᵀA, and a
step of gradient descent multiplies the error along each eigenvector of H by 1 − η λ.  The
error shrinks in every direction exactly when η < 2 / λ_max.  ``lr_limit(X, kernel_shape)``
returns that bound; the judge computes it from the eigenvalues of H in float64 and names the
usual slips (a factor 2 lost on either side, the smallest eigenvalue, the mean loss).
"""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.inputs import decimals, small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import number
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.images import edge_image

__all__ = ["LR_LIMIT", "check_lr_limit"]

SECTION = "curvature"
#: Relative tolerance on the limit (float32 eigenvalues are good to about 1e-6).
RTOL = 1e-3


def _cases(seed, hidden):
    gen, rnd = case_random(seed, "lr-limit")
    if hidden:
        shapes = [
            ((rnd.randint(5, 9), rnd.randint(5, 9)), (rnd.randint(1, 3), rnd.randint(2, 3)))
            for _ in range(3)
        ]
        images = [
            torch.rand(shapes[0][0], generator=gen),
            decimals(gen, shapes[1][0], scale=1.0),
            small_ints(gen, shapes[2][0], 0, 4),
        ]
    else:
        shapes = [((6, 7), (2, 2)), ((5, 8), (1, 3)), ((7, 6), (3, 2))]
        images = [
            torch.rand(shapes[0][0], generator=gen),
            decimals(gen, shapes[1][0], scale=1.0),
            small_ints(gen, shapes[2][0], 0, 4),
        ]
    kinds = ("positive_image", "signed_image", "int_pixels")
    cases = [
        Case(kind, {"X": X, "kernel_shape": k}, ("non-square",))
        for kind, X, (_, k) in zip(kinds, images, shapes, strict=True)
    ]
    if not hidden:
        lesson = Case("lr_lesson", {"X": edge_image(), "kernel_shape": (1, 2)}, ("lesson",))
        cases.insert(0, lesson)
    return cases


def _probe(objs, case, limit):
    fn = objs["lr_limit"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    X = case.data["X"].clone()
    call = call_student(fn, X, tuple(case.data["kernel_shape"]), limit=limit)
    value = call.value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.detach().reshape(()).to("cpu")
    return {
        "call": call.facts(),
        "output": describe(value),
        "modified": inputs_modified({"X": case.data["X"]}, {"X": X.detach()}),
    }


def _eigenvalues(X: torch.Tensor, k_shape) -> torch.Tensor:
    """The eigenvalues of H = 2 AᵀA, A the (positions × kernel entries) matrix of windows."""
    k_h, k_w = k_shape
    A = dg.as_float(X).unfold(0, k_h, 1).unfold(1, k_w, 1).reshape(-1, k_h * k_w)
    return torch.linalg.eigvalsh(2 * A.T @ A)


def _as_number(out: dict) -> float | None:
    if out["kind"] == "number" and not isinstance(out.get("value"), bool):
        return float(out["value"])
    if out["kind"] == "tensor" and out.get("tensor") is not None and out["tensor"].numel() == 1:
        T = out["tensor"]
        return None if T.is_complex() or T.dtype == torch.bool else float(T.item())
    return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * abs(b)


def _judge(case, obs):
    symbol = "lr_limit"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    X, k = case.data["X"], tuple(case.data["kernel_shape"])
    context = dg.case_text(case, ["X", "kernel_shape"])
    problem = dg.call_problem(obs["call"], symbol, context=context, section=SECTION)
    if problem:
        return problem
    out = obs["output"]
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section=SECTION)
    got = _as_number(out)
    if got is None:
        shown = out.get("repr", out.get("value", out["type"]))
        return dg.wrong_type(symbol, out["type"], shown, t("want.number"), context, section=SECTION)
    problem = dg.modified_problem(obs["modified"], symbol, context=context, section=SECTION)
    if problem:
        return problem
    lam = _eigenvalues(X, k)
    expected = 2 / float(lam.max())
    shown = (
        context
        + "\n"
        + t("detail.lr_limit", expected=number(expected), got=number(got), top=number(lam.max()))
    )
    if got != got or got in (float("inf"), float("-inf")):
        return Verdict.failure("nan_output", shown, section=SECTION)
    if _close(got, expected):
        return Verdict.ok()
    n_out = (X.shape[0] - k[0] + 1) * (X.shape[1] - k[1] + 1)
    variants = [
        ("lr_limit_half", expected / 2),
        ("hessian_factor", 2 * expected),
        ("mean_instead_of_sum", expected * n_out),
    ]
    if float(lam.min()) > 1e-9 * float(lam.max()):
        variants.append(("lr_smallest_curvature", 2 / float(lam.min())))
    if k[0] != k[1]:
        swapped = X.shape[0] >= k[1] and X.shape[1] >= k[0]
        if swapped:
            variants.append(("swapped_hw", 2 / float(_eigenvalues(X, k[::-1]).max())))
    for key, value in variants:
        if _close(got, value) and not _close(value, expected):
            return Verdict.failure(key, shown, section=SECTION)
    return Verdict.failure("wrong_values", shown, section=SECTION)


LR_LIMIT = Exercise(
    id="lr-limit",
    lesson=SECTION,
    symbols=("lr_limit",),
    make_cases=_cases,
    probe_case=_probe,
    judge_case=_judge,
    time_limit=10.0,
    check_name="check_lr_limit",
    forbids=EXERCISE_RULES["lr-limit"],
)


def check_lr_limit(lr_limit, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``lr_limit(X, kernel_shape)``: 2 / λ_max of the Hessian of the summed squared error
    of corr2d(X, K) − Y with respect to K."""
    check(LR_LIMIT, {"lr_limit": lr_limit}, seed=seed, hidden=hidden)
