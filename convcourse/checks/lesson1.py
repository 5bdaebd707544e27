"""Lesson 01, from dense layers to convolutions: parameter counts, the 4-D dense layer, and the
dense weight of a translation-invariant, local layer."""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.inputs import by_size, decimals, small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import xcorr2d

__all__ = [
    "PARAM_COUNTS",
    "DENSE_LAYER",
    "DENSE_WEIGHT",
    "check_param_counts",
    "check_dense_layer",
    "check_dense_weight",
]

# ---------------------------------------------------------------------------------------------
# dense_param_count(n_h, n_w, m_h, m_w) and local_param_count(delta)

_DENSE, _LOCAL = "dense_param_count", "local_param_count"


def _count_cases(seed, hidden):
    gen, rnd = case_random(seed, "param-counts")
    if hidden:
        dense = [tuple(rnd.randint(1, 60) for _ in range(4)) for _ in range(3)]
        dense.append(tuple(rnd.randint(200, 2000) for _ in range(4)))
        local = sorted(rnd.sample(range(0, 12), 3))
    else:
        dense = [(2, 3, 4, 5), (4, 4, 2, 2), (1000, 1000, 1000, 1000)]
        local = [0, 1, 2]
    cases = [Case("dense_count", {"function": _DENSE, "args": list(a)}) for a in dense]
    cases += [Case("local_count", {"function": _LOCAL, "args": [d]}) for d in local]
    return cases


def _probe_count(objs, case, limit):
    name = case.data["function"]
    fn = objs[name]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, *case.data["args"], limit=limit)
    return {"call": call.facts(), "output": describe(call.value)}


def _as_count(out: dict):
    """The returned count as an int, or None when it is not a whole number."""
    value = out.get("value")
    if out["kind"] == "tensor" and out["tensor"] is not None and out["tensor"].numel() == 1:
        value = out["tensor"].item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _judge_count(case, obs):
    name = case.data["function"]
    args = case.data["args"]
    problem = dg.callable_problem(obs, name, section="dense")
    if problem:
        return problem
    arg_names = ("n_h", "n_w", "m_h", "m_w") if name == _DENSE else ("delta",)
    call_text = f"{name}({', '.join(f'{a}={v}' for a, v in zip(arg_names, args, strict=True))})"
    context = t("detail.case_call", label=case.label, call=call_text)
    problem = dg.call_problem(obs["call"], name, context=context, section="dense")
    if problem:
        return problem
    out = obs["output"]
    if out["kind"] == "none":
        return dg.returned_none(name, context, section="dense")
    got = _as_count(out)
    if got is None:
        shown = out.get("value", out.get("repr", out["type"]))
        return dg.wrong_type(name, out["type"], shown, t("want.count"), context, section="dense")
    if name == _DENSE:
        n_h, n_w, m_h, m_w = args
        expected = n_h * n_w * m_h * m_w
        variants = [
            ("counted_bias", "detail.count_bias", expected + m_h * m_w),
            ("dense_count", "detail.count_added", n_h * n_w + m_h * m_w),
            ("dense_count", "detail.count_inputs_only", n_h * n_w),
            ("dense_count", "detail.count_hidden_only", m_h * m_w),
            ("dense_count", "detail.count_squared", (n_h * n_w) ** 2),
        ]
        section = "dense"
    else:
        (delta,) = args
        expected = (2 * delta + 1) ** 2
        variants = [
            ("counted_bias", "detail.count_bias", expected + 1),
            ("window_side", "detail.window_2delta", (2 * delta) ** 2),
            ("window_side", "detail.window_delta", delta**2),
            ("window_side", "detail.window_delta_plus_one", (delta + 1) ** 2),
            ("window_side", "detail.window_not_squared", 2 * delta + 1),
        ]
        section = "locality"
    if got == expected:
        return Verdict.ok()
    shown = context + "\n" + t("detail.expected_got_inline", expected=expected, got=got)
    for key, detail, value in variants:
        if value != expected and got == value:
            return Verdict.failure(key, shown + "\n" + t(detail), section=section)
    return Verdict.failure("wrong_values", shown, section=section)


# ---------------------------------------------------------------------------------------------
# dense_layer(X, W, U)


def _dense_cases(seed, hidden):
    gen, rnd = case_random(seed, "dense-layer")
    if hidden:
        n = rnd.randint(2, 5), rnd.randint(2, 5)
        geometry = [
            ("dense_small", (rnd.randint(1, 3), rnd.randint(2, 4)), (rnd.randint(1, 3), 2)),
            ("dense_same", n, n),
            ("dense_other", (rnd.randint(2, 5), rnd.randint(2, 5)), (rnd.randint(2, 5), 3)),
        ]
    else:
        geometry = [
            ("dense_small", (2, 3), (2, 2)),
            ("dense_same", (3, 3), (3, 3)),
            ("dense_other", (3, 4), (2, 5)),
        ]
    cases = []
    for kind, (n_h, n_w), (m_h, m_w) in geometry:
        make = (lambda s: decimals(gen, s)) if hidden else (lambda s: small_ints(gen, s, -2, 3))
        X, W, U = make((n_h, n_w)), make((m_h, m_w, n_h, n_w)), make((m_h, m_w))
        U = U + (U == 0).to(U.dtype)  # a bias with no zeros, so that a missing one shows
        cases.append(Case(kind, {"X": X, "W": W, "U": U}))
    return by_size(cases)


