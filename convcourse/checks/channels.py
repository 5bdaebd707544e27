"""Lesson 01, channels: the 1×1 convolution ``conv1x1(X, W, b)``, one dense layer per pixel.

``X`` has shape (c_i, n_h, n_w), ``W`` (c_o, c_i) and ``b`` (c_o,); the result is
``Y[d, i, j] = b[d] + Σ_c W[d, c] · X[c, i, j]``, of shape (c_o, n_h, n_w).  The expected values
come from ``F.conv2d`` with a (c_o, c_i, 1, 1) kernel (``convcourse.oracle.channel_xcorr2d``).
"""

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
from convcourse.oracle import channel_xcorr2d

__all__ = ["CONV1X1", "GREY_WEIGHTS", "check_conv1x1"]

SECTION = "channels"
SYMBOL = "conv1x1"
#: The lesson's grey conversion (ITU-R BT.601 luma): one output channel from red, green, blue.
GREY_WEIGHTS = ((0.299, 0.587, 0.114),)
_FLOATS = (torch.float32, torch.float64)


def _case(gen, kind, c_i, c_o, size, *, fractions, dtype=torch.float32, tags=()):
    """X (c_i, *size), W (c_o, c_i) and a bias without zeros (so that a missing one shows)."""
    if fractions:
        X, W, b = (decimals(gen, s, dtype) for s in ((c_i, *size), (c_o, c_i), (c_o,)))
    else:
        X, W, b = (small_ints(gen, s, -3, 4, dtype) for s in ((c_i, *size), (c_o, c_i), (c_o,)))
    b = b + (b == 0).to(b.dtype)
    return Case(kind, {"X": X, "W": W, "b": b}, tags)


def _cases(seed, hidden):
    gen, rnd = case_random(seed, "conv1x1")
    # The lesson's example: an integer RGB image turned grey (fractional weights, zero bias).
    size = (rnd.randint(3, 5), rnd.randint(4, 6)) if hidden else (4, 5)
    grey = Case(
        "grey_image",
        {
            "X": torch.randint(0, 256, (3, *size), generator=gen),
            "W": torch.tensor(GREY_WEIGHTS),
            "b": torch.zeros(1),
        },
        ("lesson",),
    )
    if hidden:
        n = rnd.randint(2, 4)
        c = rnd.randint(2, 4)
        geometry = [
            ("one_channel", 1, 1, (rnd.randint(1, 3), rnd.randint(2, 4))),
            ("more_channels", rnd.randint(1, 2), rnd.randint(3, 5), (n, n + 1)),
            ("fewer_channels", rnd.randint(3, 5), rnd.randint(1, 2), (n + 1, n)),
            ("square_channels", c, c, (rnd.randint(2, 4), rnd.randint(2, 5))),
            ("bias_trap", rnd.randint(1, 3), c, (rnd.randint(2, 5), c)),
        ]
        cases = [
            _case(gen, kind, c_i, c_o, s, fractions=True, dtype=rnd.choice(_FLOATS))
            for kind, c_i, c_o, s in geometry
        ]
        big = (rnd.randint(9, 14), rnd.randint(9, 14))
        cases.append(_case(gen, "larger_channels", rnd.randint(3, 5), 2, big, fractions=True))
        # Another integer image, with random fractional weights.
        X = torch.randint(-5, 6, (rnd.randint(2, 3), *size), generator=gen)
        W = torch.randint(-6, 7, (rnd.randint(1, 3), X.shape[0]), generator=gen) / 4 + 0.25
        cases.append(Case("grey_image", {"X": X, "W": W, "b": torch.full((W.shape[0],), 0.5)}))
    else:
        geometry = [
            ("one_channel", 1, 1, (2, 3)),
            ("more_channels", 2, 4, (3, 3)),
            ("square_channels", 3, 3, (2, 4)),
            ("bias_trap", 2, 3, (4, 3)),
        ]
        cases = [_case(gen, kind, c_i, c_o, s, fractions=False) for kind, c_i, c_o, s in geometry]
        cases.append(_case(gen, "larger_channels", 4, 2, (12, 10), fractions=True))
        cases.append(
            _case(gen, "fewer_channels", 3, 2, (3, 2), fractions=True, dtype=torch.float64)
        )
    return by_size([grey, *cases])


def _probe(objs, case, limit):
    fn = objs[SYMBOL]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    given = {n: case.data[n].clone() for n in ("X", "W", "b")}
    call = call_student(fn, given["X"], given["W"], given["b"], limit=limit)
    return {
        "call": call.facts(),
        "output": describe(call.value),
        "modified": inputs_modified({n: case.data[n] for n in given}, given),
    }


def _context(case: Case) -> str:
    """The case's W and b, and X channel by channel when it is small (its shape otherwise)."""
    X = case.data["X"]
    values = {"W": case.data["W"], "b": case.data["b"]}
    names = ["W", "b"]
    if X.shape[0] <= 3 and X[0].numel() <= 30:
        for c in range(X.shape[0]):
            values[f"X[{c}]"] = X[c]
            names.append(f"X[{c}]")
    else:
        values["X"] = X
        names.append("X")
    return dg.case_text(case, names, values)


