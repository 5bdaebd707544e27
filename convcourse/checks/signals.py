"""Lesson 02, one dimension: ``corr1d(x, k)`` and ``convolve1d(f, g)``.

``corr1d`` is the valid 1-D cross-correlation ``y[i] = Σ_a x[i + a] · k[a]`` (length n − m + 1),
checked against ``F.conv1d``.  ``convolve1d`` is the full convolution ``(f ∗ g)[i] =
Σ_a f[a] · g[i − a]`` (length n + m − 1), checked against ``F.conv1d`` with a reversed, padded
kernel; every case calls it in both orders, ``convolve1d(f, g)`` and ``convolve1d(g, f)``, since
convolution is commutative and an answer must not depend on which sequence is longer.
"""

from __future__ import annotations

from functools import partial

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe, inputs_modified
from convcourse.checks.core import GENERIC, Case, Exercise, Verdict, check
from convcourse.checks.correlation import probe_correlation
from convcourse.checks.inputs import by_size, decimals, small_ints
from convcourse.checks.messages import t
from convcourse.checks.render import shape_text
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.oracle import full_convolution1d, xcorr1d

__all__ = [
    "CORR1D",
    "CONVOLVE1D",
    "SIGNAL_EXAMPLE",
    "PAIR_EXAMPLE",
    "check_corr1d",
    "check_convolve1d",
]

SECTION = "signals"
#: The lesson's examples: corr1d gives [2, 5, 8, 11, 14], convolve1d [0, 1, 2.5, 4, 1.5].
SIGNAL_EXAMPLE = ((0.0, 1.0, 2.0, 3.0, 4.0, 5.0), (1.0, 2.0))
PAIR_EXAMPLE = ((1.0, 2.0, 3.0), (0.0, 1.0, 0.5))
_FLOATS = (torch.float32, torch.float64)


def _int_and_fractions(gen, rnd, n: int, m: int, hidden: bool):
    """An integer sequence of length n and one of length m with fractions."""
    ints = torch.randint(0, 10, (n,), generator=gen)
    if hidden:
        fractions = torch.randint(-6, 7, (m,), generator=gen) / 4 + 0.25
    else:
        fractions = torch.tensor([0.5, -1.0, 0.25])[:m]
    return ints, fractions


def _pairs(seed, hidden, *, exercise_id, names, geometry, example, example_kind):
    """The lesson's example, then ``geometry`` [(kind, n, m)] with small integers (visible) or
    two-decimal values (hidden), one longer pair with fractions, and an integer case."""
    gen, rnd = case_random(seed, exercise_id)
    a, b = names
    first, second = (torch.tensor(v) for v in example)
    cases = [Case(example_kind, {a: first, b: second}, ("lesson",))]
    for kind, n, m in geometry(rnd, hidden):
        if hidden:
            dtype = rnd.choice(_FLOATS)
            data = {a: decimals(gen, (n,), dtype), b: decimals(gen, (m,), dtype)}
        elif kind.startswith("long"):
            data = {a: decimals(gen, (n,)), b: decimals(gen, (m,), torch.float64)}
        else:
            data = {a: small_ints(gen, (n,)), b: small_ints(gen, (m,))}
        if kind == "asymmetric_kernel" and torch.equal(data[b], torch.flip(data[b], (0,))):
            data[b][-1] += 1  # a reversed kernel must give another result
        cases.append(Case(kind, data))
    n = rnd.randint(5, 9) if hidden else 6
    ints, fractions = _int_and_fractions(gen, rnd, n, 3, hidden)
    kind = "int_signal" if exercise_id == "corr1d" else "int_pair"
    cases.append(Case(kind, {a: ints, b: fractions}))
    return by_size(cases)


def _corr1d_geometry(rnd, hidden):
    if not hidden:
        return [
            ("one_tap", 4, 1),
            ("full_length", 3, 3),
            ("asymmetric_kernel", 7, 3),
            ("long_signal", 40, 5),
        ]
    m = rnd.randint(2, 4)
    return [
        ("one_tap", rnd.randint(2, 6), 1),
        ("full_length", m, m),
        ("asymmetric_kernel", rnd.randint(6, 10), rnd.randint(3, 4)),
        ("long_signal", rnd.randint(30, 60), rnd.randint(4, 8)),
    ]