def _probe_dense(objs, case, limit):
    fn = objs["dense_layer"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    given = {n: case.data[n].clone() for n in ("X", "W", "U")}
    call = call_student(fn, given["X"], given["W"], given["U"], limit=limit)
    return {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified({n: case.data[n] for n in given}, given),
    }


def _judge_dense(case, obs):
    symbol, section = "dense_layer", "dense"
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    X, W, U = (dg.as_float(case.data[n]) for n in ("X", "W", "U"))
    context = (
        dg.case_text(case, ["X", "U"]) + "\n" + t("detail.weight_shape", shape=shape_text(W.shape))
    )
    problem = dg.call_problem(obs["call"], symbol, context=context, section=section)
    if problem:
        return problem
    expected = torch.einsum("ijkl,kl->ij", W, X) + U
    out = obs["output"]
    problem = dg.output_problem(out, symbol, context=context, section=section, expected=expected)
    problem = problem or dg.modified_problem(
        obs["modified"], symbol, context=context, section=section
    )
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=section)
    (m_h, m_w, n_h, n_w) = W.shape
    if tuple(got.shape) != tuple(expected.shape):
        if tuple(got.shape) == (n_h, n_w):
            return Verdict.failure(
                "weight_index_order", shown + "\n" + t("detail.summed_hidden"), section=section
            )
        return Verdict.failure(
            "wrong_shape",
            shown
            + "\n"
            + t("detail.shape_other", got=shape_text(got.shape), want=shape_text(expected.shape)),
            section=section,
        )
    if dg.same(got, expected):
        return Verdict.ok()
    variants = [("missing_bias", "detail.bias_ignored", expected - U)]
    if (m_h, m_w) == (n_h, n_w):
        variants.append(
            (
                "weight_index_order",
                "detail.index_order_hidden",
                torch.einsum("klij,kl->ij", W, X) + U,
            )
        )
    if n_h == n_w:
        variants.append(
            (
                "weight_index_order",
                "detail.index_order_input",
                torch.einsum("ijlk,kl->ij", W, X) + U,
            )
        )
    for key, detail, variant in variants:
        if not dg.same(variant, expected) and dg.same(got, variant):
            return Verdict.failure(key, shown + "\n" + t(detail), section=section)
    return Verdict.failure("wrong_values", shown + "\n" + t("detail.dense_values"), section=section)


# ---------------------------------------------------------------------------------------------
# dense_weight_from_kernel(V, input_shape)


def _weight_cases(seed, hidden):
    gen, rnd = case_random(seed, "dense-weight")
    if hidden:
        geometry = [
            ("delta_zero", 0, (rnd.randint(1, 3), rnd.randint(2, 4))),
            ("delta_one", 1, (rnd.randint(3, 5), rnd.randint(4, 6))),
            ("delta_one_tight", 1, (3, rnd.randint(3, 5))),
            ("delta_two", 2, (rnd.randint(5, 7), rnd.randint(5, 8))),
        ]
    else:
        geometry = [
            ("delta_zero", 0, (2, 3)),
            ("delta_one_tight", 1, (3, 3)),
            ("delta_one", 1, (4, 5)),
            ("delta_two", 2, (5, 7)),
        ]
    cases = []
    for kind, delta, shape in geometry:
        side = 2 * delta + 1
        V = decimals(gen, (side, side)) if hidden else small_ints(gen, (side, side), -4, 6)
        cases.append(Case(kind, {"V": V, "input_shape": tuple(shape)}))
    return by_size(cases)


def _expected_weight(V: torch.Tensor, input_shape) -> torch.Tensor:
    """W[i, j, k, l] = dH[i, j] / dX[k, l] of the local layer H = corr2d(X, V), in float64.

    H is linear in X, so W[:, :, k, l] is H of the image that is 1 at pixel (k, l) and 0
    elsewhere: one library cross-correlation of all those unit images at once.
    """
    n_h, n_w = input_shape
    units = torch.eye(n_h * n_w, dtype=torch.float64).reshape(n_h * n_w, n_h, n_w)
    H = xcorr2d(units, dg.as_float(V))  # (n_h * n_w, m_h, m_w)
    return H.permute(1, 2, 0).reshape(H.shape[1], H.shape[2], n_h, n_w)


