"""Lesson 02, cross-correlation: output_shape, corr2d, corr2d_fast, kernel_matrix, convolve2d."""

from __future__ import annotations

from functools import partial

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.correlation import correlation_cases, judge_correlation, probe_correlation
from convcourse.checks.inputs import (
    VISIBLE_SHAPES,
    by_size,
    decimals,
    example_k,
    random_shapes,
    shape_tags,
    small_ints,
)
from convcourse.checks.messages import t
from convcourse.checks.render import shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = [
    "OUTPUT_SHAPE",
    "CORR2D",
    "CORR2D_FAST",
    "KERNEL_MATRIX",
    "CONVOLVE2D",
    "check_output_shape",
    "check_corr2d",
    "check_corr2d_fast",
    "check_kernel_matrix",
    "check_convolve2d",
]

SECTION = "corr"

# ---------------------------------------------------------------------------------------------
# output_shape(X_shape, K_shape)


def _shape_cases(seed, hidden):
    gen, rnd = case_random(seed, "output-shape")
    pairs = [
        ("lesson_example", (3, 3), (2, 2), ("lesson", "square")),
        ("lesson_edge", (6, 8), (1, 2), ("lesson", "non-square")),
    ]
    for kind, X_shape, K_shape in random_shapes(rnd) if hidden else VISIBLE_SHAPES:
        pairs.append((kind, X_shape, K_shape, shape_tags(X_shape, K_shape)))
    if hidden:
        n = rnd.randint(20, 300), rnd.randint(20, 300)
        pairs.append(("large_image", n, (rnd.randint(2, 9), rnd.randint(2, 9)), ("non-square",)))
    cases = [Case(kind, {"X_shape": x, "K_shape": k}, tags) for kind, x, k, tags in pairs]
    return sorted(cases, key=lambda c: c.data["X_shape"][0] * c.data["X_shape"][1])


def _probe_shape(objs, case, limit):
    fn = objs["output_shape"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, tuple(case.data["X_shape"]), tuple(case.data["K_shape"]), limit=limit)
    obs = {"call": call.facts(), "output": describe(call.value), "entries": None}
    value = call.value
    if isinstance(value, tuple | list):  # torch.Size is a tuple too
        obs["entries"] = [
            int(v) if isinstance(v, int) and not isinstance(v, bool) else describe(v)["type"]
            for v in value
        ]
    return obs


def _judge_shape(case, obs):
    symbol = "output_shape"
    problem = dg.callable_problem(obs, symbol, section="shape")
    if problem:
        return problem
    X_shape, K_shape = case.data["X_shape"], case.data["K_shape"]
    context = dg.case_text(case)
    problem = dg.call_problem(obs["call"], symbol, context=context, section="shape")
    if problem:
        return problem
    out = obs["output"]
    expected = (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
    entries = obs["entries"]
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section="shape")
    if entries is None or len(entries) != 2 or not all(isinstance(e, int) for e in entries):
        shown = out.get("repr", out.get("value", entries))
        return dg.wrong_type(
            symbol, out["type"], shown, t("want.shape_tuple"), context, section="shape"
        )
    got = tuple(entries)
    if got == expected:
        return Verdict.ok()
    key, detail, unsure = dg.shape_mistake(got, X_shape, K_shape)
    shown = t("detail.expected_got_inline", expected=expected, got=got)
    return Verdict.failure(
        key, context + "\n" + shown + "\n" + detail, section="shape", tentative=unsure
    )


# ---------------------------------------------------------------------------------------------
# kernel_matrix(K, X_shape)


def _expected_kernel_matrix(K: torch.Tensor, X_shape) -> torch.Tensor:
    """M of shape (o_h*o_w, n_h*n_w), float64, with ``M @ X.reshape(-1) == corr2d(X, K)
    .reshape(-1)``: column p of M is the cross-correlation of the p-th unit image (one library
    cross-correlation of all of them at once)."""
    n_h, n_w = X_shape
    units = torch.eye(n_h * n_w, dtype=torch.float64).reshape(n_h * n_w, n_h, n_w)
    return xcorr2d(units, dg.as_float(K)).reshape(n_h * n_w, -1).T.contiguous()