def _convolve1d_geometry(rnd, hidden):
    if not hidden:
        return [
            ("single_tap", 4, 1),
            ("shorter_first", 2, 5),
            ("equal_length", 4, 4),
            ("longer_first", 6, 3),
            ("long_pair", 25, 6),
        ]
    n = rnd.randint(2, 5)
    return [
        ("single_tap", rnd.randint(2, 6), 1),
        ("shorter_first", rnd.randint(2, 3), rnd.randint(4, 7)),
        ("equal_length", n, n),
        ("longer_first", rnd.randint(5, 8), rnd.randint(2, 4)),
        ("long_pair", rnd.randint(20, 40), rnd.randint(4, 9)),
    ]


# ---------------------------------------------------------------------------------------------
# Shared: diagnosing a 1-D output


def _shape_of(got) -> tuple[int, ...]:
    return tuple(int(s) for s in got.shape)


def _extra_dims(g: tuple[int, ...], want: int) -> bool:
    return len(g) != 1 and tuple(s for s in g if s != 1) == (want,)


def _rounded(got, expected) -> str | None:
    """The int_truncation detail when ``got`` is ``expected`` with its fractions cut off."""
    for rounding in (torch.trunc, torch.floor, torch.round):
        rounded = rounding(dg.as_float(expected))
        if not dg.same(rounded, expected) and dg.same(got, rounded):
            return t("detail.int_truncation", dtype=str(got.dtype).replace("torch.", ""))
    return None


def _last_zero(got, expected) -> bool:
    if expected.numel() < 2:
        return False
    variant = expected.clone()
    variant[-1] = 0
    return not dg.same(variant, expected) and dg.same(got, variant)


def _result_problem(obs_call, out, modified, symbol, context, expected):
    """Problems of the call and of the returned object's kind (before its values)."""
    problem = dg.call_problem(
        obs_call, symbol, context=context, section=SECTION, window_errors=True
    )
    if problem:
        return problem
    problem = dg.output_problem(out, symbol, context=context, section=SECTION, expected=expected)
    return problem or dg.modified_problem(modified, symbol, context=context, section=SECTION)


# ---------------------------------------------------------------------------------------------
# corr1d(x, k)


def _corr1d_length(g: tuple[int, ...], n: int, m: int) -> tuple[str, str, bool]:
    """(key, detail, tentative) for a wrong output shape of the valid correlation."""
    want = n - m + 1
    if _extra_dims(g, want):
        return "wrong_shape", t("detail.length_extra_dims", got=shape_text(g), want=want), False
    if len(g) != 1:
        return "wrong_shape", t("detail.length_other", got=shape_text(g), want=want), False
    (length,) = g
    found = []
    if length == n:
        found.append(("padded_output", t("detail.length_same", got=length, want=want)))
    if length == n + m - 1:
        found.append(("padded_output", t("detail.length_full", got=length, want=want)))
    if length == want - 1:
        found.append(("off_by_one", t("detail.length_minus", got=length, want=want)))
    if length == want + 1:
        found.append(("off_by_one", t("detail.length_plus", got=length, want=want)))
    if not found:
        return "wrong_shape", t("detail.length_other", got=shape_text(g), want=want), False
    key, detail = found[0]
    return key, detail, len({k for k, _ in found}) > 1


