"""Lesson 04, kernels as detectors: a horizontal-edge kernel, edges in any direction, the second
derivative, blur kernels and the smallest kernel for a derivative of order d."""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.messages import t
from convcourse.checks.render import matrix_lines, named_block, number, shape_text, side_by_side
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.images import edge_image, horizontal_edge_image
from convcourse.oracle import xcorr2d

__all__ = [
    "HORIZONTAL_KERNEL",
    "DIRECTIONAL_KERNEL",
    "SECOND_DERIVATIVE",
    "BLUR_KERNEL",
    "MIN_KERNEL_SIZE",
    "check_horizontal_edge_kernel",
    "check_directional_edge_kernel",
    "check_second_derivative_kernel",
    "check_blur_kernel",
    "check_min_kernel_size",
]

SECTION = "detectors"


def _kernel_problem(out: dict, symbol: str, context: str, *, returned: bool = True):
    """A kernel must be a finite 2-D tensor; name what else it was."""
    if returned:
        problem = dg.output_problem(out, symbol, context=context, section=SECTION, want="kernel")
        if problem:
            return problem
    elif out.get("type") == "NoneType":
        # The released notebook leaves the value at None: the exercise is not answered yet.
        return Verdict.failure(
            "not_implemented", t("detail.still_none", symbol=symbol), section=SECTION
        )
    elif out["kind"] != "tensor":
        key = "not_a_tensor" if out.get("tensor") is not None else "wrong_type"
        shown = out.get("repr", out.get("value", ""))
        return Verdict.failure(
            key,
            context + "\n" + t("detail.value_type", symbol=symbol, type=out["type"], value=shown),
            section=SECTION,
        )
    K = out["tensor"]
    if K is None:
        return Verdict.failure(
            "wrong_type",
            context + "\n" + t("detail.unreadable", symbol=symbol, type=out["type"]),
            section=SECTION,
        )
    if K.dim() == 1:
        return Verdict.failure(
            "kernel_1d",
            context + "\n" + t("detail.kernel_1d", symbol=symbol, shape=shape_text(K.shape)),
            section=SECTION,
        )
    if K.dim() != 2 or K.numel() == 0:
        return Verdict.failure(
            "wrong_shape",
            context + "\n" + t("detail.kernel_not_2d", symbol=symbol, shape=shape_text(K.shape)),
            section=SECTION,
        )
    if dg.nonfinite(K):
        return Verdict.failure(
            "nan_output", context + "\n" + named_block(symbol, K)[0], section=SECTION
        )
    return None


def _tolerance(K: torch.Tensor, X: torch.Tensor) -> float:
    return 1e-6 * (float(K.abs().sum()) * max(1.0, float(X.abs().max())) + 1.0)


def _too_big(K, X, symbol, context):
    if K.shape[0] > X.shape[0] or K.shape[1] > X.shape[1]:
        return Verdict.failure(
            "wrong_shape",
            context
            + "\n"
            + t(
                "detail.kernel_too_big",
                symbol=symbol,
                shape=shape_text(K.shape),
                image=shape_text(X.shape),
            ),
            section=SECTION,
        )
    return None


# ---------------------------------------------------------------------------------------------
# K_horizontal


def _step_image(gen, rnd, horizontal: bool) -> torch.Tensor:
    """A random image with two levels and a band: horizontal edges, or vertical ones."""
    h, w = rnd.randint(8, 12), rnd.randint(6, 10)
    low, high = sorted(rnd.sample(range(0, 10), 2))
    X = torch.full((h, w), float(high))
    start = rnd.randint(2, h - 4)
    X[start : start + rnd.randint(2, h - start - 2), :] = float(low)
    return X if horizontal else X.T.contiguous()


def _horizontal_cases(seed, hidden):
    gen, rnd = case_random(seed, "horizontal-kernel")
    cases = [
        Case("horizontal_edges", {"X": horizontal_edge_image(), "edges": "horizontal"}),
        Case("vertical_edges", {"X": edge_image(), "edges": "vertical"}),
    ]
    if hidden:
        cases += [
            Case("random_horizontal", {"X": _step_image(gen, rnd, True), "edges": "horizontal"}),
            Case("random_vertical", {"X": _step_image(gen, rnd, False), "edges": "vertical"}),
        ]
    return cases


