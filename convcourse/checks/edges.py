"""Lesson 04, the edge detector on a diagonal edge (d2l's first exercise of the section).

``diagonal_edge_responses(n)`` returns what the edge kernel K = [[1, −1]] gives on the n×n
diagonal image X (1 above the main diagonal, 0 on and below it), on its transpose, and what the
transposed kernel gives on X: X ⋆ K, Xᵀ ⋆ K and X ⋆ Kᵀ.  The judge computes them with the
library's cross-correlation and names the usual mistakes: the sign of the difference, "no
response at all" (what the notes claimed for slanted edges), the two transposes mixed up.
"""

from __future__ import annotations

import torch

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.inputs import EDGE_K
from convcourse.checks.messages import t
from convcourse.checks.render import named_block, shape_text, side_by_side
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random
from convcourse.images import diagonal_edge_image
from convcourse.oracle import xcorr2d

__all__ = ["DIAGONAL_EDGES", "check_diagonal_edge_responses"]

SECTION = "detectors"
#: How each of the three results is named in the messages.
PARTS = ("X ⋆ K", "Xᵀ ⋆ K", "X ⋆ Kᵀ")


def _cases(seed, hidden):
    _, rnd = case_random(seed, "diagonal-edges")
    sizes = sorted(rnd.sample(range(2, 15), 3)) if hidden else [4, 8]
    return [Case("diagonal_image", {"n": n}) for n in sizes]


def _probe(objs, case, limit):
    fn = objs["diagonal_edge_responses"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    call = call_student(fn, case.data["n"], limit=limit)
    value = call.value
    obs = {"call": call.facts(), "output": describe(value), "parts": None}
    if isinstance(value, tuple | list) and len(value) == 3:
        obs["parts"] = [describe(v) for v in value]
    return obs


def _expected(n: int) -> list[torch.Tensor]:
    X = diagonal_edge_image(n).to(torch.float64)
    K = torch.tensor(EDGE_K, dtype=torch.float64)
    return [xcorr2d(X, K), xcorr2d(X.T, K), xcorr2d(X, K.T)]


def _inputs(n: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(image shape, kernel shape) of each of the three correlations."""
    return [((n, n), (1, 2)), ((n, n), (1, 2)), ((n, n), (2, 1))]


def _judge(case, obs):
    symbol = "diagonal_edge_responses"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    n = case.data["n"]
    X = diagonal_edge_image(n)
    K = torch.tensor(EDGE_K)
    context = t("detail.case_call", label=case.label, call=f"{symbol}({n})")
    if n <= 8:
        context += "\n" + side_by_side([named_block("X", X), named_block("K", K)])
    problem = dg.call_problem(obs["call"], symbol, context=context, section=SECTION)
    if problem:
        return problem
    out, parts = obs["output"], obs["parts"]
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section=SECTION)
    if parts is None:
        shown = out.get("repr", out.get("value", out["type"]))
        return dg.wrong_type(
            symbol, out["type"], shown, t("want.three_tensors"), context, section=SECTION
        )
    expected = _expected(n)
    tensors = [p.get("tensor") if p["kind"] == "tensor" else None for p in parts]
    if (
        tensors[1] is not None
        and tensors[2] is not None
        and dg.same(tensors[1], expected[2])
        and dg.same(tensors[2], expected[1])
    ):
        return Verdict.failure(
            "transposes_confused", context + "\n" + t("detail.transposes_swapped"), section=SECTION
        )
    for index, (part, want) in enumerate(zip(parts, expected, strict=True)):
        name = PARTS[index]
        where = context + "\n" + t("detail.diagonal_part", part=name, index=index)
        problem = dg.output_problem(part, name, context=where, section=SECTION, expected=want)
        if problem:
            return problem
        got = part["tensor"]
        shown = where + "\n" + dg.expected_got(want, got)
        if dg.nonfinite(got):
            return Verdict.failure("nan_output", shown, section=SECTION)
        if tuple(got.shape) == (n, n):  # the image's own size: the output does not shrink
            detail = t(
                "detail.shape_padded", got=shape_text(got.shape), want=shape_text(want.shape)
            )
            return Verdict.failure("padded_output", shown + "\n" + detail, section=SECTION)
        if tuple(got.shape) != tuple(want.shape):
            key, detail, unsure = dg.shape_mistake(got.shape, *_inputs(n)[index])
            return Verdict.failure(key, shown + "\n" + detail, section=SECTION, tentative=unsure)
        if dg.same(got, want):
            continue
        if dg.same(got, -want):
            return Verdict.failure("edge_sign", shown, section=SECTION, expected=want, got=got)
        if not bool(dg.as_float(got).abs().gt(0).any()):
            return Verdict.failure("diagonal_no_response", shown, section=SECTION)
        return Verdict.failure(
            "wrong_values",
            shown + "\n" + t("detail.diagonal_values"),
            section=SECTION,
            expected=want,
            got=got,
        )
    return Verdict.ok()


DIAGONAL_EDGES = Exercise(
    id="diagonal-edges",
    lesson=SECTION,
    symbols=("diagonal_edge_responses",),
    make_cases=_cases,
    probe_case=_probe,
    judge_case=_judge,
    time_limit=5.0,
    check_name="check_diagonal_edge_responses",
    forbids=EXERCISE_RULES["diagonal-edges"],
)


def check_diagonal_edge_responses(
    diagonal_edge_responses, *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check ``diagonal_edge_responses(n)``: (X ⋆ K, Xᵀ ⋆ K, X ⋆ Kᵀ) for the n×n diagonal image
    and K = [[1, -1]], worked out without a library correlation."""
    check(
        DIAGONAL_EDGES,
        {"diagonal_edge_responses": diagonal_edge_responses},
        seed=seed,
        hidden=hidden,
    )
