"""``convcourse.instructor.judging.timing``: the grader's CPU-time verdict on a speed check.

The sandbox is replaced by a stand-in that reports chosen CPU clocks and yardstick times, so the
arithmetic and the refusals can be tested exactly; the real sandbox is tested in
tests/grading/test_speed_fairness.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convcourse.checks.speed import PASS_FACTOR
from convcourse.instructor.judging import timing


class Clock:
    """The zygote's answers: the probe's CPU clock, and one yardstick time per call."""

    def __init__(self, yardstick_cpu_s: float):
        self.now = 0.0
        self.yardstick_cpu_s = yardstick_cpu_s
        self.others = 0

    def cpu(self) -> dict:
        return {"cpu_s": self.now, "threads": 1, "others": self.others}

    def yardstick(self, kind, n, count, seed, K, rows):
        return {"cpu_s": self.yardstick_cpu_s * count, "wall_s": 0.0}


def _sums(job) -> list[float]:
    W, X = timing.round_inputs(job["seed"], job["n"], job["count"], job["K"])
    K = job["K"].to(torch.float64)
    return [
        float((F.conv2d(x.to(torch.float64)[None, None], K[None, None])[0, 0] * W).sum()) for x in X
    ]


def _run(timer, clock, student_s: float, null_s: float, rounds: int = 1, fake=False):
    """``rounds`` pairs: a student round costing ``student_s`` CPU seconds, then its null."""
    for _ in range(rounds):
        if timer.enough():
            break
        for cost in (student_s, null_s):
            job = timer.job(clock.cpu())
            clock.now += cost
            sums = _sums(job)
            if fake and not job["null"]:
                sums = [s + 1.0 for s in sums]
            timer.done({"sums": sums, "error": None}, clock.cpu())
        timer.time_yardstick(clock)


def _timer(level="pass", count=4):
    K = torch.rand(timing.KERNEL, generator=torch.Generator().manual_seed(0))
    timer = timing.student_timer(level, 0.001, K)
    timer.count = count
    return timer


def test_the_null_round_is_subtracted_per_call():
    timer, clock = _timer(count=4), Clock(yardstick_cpu_s=1.0)
    _run(timer, clock, student_s=0.05, null_s=0.01)
    assert timer.problem() is None
    assert abs(timer.student_per_call() - 0.04 / 4) < 1e-12


def test_a_clear_pass_stops_after_one_pair_and_its_margin_is_the_ratio():
    timer, clock = _timer(), Clock(yardstick_cpu_s=10.0)
    _run(timer, clock, student_s=0.02, null_s=0.0, rounds=5)
    assert len(timer._student()) == 1 and timer.enough()
    per_call = 0.02 / timer.count
    loop_scale = (timer.n - 2) / min(timing.LOOP_ROWS, timer.n - 2)
    expected = 10.0 * loop_scale / per_call / PASS_FACTOR
    assert abs(timer.margin() - expected) / expected < 1e-9 and timer.margin() > 1


def test_a_borderline_call_gets_more_rounds_up_to_the_maximum():
    timer = _timer()
    loop_scale = (timer.n - 2) / min(timing.LOOP_ROWS, timer.n - 2)
    # The student's time per call right at the threshold: margin 1.0.
    student_s = timer.count * 1e-3 * loop_scale / PASS_FACTOR
    clock = Clock(yardstick_cpu_s=1e-3)
    _run(timer, clock, student_s=student_s, null_s=0.0, rounds=10)
    assert 0.8 <= timer.margin() <= 1.25
    assert len(timer._student()) == timing.MAX_ROUNDS


def test_faked_sums_are_caught():
    timer, clock = _timer(count=8), Clock(yardstick_cpu_s=1.0)
    _run(timer, clock, student_s=0.01, null_s=0.0, fake=True)
    assert timer.problem() == "it returned different results when the grader timed it"


def test_a_helper_process_running_meanwhile_voids_the_timing():
    timer, clock = _timer(), Clock(yardstick_cpu_s=1.0)
    clock.others = 1
    _run(timer, clock, student_s=0.01, null_s=0.0)
    assert "another process or thread" in timer.problem()


def test_missing_outputs_and_a_missing_clock_void_the_timing():
    timer, clock = _timer(count=4), Clock(yardstick_cpu_s=1.0)
    job = timer.job(clock.cpu())
    timer.done({"sums": _sums(job)[:2], "error": None}, clock.cpu())
    job = timer.job(clock.cpu())
    timer.done({"sums": _sums(job), "error": None}, clock.cpu())
    timer.time_yardstick(clock)
    assert timer.problem() == "it did not return an output for every timed input"
    timer = _timer()
    for _ in range(2):  # a round and its null, and the zygote could not read the clock
        job = timer.job(None)
        timer.done({"sums": _sums(job), "error": None}, None)
    timer.time_yardstick(clock)
    assert timer.enough()  # an unreadable clock is never a pass: no more rounds
    assert timer.problem() == "the grader could not read its CPU clock"
    assert _timer().problem() == "no timing came back"


def test_no_yardstick_no_verdict():
    timer, clock = _timer(), Clock(yardstick_cpu_s=1.0)
    clock.yardstick = lambda *a, **k: None
    _run(timer, clock, student_s=0.01, null_s=0.0)
    assert timer.problem() == "the grader could not time the yardstick"


def test_speed_levels_and_round_inputs_are_deterministic():
    assert timing.speed_level("corr2d-speed-pass") == "pass"
    assert timing.speed_level("corr2d-speed-full") == "full"
    assert timing.speed_level("corr2d") is None
    K = torch.ones(timing.KERNEL)
    W1, X1 = timing.round_inputs(7, 64, 3, K)
    W2, X2 = timing.round_inputs(7, 64, 3, K)
    assert W1.shape == (62, 62) and torch.equal(W1, W2)
    assert all(torch.equal(a, b) for a, b in zip(X1, X2, strict=True))