def _matrix_cases(seed, hidden):
    gen, rnd = case_random(seed, "corr2d-matmul")
    cases = [Case("lesson_example", {"K": example_k(), "X_shape": (3, 3)}, ("lesson", "square"))]
    shapes = random_shapes(rnd)[:-1] if hidden else VISIBLE_SHAPES[:-1]
    for kind, X_shape, K_shape in shapes:
        K = decimals(gen, K_shape) if hidden else small_ints(gen, K_shape)
        cases.append(Case(kind, {"K": K, "X_shape": tuple(X_shape)}, shape_tags(X_shape, K_shape)))
    return by_size(cases)


def _probe_matrix(objs, case, limit):
    fn = objs["kernel_matrix"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    K = case.data["K"].clone()
    call = call_student(fn, K, tuple(case.data["X_shape"]), limit=limit)
    return {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified({"K": case.data["K"]}, {"K": K}),
    }


def _matrix_variants(K: torch.Tensor, X_shape):
    """What the usual mistakes would return, as (key, detail key, matrix)."""
    n_h, n_w = X_shape
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = _expected_kernel_matrix(K, X_shape)
    R, C = M.shape
    by_cols = M.reshape(R, n_h, n_w).transpose(1, 2).reshape(R, C)
    by_rows = M.reshape(o_h, o_w, C).transpose(0, 1).reshape(R, C)
    both = by_cols.reshape(o_h, o_w, C).transpose(0, 1).reshape(R, C)
    return [
        (
            "flipped_kernel",
            "detail.flipped_both",
            _expected_kernel_matrix(torch.flip(K, (0, 1)), X_shape),
        ),
        ("flatten_order", "detail.flatten_columns", by_cols),
        ("flatten_order", "detail.flatten_rows", by_rows),
        ("flatten_order", "detail.flatten_both", both),
    ]


def _judge_matrix(case, obs):
    symbol, section = "kernel_matrix", "matmul"
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    K, X_shape = case.data["K"], tuple(case.data["X_shape"])
    context = dg.case_text(case)
    call = obs["call"]
    problem = dg.call_problem(call, symbol, context=context, section=section, window_errors=True)
    if problem:
        return problem
    expected = _expected_kernel_matrix(K, X_shape)
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
        return Verdict.failure("nan_output", shown, section=section)
    R, C = expected.shape
    n_h, n_w = X_shape
    k_h, k_w = K.shape
    if tuple(got.shape) != (R, C):
        g = tuple(got.shape)
        o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
        if g == (C, R):
            key, detail = "transposed_matrix", t("detail.matrix_transposed")
        elif len(g) == 4 and g == (o_h, o_w, n_h, n_w):
            key, detail = "wrong_shape", t("detail.matrix_4d")
        elif (
            len(g) == 2
            and g[1] == C
            and g[0]
            in {
                (o_h - 1) * (o_w - 1),
                (o_h + 1) * (o_w + 1),
                (o_h - 1) * o_w,
                o_h * (o_w - 1),
                (o_h + 1) * o_w,
                o_h * (o_w + 1),
            }
        ):
            key, detail = "off_by_one", t("detail.matrix_rows", rows=g[0], want=R)
        elif (
            len(g) == 2
            and g[1] == C
            and g[0] in {(n_h - k_w + 1) * (n_w - k_h + 1), o_h * o_h, o_w * o_w}
        ):
            key, detail = "square_only", t("detail.matrix_rows", rows=g[0], want=R)
        else:
            key, detail = (
                "wrong_shape",
                t("detail.shape_other", got=shape_text(g), want=shape_text((R, C))),
            )
        return Verdict.failure(key, shown + "\n" + detail, section=section)
    if dg.same(got, expected):
        return Verdict.ok()
    for key, detail, variant in _matrix_variants(K, X_shape):
        if not dg.same(variant, expected) and dg.same(got, variant):
            return Verdict.failure(key, shown + "\n" + t(detail), section=section)
    rounded = torch.trunc(expected)
    if not dg.same(rounded, expected) and dg.same(got, rounded):
        detail = t("detail.int_truncation", dtype=str(got.dtype).replace("torch.", ""))
        return Verdict.failure("int_truncation", shown + "\n" + detail, section=section)
    return Verdict.failure(
        "wrong_values", shown + "\n" + t("detail.matrix_values"), section=section
    )


# ---------------------------------------------------------------------------------------------
# The exercises

OUTPUT_SHAPE = Exercise(
    id="output-shape",
    lesson="shape",
    symbols=("output_shape",),
    make_cases=_shape_cases,
    probe_case=_probe_shape,
    judge_case=_judge_shape,
    time_limit=5.0,
    check_name="check_output_shape",
    forbids=EXERCISE_RULES["output-shape"],
)

CORR2D = Exercise(
    id="corr2d",
    lesson=SECTION,
    symbols=("corr2d",),
    make_cases=partial(correlation_cases, exercise_id="corr2d", gradient=True),
    probe_case=partial(probe_correlation, symbol="corr2d", gradient=True),
    judge_case=partial(judge_correlation, symbol="corr2d", need_grad=True),
    time_limit=10.0,
    check_name="check_corr2d",
    forbids=EXERCISE_RULES["corr2d"],
)

CORR2D_FAST = Exercise(
    id="corr2d-fast",
    lesson="fast",
    symbols=("corr2d_fast",),
    make_cases=partial(correlation_cases, exercise_id="corr2d-fast"),
    probe_case=partial(probe_correlation, symbol="corr2d_fast"),
    judge_case=partial(judge_correlation, symbol="corr2d_fast", section="fast"),
    time_limit=10.0,
    check_name="check_corr2d_fast",
    forbids=EXERCISE_RULES["corr2d-fast"],
)

KERNEL_MATRIX = Exercise(
    id="corr2d-matmul",
    lesson="matmul",
    symbols=("kernel_matrix",),
    make_cases=_matrix_cases,
    probe_case=_probe_matrix,
    judge_case=_judge_matrix,
    time_limit=10.0,
    check_name="check_kernel_matrix",
    forbids=EXERCISE_RULES["corr2d-matmul"],
)

CONVOLVE2D = Exercise(
    id="convolve2d",
    lesson="convolution",
    symbols=("convolve2d",),
    make_cases=partial(correlation_cases, exercise_id="convolve2d"),
    probe_case=partial(probe_correlation, symbol="convolve2d"),
    judge_case=partial(judge_correlation, symbol="convolve2d", mode="conv", section="convolution"),
    time_limit=10.0,
    check_name="check_convolve2d",
    forbids=EXERCISE_RULES["convolve2d"],
)


def check_output_shape(output_shape, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``output_shape(X_shape, K_shape)``: ``(n_h - k_h + 1, n_w - k_w + 1)`` as a tuple."""
    check(OUTPUT_SHAPE, {"output_shape": output_shape}, seed=seed, hidden=hidden)


def check_corr2d(corr2d, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``corr2d(X, K)``: cross-correlation on many shapes, integer images, gradients."""
    check(CORR2D, {"corr2d": corr2d}, seed=seed, hidden=hidden)


def check_corr2d_fast(corr2d_fast, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check that the vectorized ``corr2d_fast(X, K)`` computes cross-correlation (see also
    ``check_corr2d_speed``)."""
    check(CORR2D_FAST, {"corr2d_fast": corr2d_fast}, seed=seed, hidden=hidden)


def check_kernel_matrix(kernel_matrix, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``kernel_matrix(K, X_shape)``: ``M @ X.reshape(-1) == corr2d(X, K).reshape(-1)``."""
    check(KERNEL_MATRIX, {"kernel_matrix": kernel_matrix}, seed=seed, hidden=hidden)


def check_convolve2d(convolve2d, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``convolve2d(X, K)``: true convolution, the kernel flipped both ways."""
    check(CONVOLVE2D, {"convolve2d": convolve2d}, seed=seed, hidden=hidden)