def _probe_value(objs, case, limit, *, symbol):
    value = objs[symbol]
    return {"kernel": describe(value)}


def _edge_rows_answered(X: torch.Tensor, R: torch.Tensor, k_h: int, tol: float) -> bool:
    """Every horizontal edge of X (a row boundary where values change) gets a nonzero response
    from some output row whose window spans it."""
    rows = [r for r in range(X.shape[0] - 1) if not torch.equal(X[r], X[r + 1])]
    for r in rows:
        lo, hi = max(0, r + 2 - k_h), min(r, R.shape[0] - 1)
        if lo > hi or not bool((R[lo : hi + 1].abs() > tol).any()):
            return False
    return True


def _flat_windows(X: torch.Tensor, k_h: int, k_w: int) -> torch.Tensor:
    """Boolean (o_h, o_w): True where the window of X under the kernel is constant."""
    windows = X.unfold(0, k_h, 1).unfold(1, k_w, 1)
    return windows.amax((-2, -1)) == windows.amin((-2, -1))


def _judge_horizontal(case, obs):
    symbol = "K_horizontal"
    out = obs["kernel"]
    X = case.data["X"].to(torch.float64)
    context = dg.case_text(case, ["X"])
    problem = _kernel_problem(out, symbol, context, returned=False)
    if problem:
        return problem
    K = dg.as_float(out["tensor"])
    problem = _too_big(K, X, symbol, context)
    if problem:
        return problem
    R = xcorr2d(X, K)
    tol = _tolerance(K, X)
    shown = (
        context
        + "\n"
        + side_by_side([named_block(symbol, K), [t("word.response")] + matrix_lines(R)])
    )
    flat = _flat_windows(X, *K.shape)
    if bool((R[flat].abs() > tol).any()):
        return Verdict.failure(
            "nonzero_on_flat",
            shown + "\n" + t("detail.flat_response", total=number(K.sum())),
            section=SECTION,
        )
    other = X.T.contiguous()
    responds_other = (
        K.shape[0] <= other.shape[0]
        and K.shape[1] <= other.shape[1]
        and bool((xcorr2d(other, K).abs() > tol).any())
    )
    if case.data["edges"] == "horizontal":
        if not _edge_rows_answered(X, R, K.shape[0], tol):
            key = "wrong_orientation" if responds_other else "blind_to_edges"
            return Verdict.failure(
                key, shown + "\n" + t("detail.misses_horizontal"), section=SECTION
            )
        return Verdict.ok()
    if bool((R.abs() > tol).any()):
        key = "both_orientations" if responds_other else "wrong_orientation"
        return Verdict.failure(key, shown + "\n" + t("detail.responds_vertical"), section=SECTION)
    return Verdict.ok()


# ---------------------------------------------------------------------------------------------
# directional_edge_kernel(v)


def _direction_cases(seed, hidden):
    gen, rnd = case_random(seed, "directional-kernel")
    if hidden:
        vs = []
        while len(vs) < 3:
            v = (float(rnd.randint(-3, 3)), float(rnd.randint(-3, 3)))
            if v != (0.0, 0.0) and v not in vs and v[0] != v[1]:
                vs.append(v)
        vs.append((round(rnd.uniform(0.2, 2), 2), round(rnd.uniform(-2, -0.2), 2)))
    else:
        vs = [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, -1.0)]
    return [Case("direction", {"v": v, "offset": 3.0}) for v in vs]


