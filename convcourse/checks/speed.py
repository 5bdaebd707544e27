"""How fast is ``corr2d_fast``?  Timed against a loop as costly as the lesson's, or F.conv2d.

Levels: ``"pass"`` needs at least ``PASS_FACTOR`` times the speed of ``loop_yardstick`` on a
64x64 image with a 3x3 kernel; ``"full"`` needs at most ``FULL_FACTOR`` times the time of
``torch.nn.functional.conv2d`` on 256x256 with 3x3.

``loop_yardstick`` costs what the lesson's loop costs -- a double loop over the output cells
with one window-sized element-wise operation and one sum each -- but it is not a
cross-correlation (it adds the kernel to the window instead of multiplying), so the checks hold
no answer.  The grader times the same function.

Everything is timed in the student's process with one thread (``torch.set_num_threads(1)``,
restored afterwards), as medians of several repetitions.  The loop is slow (about 50 ms per
64x64 image), so it is timed on the first ``LOOP_ROWS`` output rows only and scaled up to all
62: its cost is the same small slice-add-sum for every output cell, so it grows linearly with
the number of rows.  A whole check takes well under 3 s.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import torch
import torch.nn.functional as F

from convcourse.checks.calls import call_student, describe
from convcourse.checks.core import Case, Exercise, Verdict, check
from convcourse.checks.correlation import judge_correlation
from convcourse.checks.messages import t
from convcourse.checks.render import number
from convcourse.checks.rules import EXERCISE_RULES
from convcourse.checks.seeds import case_random

__all__ = [
    "SPEED_EXERCISES",
    "check_corr2d_speed",
    "loop_yardstick",
    "PASS_FACTOR",
    "FULL_FACTOR",
    "LOOP_ROWS",
]

PASS_FACTOR = 50.0
FULL_FACTOR = 10.0
LOOP_ROWS = 8
#: One repetition of a timing lasts at least this long (many calls of a fast function).
MIN_REPETITION_S = 0.002
#: A function slower than this per call is timed once: one call already says enough.
SLOW_CALL_S = 0.5
REPETITIONS = 5
SIZES = {"pass": 64, "full": 256}


def loop_yardstick(X: torch.Tensor, K: torch.Tensor, rows: int | None = None) -> torch.Tensor:
    """The "pass" level's yardstick: the lesson's double loop over the output cells, with one
    window-sized element-wise operation and one sum per cell, ``(X[i:i+h, j:j+w] + K).sum()``.

    It costs what the lesson's corr2d costs (the same slicing, one element-wise operation, one
    sum and one store per cell) but is no cross-correlation: the kernel is added, not
    multiplied.  ``rows`` limits the loop to the first output rows (all when None); the result
    has that many rows.
    """
    h, w = K.shape
    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    rows = o_h if rows is None else max(0, min(int(rows), o_h))
    Y = torch.zeros((rows, o_w), dtype=torch.promote_types(X.dtype, K.dtype))
    for i in range(rows):
        for j in range(o_w):
            Y[i, j] = (X[i : i + h, j : j + w] + K).sum()
    return Y


def _speed_cases(seed, hidden, *, level):
    gen, _ = case_random(seed, f"corr2d-speed-{level}")
    n = SIZES[level]
    X = torch.rand((n, n), generator=gen)
    K = torch.rand((3, 3), generator=gen)
    return [Case("speed_" + level, {"X": X, "K": K, "level": level})]


def _calls_per_repetition(first_seconds: float) -> int:
    return int(min(2000, max(1, MIN_REPETITION_S / max(first_seconds, 1e-7))))


def _one_repetition(run, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        run()
    return (time.perf_counter() - start) / number


def _timed_once(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _yardstick(X: torch.Tensor, K: torch.Tensor, level: str):
    """(run, scale, how): ``run()`` times the yardstick; its time times ``scale`` is the
    yardstick's time on the whole case."""
    if level == "pass":
        k_h = K.shape[0]
        total_rows = X.shape[0] - k_h + 1
        rows = min(LOOP_ROWS, total_rows)
        how = t("detail.loop_extrapolated", rows=rows, total=total_rows)
        return (lambda: loop_yardstick(X, K, rows)), total_rows / rows, how
    X4, K4 = X.reshape(1, 1, *X.shape), K.reshape(1, 1, *K.shape)
    return (lambda: F.conv2d(X4, K4)), 1.0, "F.conv2d"