def _probe_weight(objs, case, limit):
    fn = objs["dense_weight_from_kernel"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    V = case.data["V"].clone()
    call = call_student(fn, V, tuple(case.data["input_shape"]), limit=limit)
    return {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified({"V": case.data["V"]}, {"V": V}),
    }


def _judge_weight(case, obs):
    symbol, section = "dense_weight_from_kernel", "locality"
    problem = dg.callable_problem(obs, symbol, section=section)
    if problem:
        return problem
    V, shape = dg.as_float(case.data["V"]), tuple(case.data["input_shape"])
    context = dg.case_text(case)
    problem = dg.call_problem(
        obs["call"], symbol, context=context, section=section, window_errors=True
    )
    if problem:
        return problem
    expected = _expected_weight(V, shape)
    out = obs["output"]
    problem = dg.output_problem(out, symbol, context=context, section=section, expected=expected)
    problem = problem or dg.modified_problem(
        obs["modified"], symbol, context=context, section=section
    )
    if problem:
        return problem
    got = out["tensor"]
    m_h, m_w, n_h, n_w = expected.shape
    if tuple(got.shape) != tuple(expected.shape):
        g = tuple(got.shape)
        shapes = t("detail.shape_other", got=shape_text(g), want=shape_text(expected.shape))
        if g == (n_h, n_w, n_h, n_w):
            key, detail = "padded_output", t("detail.weight_all_units")
        elif g == (n_h, n_w, m_h, m_w):
            key, detail = "weight_index_order", t("detail.weight_axes")
        elif len(g) == 4 and g[2:] == (n_h, n_w) and abs(g[0] - m_h) <= 1 and abs(g[1] - m_w) <= 1:
            key, detail = "off_by_one", t("detail.weight_units_off")
        else:
            key, detail = "wrong_shape", ""
        return Verdict.failure(
            key, context + "\n" + shapes + ("\n" + detail if detail else ""), section=section
        )
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", context, section=section)
    if dg.same(got, expected):
        return Verdict.ok()
    # Show the weights of one hidden unit, where the mistake is easiest to see.
    diff = (dg.as_float(got) - expected).abs().reshape(m_h * m_w, -1).sum(1)
    unit = divmod(int(torch.argmax(diff)), m_w)
    shown = (
        context
        + "\n"
        + t("detail.weight_unit", i=unit[0], j=unit[1])
        + "\n"
        + dg.expected_got(expected[unit], got[unit])
    )
    flipped = _expected_weight(torch.flip(V, (0, 1)), shape)
    if not dg.same(flipped, expected) and dg.same(got, flipped):
        return Verdict.failure(
            "index_mapping", shown + "\n" + t("detail.index_minus"), section=section
        )
    return Verdict.failure(
        "wrong_values", shown + "\n" + t("detail.weight_values"), section=section
    )


# ---------------------------------------------------------------------------------------------

PARAM_COUNTS = Exercise(
    id="param-counts",
    lesson="dense",
    symbols=(_DENSE, _LOCAL),
    make_cases=_count_cases,
    probe_case=_probe_count,
    judge_case=_judge_count,
    time_limit=5.0,
    check_name="check_param_counts",
    forbids=EXERCISE_RULES["param-counts"],
)

DENSE_LAYER = Exercise(
    id="dense-layer",
    lesson="dense",
    symbols=("dense_layer",),
    make_cases=_dense_cases,
    probe_case=_probe_dense,
    judge_case=_judge_dense,
    time_limit=10.0,
    check_name="check_dense_layer",
    forbids=EXERCISE_RULES["dense-layer"],
)

DENSE_WEIGHT = Exercise(
    id="dense-weight",
    lesson="locality",
    symbols=("dense_weight_from_kernel",),
    make_cases=_weight_cases,
    probe_case=_probe_weight,
    judge_case=_judge_weight,
    time_limit=10.0,
    check_name="check_dense_weight",
    forbids=EXERCISE_RULES["dense-weight"],
)


def check_param_counts(
    dense_param_count, local_param_count, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check the weight counts of a dense layer (no bias) and of a local (2Δ+1)² window."""
    objs = {_DENSE: dense_param_count, _LOCAL: local_param_count}
    check(PARAM_COUNTS, objs, seed=seed, hidden=hidden)


def check_dense_layer(dense_layer, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``dense_layer(X, W, U)``: ``H[i, j] = U[i, j] + Σ_k Σ_l W[i, j, k, l] X[k, l]``."""
    check(DENSE_LAYER, {"dense_layer": dense_layer}, seed=seed, hidden=hidden)


def check_dense_weight(
    dense_weight_from_kernel, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``dense_weight_from_kernel(V, input_shape)``: the 4-D weight of a local,
    translation-invariant layer (``dense_layer(X, W) == corr2d(X, V)``)."""
    check(
        DENSE_WEIGHT,
        {"dense_weight_from_kernel": dense_weight_from_kernel},
        seed=seed,
        hidden=hidden,
    )
