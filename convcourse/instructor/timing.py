"""Timing a student's function with the grader's clock, never the submission's.

The speed checks (``convcourse.checks.speed``) time the student's ``corr2d_fast`` against a
yardstick inside the student's process -- fine for feedback in a notebook, useless for grading,
since a submission can patch ``time.perf_counter``, the probe, or the yardstick itself.  Here:

- the grader sends the sandboxed child a fresh random seed and starts its stopwatch; the child
  makes the inputs from the seed, calls the function on each, and returns the outputs' sums
  weighted by a random matrix also made from the seed; the stopwatch stops when they arrive,
  and the grader recomputes a few sums at positions it draws afterwards (so every output had
  to be computed, after the clock started -- no cache, no fake answer, no head start);
- right after each such round, the zygote -- the sandbox's fork server, in which no student
  code ever ran -- runs the yardstick (the lesson's loop, or ``F.conv2d``) and a do-nothing
  function the same way, timed by the same stopwatch.  Student and yardstick rounds alternate,
  so a busy machine slows both alike; the do-nothing round measures the exchange's own cost,
  which is subtracted from both.

The best of a few rounds is kept, as the in-notebook check keeps a median.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the grader's CLI starts faster
    import torch

__all__ = [
    "SpeedTimer",
    "speed_level",
    "student_timer",
    "round_inputs",
    "ROUNDS",
    "MAX_ROUNDS",
    "SPEED_PROBE",
]

ROUNDS = 3  # rounds for a close call; a clear one stops after the first
MAX_ROUNDS = 5  # a borderline one gets a few more
#: The exercise whose probe checks a timed function's correctness in the sandbox (the speed
#: exercises' own probe also runs a stopwatch there, which the grader does not use).
SPEED_PROBE = "corr2d-fast"
KERNEL = (3, 3)
# How many inputs one round of the student's function uses: enough work to time, not more.
_MAX_INPUTS = {64: 100, 256: 20}
_TARGET_ROUND_S = 0.015
_ENOUGH_S = 0.3
# Sums checked per round, at positions chosen after the sums arrived.
_CHECKED_PER_ROUND = 3
# The yardstick of each level: the lesson's loop on the first rows (scaled up to the whole
# output, as the in-notebook check does: every output row costs the same), or F.conv2d.
LOOP_ROWS = 8
_YARDSTICK = {
    "pass": ("loop", "the lesson's loop convcourse.corr.corr2d"),
    "full": ("conv", "F.conv2d"),
}


def speed_level(exercise_id: str) -> str | None:
    """``"pass"`` / ``"full"`` for the speed exercises, None for the others."""
    try:
        from convcourse.checks.speed import SPEED_EXERCISES
    except ImportError:
        return None
    for level, exercise in SPEED_EXERCISES.items():
        if exercise.id == exercise_id:
            return level
    return None


def _size(level: str) -> int:
    from convcourse.checks.speed import SIZES

    return SIZES[level]


def _reference(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    X64, K64 = X.to(torch.float64), K.to(torch.float64)
    return F.conv2d(X64.reshape(1, 1, *X.shape), K64.reshape(1, 1, *K.shape))[0, 0]


def round_inputs(seed: int, n: int, count: int, K: torch.Tensor):
    """The weights and inputs of one round, made from ``seed`` (the sandbox makes the same)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    o = (n - K.shape[0] + 1, n - K.shape[1] + 1)
    W = torch.rand(o, generator=gen, dtype=torch.float64) - 0.5
    X = [torch.rand((n, n), generator=gen) for _ in range(count)]
    return W, X


@dataclass
class _Round:
    sent_at: float
    seed: int
    elapsed: float | None = None
    sums: list | None = None
    error: str | None = None