def _measure(fn, X, K, level: str, traced_seconds: float) -> dict:
    """Median seconds per call of the student's function and of the yardstick, measured in
    alternating repetitions (so a busy machine slows both alike)."""
    student_run = partial(fn, X, K)
    base_run, scale, how = _yardstick(X, K, level)
    base_first = (_timed_once(base_run), _timed_once(base_run))[1]  # the first one warms up
    if traced_seconds > SLOW_CALL_S:
        # Slow: a single untraced call says enough, and repeating it would take too long.
        student = _timed_once(student_run)
        base = statistics.median(_one_repetition(base_run, 1) for _ in range(REPETITIONS))
        return {
            "student_s": student,
            "student_calls": 1,
            "baseline_s": base * scale,
            "baseline": how,
        }
    _timed_once(student_run)  # warm-up
    number = _calls_per_repetition(_timed_once(student_run))
    base_number = _calls_per_repetition(base_first)
    student_times, base_times = [], []
    for _ in range(REPETITIONS):
        student_times.append(_one_repetition(student_run, number))
        base_times.append(_one_repetition(base_run, base_number))
    return {
        "student_s": statistics.median(student_times),
        "student_calls": number * REPETITIONS,
        "baseline_s": statistics.median(base_times) * scale,
        "baseline": how,
    }


def _probe_speed(objs, case, limit, *, level):
    fn = objs["corr2d_fast"]
    if not callable(fn):
        return {"not_callable": describe(fn)}
    X, K = case.data["X"].clone(), case.data["K"].clone()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        first = call_student(fn, X, K, limit=limit)  # traced: correctness and library use
        obs = {
            "call": first.facts(),
            "output": describe(first.value),
            "modified": [],
            "timing": None,
        }
        if not first.ok:
            return obs
        timed = call_student(_measure, fn, X, K, level, first.seconds, limit=limit, trace=False)
        obs["timing_call"] = timed.facts()
        obs["timing"] = timed.value if timed.ok else None
        return obs
    finally:
        torch.set_num_threads(threads)


def _judge_speed(case, obs, *, level):
    symbol = "corr2d_fast"
    verdict = judge_correlation(case, obs, symbol=symbol, section="fast")
    if not verdict.passed:
        return verdict
    call = obs.get("timing_call")
    if call is not None and not call["ok"]:
        if call["timed_out"]:
            detail = t("detail.speed_timeout", limit=number(call["limit"]), n=SIZES[level])
            return Verdict.failure("too_slow", detail, section="fast")
        err = call["error"]
        return Verdict.failure(
            "raised",
            t("detail.raised", symbol=symbol, type=err["type"], message=err["message"]),
            section="fast",
        )
    timing = obs["timing"]
    student, baseline = timing["student_s"], timing["baseline_s"]
    n = SIZES[level]
    if level == "pass":
        ratio = baseline / max(student, 1e-12)
        passed = ratio >= PASS_FACTOR
        text = t(
            "detail.speed_pass",
            ratio=number(round(ratio, 1)),
            need=number(PASS_FACTOR),
            student=_ms(student),
            baseline=_ms(baseline),
            how=timing["baseline"],
            n=n,
        )
    else:
        ratio = student / max(baseline, 1e-12)
        passed = ratio <= FULL_FACTOR
        text = t(
            "detail.speed_full",
            ratio=number(round(ratio, 1)),
            need=number(FULL_FACTOR),
            student=_ms(student),
            baseline=_ms(baseline),
            n=n,
        )
    if passed:
        return Verdict.ok(text)
    return Verdict.failure("too_slow", text, section="fast")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def _speed_exercise(level: str) -> Exercise:
    return Exercise(
        id=f"corr2d-speed-{level}",
        lesson="fast",
        symbols=("corr2d_fast",),
        make_cases=partial(_speed_cases, level=level),
        probe_case=partial(_probe_speed, level=level),
        judge_case=partial(_judge_speed, level=level),
        time_limit=10.0,
        check_name="check_corr2d_speed",
        forbids=EXERCISE_RULES[f"corr2d-speed-{level}"],
    )


#: The timing checks of exercise ``corr2d-fast``, by level.
SPEED_EXERCISES = {level: _speed_exercise(level) for level in ("pass", "full")}


def check_corr2d_speed(
    corr2d_fast, level: str = "pass", *, seed: int | None = None, hidden: bool = False
) -> None:
    """Check that ``corr2d_fast`` is correct and fast: level "pass" (≥ 50× a loop as costly
    as the lesson's corr2d, at 64×64) or "full" (≤ 10× F.conv2d at 256×256), both with a 3×3
    kernel, timed with one thread."""
    if level not in SPEED_EXERCISES:
        raise ValueError(f"level must be one of {', '.join(SPEED_EXERCISES)}, got {level!r}")
    check(SPEED_EXERCISES[level], {"corr2d_fast": corr2d_fast}, seed=seed, hidden=hidden)