def _judge_corr1d(case, obs):
    symbol = "corr1d"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    x, k = case.data["x"], case.data["k"]
    context = dg.case_text(case, ["x", "k"])
    expected = xcorr1d(x, k)
    out = obs["output"]
    problem = _result_problem(obs["call"], out, obs["modified"], symbol, context, expected)
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=SECTION)
    if _shape_of(got) != _shape_of(expected):
        key, detail, unsure = _corr1d_length(_shape_of(got), x.numel(), k.numel())
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)
    if dg.same(got, expected):
        return Verdict.ok()
    found = []
    flipped = xcorr1d(dg.as_float(x), torch.flip(dg.as_float(k), (0,)))
    if not dg.same(flipped, expected) and dg.same(got, flipped):
        found.append(("flipped_kernel", t("detail.flipped_1d")))
    truncated = _rounded(got, expected)
    if truncated:
        found.append(("int_truncation", truncated))
    if _last_zero(got, expected):
        found.append(("off_by_one", t("detail.signal_last_zero")))
    lesson = xcorr1d(*(torch.tensor(v) for v in SIGNAL_EXAMPLE))
    if dg.same(got, lesson) and not dg.same(expected, lesson):
        found.append(("hardcoded_example", t("detail.signal_lesson_output")))
    if not found:
        return Verdict.failure(
            "wrong_values", shown + "\n" + t("detail.corr1d_values"), section=SECTION
        )
    key, detail = found[0]
    unsure = len({k for k, _ in found}) > 1
    return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)


# ---------------------------------------------------------------------------------------------
# convolve1d(f, g): both orders


def _probe_convolve1d(objs, case, limit):
    fn = objs["convolve1d"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    obs = {}
    for prefix, order in (("", ("f", "g")), ("swapped_", ("g", "f"))):
        given = {n: case.data[n].clone() for n in order}
        call = call_student(fn, *(given[n] for n in order), limit=limit)
        obs[prefix + "call"] = call.facts()
        obs[prefix + "output"] = describe(call.value)
        obs[prefix + "modified"] = inputs_modified({n: case.data[n] for n in order}, given)
        if call.timed_out:  # no second call after a time-out: the check stops here
            break
    return obs


def _full_length(g: tuple[int, ...], n: int, m: int) -> tuple[str, str, bool]:
    want = n + m - 1
    if _extra_dims(g, want):
        return "wrong_shape", t("detail.length_extra_dims", got=shape_text(g), want=want), False
    if len(g) != 1:
        return "wrong_shape", t("detail.length_other", got=shape_text(g), want=want), False
    (length,) = g
    found = []
    if length == abs(n - m) + 1:
        found.append(("not_full", t("detail.full_valid", got=length, want=want)))
    if length in (n, m):
        found.append(("not_full", t("detail.full_same", got=length, want=want)))
    if length == want - 1:
        found.append(("off_by_one", t("detail.full_minus", got=length, want=want)))
    if length == want + 1:
        found.append(("off_by_one", t("detail.full_plus", got=length, want=want)))
    if not found:
        return "wrong_shape", t("detail.length_other", got=shape_text(g), want=want), False
    key, detail = found[0]
    return key, detail, len({k for k, _ in found}) > 1


def _judge_one_order(case, obs, prefix: str, names: tuple[str, str]) -> Verdict:
    """The verdict on ``convolve1d(*names)`` (names of the case's sequences, in call order)."""
    symbol = "convolve1d"
    a, b = (case.data[n] for n in names)
    context = dg.case_text(case, list(names))
    if prefix:
        context = t("detail.call_swapped") + "\n" + context
    expected = full_convolution1d(a, b)
    out = obs[prefix + "output"]
    call, modified = obs[prefix + "call"], obs[prefix + "modified"]
    problem = _result_problem(call, out, modified, symbol, context, expected)
    if problem:
        return problem
    got = out["tensor"]
    shown = context + "\n" + dg.expected_got(expected, got)
    if dg.nonfinite(got):
        return Verdict.failure("nan_output", shown, section=SECTION)
    if _shape_of(got) != _shape_of(expected):
        key, detail, unsure = _full_length(_shape_of(got), a.numel(), b.numel())
        return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)
    if dg.same(got, expected):
        return Verdict.ok()
    found = []
    a64, b64 = dg.as_float(a), dg.as_float(b)
    for variant in (
        full_convolution1d(a64, torch.flip(b64, (0,))),
        full_convolution1d(torch.flip(a64, (0,)), b64),
    ):
        if not dg.same(variant, expected) and dg.same(got, variant):
            found.append(("not_flipped", t("detail.full_correlation")))
            break
    truncated = _rounded(got, expected)
    if truncated:
        found.append(("int_truncation", truncated))
    if _last_zero(got, expected):
        found.append(("off_by_one", t("detail.full_last_zero")))
    lesson = full_convolution1d(*(torch.tensor(v) for v in PAIR_EXAMPLE))
    if dg.same(got, lesson) and not dg.same(expected, lesson):
        found.append(("hardcoded_example", t("detail.full_lesson_output")))
    if not found:
        return Verdict.failure(
            "wrong_values", shown + "\n" + t("detail.full_values"), section=SECTION
        )
    key, detail = found[0]
    unsure = len({k for k, _ in found}) > 1
    return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)