def _expected(X, W, b) -> torch.Tensor:
    return channel_xcorr2d(X, W.reshape(*W.shape, 1, 1), b)


def _shape_problem(got, expected, X, W, context) -> Verdict:
    c_o, n_h, n_w = expected.shape
    g, want = tuple(got.shape), shape_text(expected.shape)
    shown = (
        context
        + "\n"
        + t(
            "detail.channel_shapes",
            x=shape_text(X.shape),
            c_i=X.shape[0],
            w=shape_text(W.shape),
            b=f"({c_o},)",
            want=want,
        )
    )
    if g == (n_h, n_w, c_o) and g != (c_o, n_h, n_w):
        if dg.same(got.permute(2, 0, 1), expected):
            detail = t("detail.channels_last_values", got=shape_text(g))
        else:
            detail = t("detail.channels_last_shape", got=shape_text(g), want=want)
        return Verdict.failure("channels_last", shown + "\n" + detail, section=SECTION)
    if c_o == 1 and g == (n_h, n_w):
        detail = t("detail.dropped_channel_axis", got=shape_text(g), want=want)
        return Verdict.failure("wrong_shape", shown + "\n" + detail, section=SECTION)
    detail = t("detail.shape_other", got=shape_text(g), want=want)
    return Verdict.failure("wrong_shape", shown + "\n" + detail, section=SECTION)


def _variants(X, W, b, expected):
    """What the usual mistakes return, as (key, detail key, output)."""
    X64, W64, b64 = (dg.as_float(T) for T in (X, W, b))
    c_o, _, n_w = expected.shape
    found = [("missing_bias", "detail.bias_ignored", expected - b64[:, None, None])]
    if W.shape[0] == W.shape[1]:
        swapped = torch.einsum("cd,chw->dhw", W64, X64) + b64[:, None, None]
        found.append(("channel_order", "detail.channel_transposed", swapped))
    if n_w == c_o:
        moved = expected - b64[:, None, None] + b64[None, None, :]
        found.append(("bias_broadcast", "detail.bias_width", moved))
    return found


def _judge(case, obs):
    problem = dg.callable_problem(obs, SYMBOL, section=SECTION)
    if problem:
        return problem
    X, W, b = (case.data[n] for n in ("X", "W", "b"))
    context = _context(case)
    problem = dg.call_problem(obs["call"], SYMBOL, context=context, section=SECTION)
    if problem:
        err = obs["call"]["error"]
        c_o, n_w = W.shape[0], X.shape[2]
        if problem.misconception == "raised" and err and "must match the size" in err["message"]:
            if c_o != n_w and c_o > 1:  # the bias's c_o entries met the output's width
                return Verdict.failure(
                    "raised",
                    problem.detail,
                    section=SECTION,
                    tentative=True,
                    guess=t("detail.bias_mismatch"),
                )
        return problem
    expected = _expected(X, W, b)
    out = obs["output"]
    problem = dg.output_problem(out, SYMBOL, context=context, section=SECTION, expected=expected)
    problem = problem or dg.modified_problem(
        obs["modified"], SYMBOL, context=context, section=SECTION
    )
    if problem:
        return problem
    got = out["tensor"]
    if tuple(got.shape) != tuple(expected.shape):
        return _shape_problem(got, expected, X, W, context)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", context, section=SECTION)
    if dg.same(got, expected):
        return Verdict.ok()
    # Show the output channel where the answer goes wrong most.
    diff = (dg.as_float(got) - dg.as_float(expected)).abs().nan_to_num(nan=float("inf"))
    d = int(torch.argmax(diff.reshape(diff.shape[0], -1).amax(1)))
    shown = (
        context
        + "\n"
        + t("detail.output_channel", d=d)
        + "\n"
        + dg.expected_got(expected[d], got[d])
    )
    for key, detail, variant in _variants(X, W, b, expected):
        if not dg.same(variant, expected) and dg.same(got, variant):
            return Verdict.failure(key, shown + "\n" + t(detail), section=SECTION)
    for rounding in (torch.trunc, torch.floor, torch.round):
        rounded = rounding(dg.as_float(expected))
        if not dg.same(rounded, expected) and dg.same(got, rounded):
            dtype = str(got.dtype).replace("torch.", "")
            detail = t("detail.int_truncation", dtype=dtype)
            return Verdict.failure("int_truncation", shown + "\n" + detail, section=SECTION)
    return Verdict.failure(
        "wrong_values", shown + "\n" + t("detail.conv1x1_values"), section=SECTION
    )


CONV1X1 = Exercise(
    id="conv1x1",
    lesson=SECTION,
    symbols=(SYMBOL,),
    make_cases=_cases,
    probe_case=_probe,
    judge_case=_judge,
    time_limit=10.0,
    check_name="check_conv1x1",
    forbids=EXERCISE_RULES["conv1x1"],
)


def check_conv1x1(conv1x1, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``conv1x1(X, W, b)``: ``Y[d, i, j] = b[d] + Σ_c W[d, c] · X[c, i, j]`` for X of
    shape (c_i, n_h, n_w), W (c_o, c_i), b (c_o,); the result is (c_o, n_h, n_w)."""
    check(CONV1X1, {SYMBOL: conv1x1}, seed=seed, hidden=hidden)
