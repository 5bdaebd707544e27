"""Timing a student's function with the kernel's CPU clock, read by the zygote, never with the
submission's own clock.

The speed checks (``convcourse.checks.speed``) time the student's ``corr2d_fast`` against a
yardstick inside the student's process -- fine for feedback in a notebook, useless for grading,
since a submission can patch ``time.perf_counter``, the probe, or the yardstick itself.  Here:

- the test's probe process (a verified fork, see ``inside/probe.py``) first loads a seccomp
  filter that forbids it any new process or thread, so all the work done for it runs in it;
  nothing else of the submission runs meanwhile (the zygote stopped the notebook process and
  killed the rest);
- for each round the grader asks the zygote for the probe's CPU clock, sends a fresh random
  seed, and reads the clock again when the answer arrives: the probe makes the inputs from the
  seed, calls the function on each and returns the outputs' sums weighted by a random matrix
  also made from the seed; the grader recomputes a few sums at positions it draws afterwards
  (every output had to be computed, after the seed was sent -- no cache, no fake answer);
- each such round is followed, in the same probe process, by a *null* round: the same inputs
  and sums without the function.  Its CPU time (the inputs, the sums, the messages, whatever
  this process pays for memory it inherited) is subtracted: what remains is the function's;
- after each pair the zygote -- in which no student code ever ran -- makes the same inputs and
  times the yardstick alone (a loop of the lesson's cost, or ``F.conv2d``) on its own thread's
  CPU clock.  Nothing is cached between tests or submissions.

CPU time against CPU time: a busy machine, the rest of the batch or the student's own
processes slow neither side, and the thresholds keep a wide margin (``checks/speed.py``).
The best of a few rounds is kept, as the in-notebook check keeps a median.
"""

from __future__ import annotations

import math
import secrets
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
_TARGET_ROUND_S = 0.03
_ENOUGH_S = 0.3
# Sums checked per round, at positions chosen after the sums arrived.
_CHECKED_PER_ROUND = 3
# The yardstick of each level: the lesson's loop on the first rows (scaled up to the whole
# output, as the in-notebook check does: every output row costs the same), or F.conv2d.
LOOP_ROWS = 8
_YARDSTICK = {
    "pass": ("loop", "a double loop of the lesson's cost (convcourse.checks.speed.loop_yardstick)"),
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
    seed: int
    cpu_start: float | None
    null: bool = False  # the same round without the function (what is subtracted)
    elapsed: float | None = None  # CPU seconds of the probe during the round
    sums: list | None = None
    error: str | None = None
    crowded: bool = False  # another process or thread ran for the submission meanwhile


@dataclass
class SpeedTimer:
    """The timing of one test cell: the student's rounds, each followed by a null round in the
    same probe process, and the zygote's yardstick rounds."""

    level: str
    n: int
    count: int
    K: torch.Tensor
    rounds: list[_Round] = field(default_factory=list)
    yardstick: list[float] = field(default_factory=list)  # CPU seconds per call, per round
    _problem: str | None = field(default=None, init=False)
    _checked: bool = field(default=False, init=False)

    # -- the student's rounds (in the verified probe process)

    def job(self, cpu: dict | None) -> dict:
        """The next job: a round of the student's function, or the null round after it."""
        null = bool(self.rounds) and not self.rounds[-1].null
        seed = secrets.randbits(62)
        self.rounds.append(_Round(seed, _cpu(cpu), null))
        return {"seed": seed, "n": self.n, "count": self.count, "K": self.K, "null": null}

    def done(self, frame: dict, cpu: dict | None) -> None:
        if not self.rounds or self.rounds[-1].elapsed is not None:
            return
        last = self.rounds[-1]
        now = _cpu(cpu)
        if now is not None and last.cpu_start is not None:
            last.elapsed = max(now - last.cpu_start, 0.0)
        else:
            last.elapsed = math.inf  # no clock: never a pass
        last.crowded = bool(cpu) and (cpu.get("threads", 1) > 1 or cpu.get("others", 0) > 0)
        sums = frame.get("sums")
        last.sums = sums if isinstance(sums, list) else []
        last.error = str(frame["error"])[:300] if frame.get("error") else None

    def _student(self) -> list[_Round]:
        return [r for r in self.rounds if not r.null and r.elapsed is not None]

    def _null(self) -> list[_Round]:
        return [r for r in self.rounds if r.null and r.elapsed is not None]

    def enough(self) -> bool:
        """Whether the verdict is clear: no more rounds needed (asked before each job).

        A null round always follows a student round.  A slow function (one round took long)
        is slow; a clear pass is decided by its first pair; anything else gets ``ROUNDS``
        pairs, a borderline case up to ``MAX_ROUNDS`` (the best counts: noise only adds time).
        """
        if self.rounds and not self.rounds[-1].null:
            return self.rounds[-1].elapsed is None  # its null round comes next, if it answered
        finished = self._student()
        if any(r.elapsed > _ENOUGH_S for r in finished) or len(finished) >= MAX_ROUNDS:
            return True
        if not finished or not self._null() or not self.yardstick:
            return bool(self.rounds)  # a round got no answer: stop
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

    # -- the yardstick's rounds (in the zygote, which never ran student code)

    def time_yardstick(self, sandbox) -> None:
        """One round of the yardstick in the zygote (after each null round), on inputs made
        the same way; the zygote's thread CPU seconds in the yardstick alone."""
        if not self.rounds or not self.rounds[-1].null:
            return
        kind, _how = _YARDSTICK[self.level]
        K = self.K.tolist()
        count = _MAX_INPUTS[self.n] if kind == "conv" else 1
        rows = min(LOOP_ROWS, self.n - self.K.shape[0] + 1)
        ref = sandbox.yardstick(kind, self.n, count, secrets.randbits(62), K, rows=rows)
        if not ref or not isinstance(ref.get("cpu_s"), int | float):
            return
        per_call = max(float(ref["cpu_s"]) / count, 1e-7)
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
        finished = self._student()
        if not finished or not self._null():
            return "no timing came back"
        if not self.yardstick:
            return "the grader could not time the yardstick"
        for r in finished:
            if r.error:
                return f"it raised {r.error} when the grader timed it"
            if r.crowded:
                return "another process or thread ran for it while the grader timed it"
            if not math.isfinite(r.elapsed):
                return "the grader could not read its CPU clock"
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
        """CPU seconds per call: the best student round minus the best null round."""
        best = min(r.elapsed for r in self._student())
        null = min(r.elapsed for r in self._null()) if self._null() else 0.0
        return max((best - null) / self.count, 1e-7)

    def yardstick_per_call(self) -> float:
        return min(self.yardstick)

    @property
    def yardstick_name(self) -> str:
        return _YARDSTICK[self.level][1]


def _cpu(reply: dict | None) -> float | None:
    value = reply.get("cpu_s") if isinstance(reply, dict) else None
    return float(value) if isinstance(value, int | float) else None


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
