"""Lesson 03, stacking layers: the receptive field of an output pixel of stacked layers.

Layers of kernel sizes (k_h, k_w) applied one after the other (stride 1, no padding): one pixel
of the last output depends on a (1 + Σ (k_h − 1)) × (1 + Σ (k_w − 1)) block of the input.  The
judge names the usual wrong formulas by what they compute: the plain sum or the product of the
kernel sizes, the last layer only, one pixel too many or too few, height and width swapped.
"""

from __future__ import annotations

import math

from convcourse.checks import diagnose as dg
from convcourse.checks.calls import call_student, describe
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.messages import t
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random

__all__ = ["RECEPTIVE_FIELD", "check_receptive_field"]

SECTION = "stacking"

_VISIBLE = [
    ("rf_d2l", [(2, 2), (2, 2)]),
    ("rf_single", [(1, 2)]),
    ("rf_mixed", [(1, 2), (2, 1)]),
    ("rf_square_stack", [(3, 3), (3, 3)]),
    ("rf_rectangular", [(1, 3), (5, 1), (2, 2)]),
    ("rf_deep", [(3, 3)] * 4),
]


def _cases(seed, hidden):
    _, rnd = case_random(seed, "receptive-field")
    if not hidden:
        stacks = _VISIBLE
    else:
        k = rnd.randint(2, 5)
        stacks = [
            ("rf_single", [(rnd.randint(1, 4), rnd.randint(2, 6))]),
            ("rf_mixed", [(1, rnd.randint(2, 4)), (rnd.randint(2, 4), 1)]),
            ("rf_square_stack", [(k, k)] * rnd.randint(2, 3)),
            (
                "rf_rectangular",
                [(rnd.randint(1, 6), rnd.randint(1, 6)) for _ in range(rnd.randint(3, 4))],
            ),
            ("rf_deep", [(rnd.randint(2, 4), rnd.randint(2, 4)) for _ in range(rnd.randint(5, 7))]),
        ]
    return [Case(kind, {"kernel_shapes": [tuple(s) for s in shapes]}) for kind, shapes in stacks]


def _probe(objs, case, limit):
    fn = objs["receptive_field"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    given = [tuple(s) for s in case.data["kernel_shapes"]]
    call = call_student(fn, list(given), limit=limit)
    obs = {"call": call.facts(), "output": describe(call.value), "entries": None}
    value = call.value
    if isinstance(value, tuple | list):  # torch.Size is a tuple too
        obs["entries"] = [
            int(v) if isinstance(v, int) and not isinstance(v, bool) else describe(v)["type"]
            for v in value
        ]
    return obs


def _formulas(shapes):
    """(key, detail key, (r_h, r_w)) for the usual wrong formulas."""
    hs, ws = [h for h, _ in shapes], [w for _, w in shapes]
    right = (1 + sum(h - 1 for h in hs), 1 + sum(w - 1 for w in ws))
    return right, [
        ("rf_no_overlap", "detail.rf_sum", (sum(hs), sum(ws))),
        ("rf_multiplies", "detail.rf_product", (math.prod(hs), math.prod(ws))),
        ("rf_last_layer_only", "detail.rf_last", tuple(shapes[-1])),
        ("rf_last_layer_only", "detail.rf_largest", (max(hs), max(ws))),
        ("rf_off_by_one", "detail.rf_minus_one", (right[0] - 1, right[1] - 1)),
        ("rf_off_by_one", "detail.rf_plus_one", (right[0] + 1, right[1] + 1)),
        ("swapped_hw", "detail.rf_swapped", right[::-1]),
    ]


def _judge(case, obs):
    symbol = "receptive_field"
    problem = dg.callable_problem(obs, symbol, section=SECTION)
    if problem:
        return problem
    shapes = [tuple(s) for s in case.data["kernel_shapes"]]
    stack = " → ".join(f"{h}×{w}" for h, w in shapes)
    context = t("detail.case_call", label=case.label, call=f"{symbol}({shapes})") + "\n"
    context += t("detail.rf_stack", stack=stack, layers=len(shapes))
    problem = dg.call_problem(obs["call"], symbol, context=context, section=SECTION)
    if problem:
        return problem
    out, entries = obs["output"], obs["entries"]
    if out["kind"] == "none":
        return dg.returned_none(symbol, context, section=SECTION)
    if entries is None or len(entries) != 2 or not all(isinstance(e, int) for e in entries):
        shown = out.get("repr", out.get("value", entries))
        return dg.wrong_type(
            symbol, out["type"], shown, t("want.shape_tuple"), context, section=SECTION
        )
    got = tuple(entries)
    right, wrong = _formulas(shapes)
    if got == right:
        return Verdict.ok()
    shown = context + "\n" + t("detail.expected_got_inline", expected=right, got=got)
    matched = [(key, detail) for key, detail, value in wrong if value == got and value != right]
    if not matched:
        return Verdict.failure("wrong_values", shown, section=SECTION)
    # Two formulas that agree on this stack (sum and product of 2 and 2): another case decides.
    key, detail = matched[0]
    unsure = len({k for k, _ in matched}) > 1
    return Verdict.failure(key, shown + "\n" + t(detail), section=SECTION, tentative=unsure)


RECEPTIVE_FIELD = Exercise(
    id="receptive-field",
    lesson=SECTION,
    symbols=("receptive_field",),
    make_cases=_cases,
    probe_case=_probe,
    judge_case=_judge,
    time_limit=5.0,
    check_name="check_receptive_field",
    forbids=EXERCISE_RULES["receptive-field"],
)


def check_receptive_field(receptive_field, *, seed: int | None = None, hidden: bool = False):
    """Check ``receptive_field(kernel_shapes)``: the (height, width) of the input block that one
    output pixel of the stacked layers depends on."""
    check(RECEPTIVE_FIELD, {"receptive_field": receptive_field}, seed=seed, hidden=hidden)