# Failures of one order that say nothing about the order (the same mistake shows in the other
# order too, or the verdict is about the call rather than the result).
_NOT_ORDER = frozenset({"timeout", "modified_input", "not_implemented"})


def _judge_convolve1d(case, obs):
    problem = dg.callable_problem(obs, "convolve1d", section=SECTION)
    if problem:
        return problem
    first = _judge_one_order(case, obs, "", ("f", "g"))
    if "swapped_call" not in obs:  # the first call timed out
        return first
    second = _judge_one_order(case, obs, "swapped_", ("g", "f"))
    if first.passed and second.passed:
        return Verdict.ok()
    if first.passed != second.passed:
        failing = second if first.passed else first
        # A specific, certain diagnosis explains the failure better (a mistake such as not
        # reversing g is invisible in one order when g has length 1); otherwise the order is it.
        specific = failing.misconception not in GENERIC and not failing.tentative
        if failing.misconception not in _NOT_ORDER and not specific:
            right, wrong = ("f", "g") if first.passed else ("g", "f")
            detail = t("detail.only_one_order", first=right, second=wrong) + "\n" + failing.detail
            return Verdict.failure("order_dependent", detail, section=SECTION)
        return failing
    # Both orders fail: the first one's diagnosis, unless only the second names a mistake.
    if first.misconception in GENERIC and second.misconception not in GENERIC:
        return second
    return first


# ---------------------------------------------------------------------------------------------
# The exercises

CORR1D = Exercise(
    id="corr1d",
    lesson=SECTION,
    symbols=("corr1d",),
    make_cases=partial(
        _pairs,
        exercise_id="corr1d",
        names=("x", "k"),
        geometry=_corr1d_geometry,
        example=SIGNAL_EXAMPLE,
        example_kind="signal_example",
    ),
    probe_case=partial(probe_correlation, symbol="corr1d", names=("x", "k")),
    judge_case=_judge_corr1d,
    time_limit=10.0,
    check_name="check_corr1d",
    forbids=EXERCISE_RULES["corr1d"],
)

CONVOLVE1D = Exercise(
    id="convolve1d",
    lesson=SECTION,
    symbols=("convolve1d",),
    make_cases=partial(
        _pairs,
        exercise_id="convolve1d",
        names=("f", "g"),
        geometry=_convolve1d_geometry,
        example=PAIR_EXAMPLE,
        example_kind="pair_example",
    ),
    probe_case=_probe_convolve1d,
    judge_case=_judge_convolve1d,
    time_limit=10.0,
    check_name="check_convolve1d",
    forbids=EXERCISE_RULES["convolve1d"],
)


def check_corr1d(corr1d, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``corr1d(x, k)``: ``y[i] = Σ_a x[i + a] · k[a]``, of length n − m + 1."""
    check(CORR1D, {"corr1d": corr1d}, seed=seed, hidden=hidden)


def check_convolve1d(convolve1d, *, seed: int | None = None, hidden: bool = False) -> None:
    """Check ``convolve1d(f, g)``: the full convolution ``Σ_a f[a] · g[i − a]`` of length
    n + m − 1, in both orders of the arguments."""
    check(CONVOLVE1D, {"convolve1d": convolve1d}, seed=seed, hidden=hidden)