@dataclass
class SpeedTimer:
    """The timing of one test cell: the student's rounds, and the zygote's yardstick rounds."""

    level: str
    n: int
    count: int
    K: torch.Tensor
    rounds: list[_Round] = field(default_factory=list)
    yardstick: list[float] = field(default_factory=list)  # seconds per call, per round
    overhead: list[float] = field(default_factory=list)  # seconds per call of the exchange
    _problem: str | None = field(default=None, init=False)
    _checked: bool = field(default=False, init=False)

    # -- the student's rounds (through the sandboxed child)

    def job(self) -> dict:
        seed = secrets.randbits(62)
        self.rounds.append(_Round(time.monotonic(), seed))
        return {"seed": seed, "n": self.n, "count": self.count, "K": self.K}

    def done(self, frame: dict) -> None:
        if not self.rounds or self.rounds[-1].elapsed is not None:
            return
        last = self.rounds[-1]
        last.elapsed = time.monotonic() - last.sent_at
        sums = frame.get("sums")
        last.sums = sums if isinstance(sums, list) else []
        last.error = str(frame["error"])[:300] if frame.get("error") else None

    def enough(self) -> bool:
        """Whether the verdict is clear: no more rounds needed.

        A slow function (one round took long) is slow; a clear pass is decided by its first
        round; anything else gets ``ROUNDS`` rounds, a borderline case up to ``MAX_ROUNDS``
        (the best round counts: noise on a busy machine only ever adds time).
        """
        finished = [r for r in self.rounds if r.elapsed is not None]
        if any(r.elapsed > _ENOUGH_S for r in finished) or len(finished) >= MAX_ROUNDS:
            return True
        if not finished or not self.yardstick:
            return not finished and bool(self.rounds)  # a round got no answer: stop
        margin = self.margin()
        if margin >= 2.0:  # a clear pass (a failing verdict always gets several rounds)
            return True
        return len(finished) >= ROUNDS and not 0.8 <= margin <= 1.25

    def margin(self) -> float:
        """How many times over the threshold (> 1: passes), from the best rounds so far."""
        from convcourse.checks.speed import FULL_FACTOR, PASS_FACTOR

        student, yardstick = self.student_per_call(), self.yardstick_per_call()
        if self.level == "pass":
            return yardstick / student / PASS_FACTOR
        return FULL_FACTOR / (student / yardstick)

    # -- the yardstick's rounds (through the zygote, which never ran student code)

    def time_yardstick(self, sandbox) -> None:
        """One round of the yardstick in the zygote (and, once per sandbox and size, a few
        rounds of the do-nothing function that measure the exchange's own cost)."""
        kind, _how = _YARDSTICK[self.level]
        K = self.K.tolist()
        overhead = _exchange_cost(sandbox, self.n, K)
        rows = min(LOOP_ROWS, self.n - self.K.shape[0] + 1)
        count = 1 if kind == "loop" else _MAX_INPUTS[self.n]
        ref = sandbox.time_reference(kind, self.n, count, secrets.randbits(62), K, rows=rows)
        if overhead is None or ref is None:
            return
        self.overhead.append(overhead)
        per_call = max(ref / count - overhead, 1e-7)
        if kind == "loop":  # timed on the first rows; every output row costs the same
            per_call *= (self.n - self.K.shape[0] + 1) / rows
        self.yardstick.append(per_call)

    # -- verdict

    def problem(self) -> str | None:
        """Why the timing cannot be trusted, or None when the sums checked are right.

        A few sums per round are recomputed, at positions drawn after the sums arrived: a
        submission that skipped or faked some of its work cannot know which are checked.
        """
        if not self._checked:
            self._problem = self._find_problem()
            self._checked = True
        return self._problem

    def _find_problem(self) -> str | None:
        finished = [r for r in self.rounds if r.elapsed is not None]
        if not finished:
            return "no timing came back"
        if not self.yardstick:
            return "the grader could not time the yardstick"
        for r in finished:
            if r.error:
                return f"it raised {r.error} when the grader timed it"
            if len(r.sums) != self.count:
                return "it did not return an output for every timed input"
            W, X = round_inputs(r.seed, self.n, self.count, self.K)
            picks = {secrets.randbelow(self.count) for _ in range(_CHECKED_PER_ROUND)}
            for i in sorted(picks):
                want = float((_reference(X[i], self.K) * W).sum())
                got = r.sums[i]
                if not isinstance(got, float) or not math.isclose(
                    got, want, rel_tol=1e-4, abs_tol=1e-3
                ):
                    return "it returned different results when the grader timed it"
        return None

    def student_per_call(self) -> float:
        finished = [r.elapsed for r in self.rounds if r.elapsed is not None]
        return max(min(finished) / self.count - min(self.overhead), 1e-7)

    def yardstick_per_call(self) -> float:
        return min(self.yardstick)

    @property
    def yardstick_name(self) -> str:
        return _YARDSTICK[self.level][1]


def _exchange_cost(sandbox, n: int, K: list) -> float | None:
    """Seconds per call that an exchange costs besides the function itself (making the input,
    weighting the output, the messages), measured with a do-nothing function in the zygote
    the first time a sandbox times an ``n`` x ``n`` input, then remembered."""
    cache = sandbox.__dict__.setdefault("exchange_cost", {})
    if n not in cache:
        count = _MAX_INPUTS[n]
        rounds = [
            sandbox.time_reference("null", n, count, secrets.randbits(62), K) for _ in range(ROUNDS)
        ]
        if any(r is None for r in rounds):
            return None
        cache[n] = min(rounds) / count
    return cache[n]


def student_timer(level: str, first_call_s, K: torch.Tensor | None) -> SpeedTimer:
    """A timer for the student's function; the number of inputs follows its first call."""
    import torch

    n = _size(level)
    first = first_call_s if isinstance(first_call_s, int | float) and first_call_s > 0 else 0.01
    least = 1 if first > _TARGET_ROUND_S else 3
    count = int(min(_MAX_INPUTS[n], max(least, _TARGET_ROUND_S / max(first, 1e-6))))
    if K is None or tuple(K.shape) != KERNEL:
        K = torch.rand(KERNEL, generator=torch.Generator().manual_seed(secrets.randbits(62)))
    return SpeedTimer(level=level, n=n, count=count, K=K.to(torch.float32))