def _probe_direction(objs, case, limit):
    fn = objs["directional_edge_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, tuple(case.data["v"]), limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _ramp(shape, a: float, b: float, c: float) -> torch.Tensor:
    """The image c + a*i + b*j: intensity grows by a per row and by b per column."""
    i = torch.arange(shape[0], dtype=torch.float64).reshape(-1, 1)
    j = torch.arange(shape[1], dtype=torch.float64).reshape(1, -1)
    return c + a * i + b * j


def _judge_direction(case, obs):
    symbol, section = "directional_edge_kernel", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    v1, v2 = case.data["v"]
    context = t(
        "detail.case_call", label=case.label, call=f"{symbol}(v=({number(v1)}, {number(v2)}))"
    )
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    problem = problem or _kernel_problem(obs["output"], symbol, context)
    if problem:
        return problem
    K = dg.as_float(obs["output"]["tensor"])
    shape = (K.shape[0] + 4, K.shape[1] + 4)
    c = case.data["offset"]
    along = xcorr2d(_ramp(shape, v1, v2, c), K)
    across = xcorr2d(_ramp(shape, -v2, v1, c), K)
    tol = _tolerance(K, _ramp(shape, v1, v2, c))
    shown = (
        context
        + "\n"
        + side_by_side(
            [
                named_block(symbol, K),
                [t("word.along")] + matrix_lines(along, 4, 6),
                [t("word.across")] + matrix_lines(across, 4, 6),
            ]
        )
    )
    if abs(float(K.sum())) > tol:
        return Verdict.failure(
            "nonzero_on_flat",
            shown + "\n" + t("detail.flat_response", total=number(K.sum())),
            section=section,
        )
    along_zero = bool((along.abs() <= tol).all())
    across_zero = bool((across.abs() <= tol).all())
    if along_zero and across_zero:
        return Verdict.failure(
            "blind_to_edges", shown + "\n" + t("detail.blind_ramps"), section=section
        )
    if not across_zero:
        if along_zero:
            # Along an axis (v1 or v2 zero) "across v" and "v with its axes swapped" coincide.
            return Verdict.failure(
                "wrong_orientation",
                shown + "\n" + t("detail.across_v"),
                section=section,
                tentative=v1 == 0 or v2 == 0,
            )
        swapped = xcorr2d(_ramp(shape, -v1, v2, c), K)
        if v1 != v2 and bool((swapped.abs() <= tol).all()):
            return Verdict.failure(
                "swapped_hw", shown + "\n" + t("detail.v_swapped"), section=section
            )
        return Verdict.failure(
            "wrong_values", shown + "\n" + t("detail.across_nonzero"), section=section
        )
    return Verdict.ok()


# ---------------------------------------------------------------------------------------------
# second_derivative_kernel()


def _second_cases(seed, hidden):
    gen, rnd = case_random(seed, "second-derivative")
    coefficients = [(1.0, 0.0, 0.0), (0.0, 2.0, 1.0), (0.0, 0.0, 0.0)]
    if hidden:
        coefficients = [
            (
                round(rnd.uniform(0.5, 3), 2),
                round(rnd.uniform(-2, 2), 2),
                round(rnd.uniform(-2, 2), 2),
            )
            for _ in range(2)
        ]
        coefficients.append((0.0, round(rnd.uniform(0.5, 3), 2), 0.0))
    cases = [
        Case("quadratic_width" if a else "linear_width", {"a": a, "b": b, "c": c, "along": 1})
        for a, b, c in coefficients
        if (a, b) != (0.0, 0.0)
    ]
    cases.append(Case("quadratic_height", {"a": 1.0, "b": 0.0, "c": 0.0, "along": 0}))
    return cases


def _probe_second(objs, case, limit):
    fn = objs["second_derivative_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _poly_image(shape, a, b, c, along: int) -> torch.Tensor:
    """c + b*x + a*x² where x is the column index (along=1) or the row index (along=0)."""
    x = torch.arange(shape[along], dtype=torch.float64)
    line = c + b * x + a * x**2
    return line.reshape(1, -1).expand(shape) if along == 1 else line.reshape(-1, 1).expand(shape)


def _moments(K: torch.Tensor) -> dict:
    p = torch.arange(K.shape[0], dtype=torch.float64).reshape(-1, 1)
    q = torch.arange(K.shape[1], dtype=torch.float64).reshape(1, -1)
    return {
        "sum": float(K.sum()),
        "q": float((K * q).sum()),
        "p": float((K * p).sum()),
        "qq": float((K * q**2).sum()),
        "pp": float((K * p**2).sum()),
    }


def _judge_second(case, obs):
    symbol, section = "second_derivative_kernel", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    context = t(
        "detail.case_poly",
        label=case.label,
        **{k: number(case.data[k]) for k in "abc"},
        x="j" if case.data["along"] else "i",
    )
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    problem = problem or _kernel_problem(obs["output"], symbol, context)
    if problem:
        return problem
    K = dg.as_float(obs["output"]["tensor"])
    a, b, c, along = (case.data[k] for k in ("a", "b", "c", "along"))
    shape = (K.shape[0] + 3, K.shape[1] + 4)
    X = _poly_image(shape, a, b, c, along)
    R = xcorr2d(X, K)
    want = 2 * a if along == 1 else 0.0
    tol = _tolerance(K, X)
    shown = (
        context
        + "\n"
        + side_by_side([named_block(symbol, K), [t("word.response")] + matrix_lines(R, 4, 6)])
        + "\n"
        + t("detail.want_constant", value=number(want))
    )
    if bool(((R - want).abs() <= tol).all()):
        if tuple(K.shape) != (1, 3):
            return Verdict.failure(
                "not_smallest",
                shown + "\n" + t("detail.not_smallest", shape=shape_text(K.shape)),
                section=section,
            )
        return Verdict.ok()
    # Which property fails, from the kernel's moments: on c + b*x + a*x² the response is
    # c*sum + b*(first moment) + a*(second moment), along the width (q) or the height (p).
    m = _moments(K)
    eps = 1e-9 * (float(K.abs().sum()) + 1)
    if abs(m["sum"]) > eps:
        key, detail = "nonzero_on_flat", t("detail.flat_response", total=number(m["sum"]))
    elif abs(m["q"]) > eps:
        key, detail = "first_derivative", t("detail.first_derivative")
    elif abs(m["p"]) > eps or abs(m["pp"]) > eps:
        along_height = abs(m["qq"]) <= eps
        key = "wrong_orientation"
        detail = t("detail.second_along_height" if along_height else "detail.second_mixed")
    elif abs(m["qq"] - 2) > eps:
        key, detail = "wrong_scale", t("detail.second_scale", value=number(m["qq"]))
    else:
        key, detail = "wrong_values", ""
    return Verdict.failure(key, shown + ("\n" + detail if detail else ""), section=section)


# ---------------------------------------------------------------------------------------------
# blur_kernel(size)


def _blur_cases(seed, hidden):
    gen, rnd = case_random(seed, "blur-kernel")
    sizes = sorted(rnd.sample(range(2, 10), 3)) if hidden else [2, 3, 5]
    return [Case("blur_size", {"size": s}) for s in sizes]


def _probe_blur(objs, case, limit):
    fn = objs["blur_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, case.data["size"], limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _judge_blur(case, obs):
    symbol, section = "blur_kernel", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    size = case.data["size"]
    context = t("detail.case_call", label=case.label, call=f"{symbol}({size})")
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    problem = problem or _kernel_problem(obs["output"], symbol, context)
    if problem:
        return problem
    raw = obs["output"]["tensor"]
    K = dg.as_float(raw)
    shown = context + "\n" + "\n".join(named_block(symbol, K))
    if tuple(K.shape) != (size, size):
        key = "ignores_argument" if tuple(K.shape) in {(3, 3), (5, 5)} else "wrong_shape"
        return Verdict.failure(
            key,
            shown
            + "\n"
            + t("detail.shape_other", got=shape_text(K.shape), want=shape_text((size, size))),
            section=section,
        )
    if bool((K < 0).any()):
        return Verdict.failure("negative_weights", shown, section=section)
    total = float(K.sum())
    if not raw.is_floating_point() and abs(total - 1) > 1e-6:
        return Verdict.failure(
            "int_truncation",
            shown + "\n" + t("detail.int_truncation", dtype=str(raw.dtype).replace("torch.", "")),
            section=section,
        )
    if abs(total - 1) > 1e-5:
        return Verdict.failure(
            "not_normalized",
            shown + "\n" + t("detail.kernel_sum", total=number(total)),
            section=section,
        )
    if float(K.max()) > 1 - 1e-6:
        return Verdict.failure("one_hot_kernel", shown, section=section)
    return Verdict.ok()


# ---------------------------------------------------------------------------------------------
# min_kernel_size(d)


def _size_cases(seed, hidden):
    gen, rnd = case_random(seed, "min-kernel-size")
    ds = sorted(rnd.sample(range(1, 30), 3)) if hidden else [1, 2, 3]
    return [Case("derivative_order", {"d": d}) for d in ds]


def _probe_size(objs, case, limit):
    fn = objs["min_kernel_size"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, case.data["d"], limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _judge_size(case, obs):
    symbol, section = "min_kernel_size", SECTION
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    d = case.data["d"]
    context = t("detail.case_call", label=case.label, call=f"{symbol}({d})")
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    if problem:
        return problem
    out = obs["output"]
    value = out.get("value")
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section=section)
    if out["kind"] != "number" or isinstance(value, bool) or not float(value).is_integer():
        shown = out.get("value", out.get("repr", out["type"]))
        return dg.wrong_type(symbol, out["type"], shown, t("want.count"), context, section=section)
    got, expected = int(value), d + 1
    if got == expected:
        return Verdict.ok()
    shown = context + "\n" + t("detail.expected_got_inline", expected=expected, got=got)
    for key, wrong in (("too_few_points", d), ("centred_window", 2 * d + 1)):
        if wrong != expected and got == wrong:
            return Verdict.failure(key, shown, section=section)
    return Verdict.failure("wrong_values", shown, section=section)


# ---------------------------------------------------------------------------------------------


def _value_probe(symbol):
    def probe(objs, case, limit):
        return _probe_value(objs, case, limit, symbol=symbol)

    return probe


HORIZONTAL_KERNEL = Exercise(
    id="horizontal-kernel",
    lesson=SECTION,
    symbols=("K_horizontal",),
    make_cases=_horizontal_cases,
    probe_case=_value_probe("K_horizontal"),
    judge_case=_judge_horizontal,
    time_limit=5.0,
    check_name="check_horizontal_edge_kernel",
    forbids=EXERCISE_RULES["horizontal-kernel"],
)

DIRECTIONAL_KERNEL = Exercise(
    id="directional-kernel",
    lesson=SECTION,
    symbols=("directional_edge_kernel",),
    make_cases=_direction_cases,
    probe_case=_probe_direction,
    judge_case=_judge_direction,
    time_limit=5.0,
    check_name="check_directional_edge_kernel",
    forbids=EXERCISE_RULES["directional-kernel"],
)

SECOND_DERIVATIVE = Exercise(
    id="second-derivative",
    lesson=SECTION,
    symbols=("second_derivative_kernel",),
    make_cases=_second_cases,
    probe_case=_probe_second,
    judge_case=_judge_second,
    time_limit=5.0,
    check_name="check_second_derivative_kernel",
    forbids=EXERCISE_RULES["second-derivative"],
)

BLUR_KERNEL = Exercise(
    id="blur-kernel",
    lesson=SECTION,
    symbols=("blur_kernel",),
    make_cases=_blur_cases,
    probe_case=_probe_blur,
    judge_case=_judge_blur,
    time_limit=5.0,
    check_name="check_blur_kernel",
    forbids=EXERCISE_RULES["blur-kernel"],
)

MIN_KERNEL_SIZE = Exercise(
    id="min-kernel-size",
    lesson=SECTION,
    symbols=("min_kernel_size",),
    make_cases=_size_cases,
    probe_case=_probe_size,
    judge_case=_judge_size,
    time_limit=5.0,
    check_name="check_min_kernel_size",
    forbids=EXERCISE_RULES["min-kernel-size"],
)


def check_horizontal_edge_kernel(
    K_horizontal, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``K_horizontal``: nonzero on horizontal edges, zero on flat areas and on vertical
    edges."""
    check(HORIZONTAL_KERNEL, {"K_horizontal": K_horizontal}, seed=seed, hidden=hidden)


def check_directional_edge_kernel(
    directional_edge_kernel, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``directional_edge_kernel(v)``: zero on ramps orthogonal to v = (v1 along the
    height, v2 along the width), a nonzero constant on ramps along v."""
    check(
        DIRECTIONAL_KERNEL,
        {"directional_edge_kernel": directional_edge_kernel},
        seed=seed,
        hidden=hidden,
    )


def check_second_derivative_kernel(
    second_derivative_kernel, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``second_derivative_kernel()``: the smallest kernel for ∂²/∂x² along the width."""
    check(
        SECOND_DERIVATIVE,
        {"second_derivative_kernel": second_derivative_kernel},
        seed=seed,
        hidden=hidden,
    )


def check_blur_kernel(blur_kernel, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``blur_kernel(size)``: size×size, non-negative, sums to 1, spreads its weight."""
    check(BLUR_KERNEL, {"blur_kernel": blur_kernel}, seed=seed, hidden=hidden)


def check_min_kernel_size(
    min_kernel_size, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``min_kernel_size(d)``: a derivative of order d needs d + 1 pixels."""
    check(MIN_KERNEL_SIZE, {"min_kernel_size": min_kernel_size}, seed=seed, hidden=hidden)
