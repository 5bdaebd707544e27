"""Verdicts, made in the grader from observations the sandbox sent back.

For each test cell of the instructor notebook the grader makes the cases of each check call
(hidden ones from the student's seed, with the instructor's optional salt, which never enters
the sandbox), sends only the inputs, and judges the observations with the exercise's ``judge``
-- expected values are computed here, with the reference implementation.  A test cell earns its
points (from the instructor notebook) when every case of every call passes, exactly as the
notebook's own test cell passes when no check raises.

Messages for hidden cases never show the case: a student who saw the inputs and expected
outputs of their own hidden cases could hard-code them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convcourse.instructor.authoring.spec import SEED_FROM_STUDENT, CheckCall, NotebookSpec
from convcourse.instructor.sandbox import Conversation
from convcourse.instructor.sandbox.inside import protocol

__all__ = ["seed_for_student", "StudentCases", "judge_test_cell", "CellResult"]


def seed_for_student(student_id: str) -> int:
    """The seed ``convcourse.checks.student_seed()`` gives this student during autograding."""
    from convcourse.checks.seeds import seed_of

    return seed_of(student_id)


def _exercises():
    from convcourse.instructor.authoring.spec import all_exercises

    return all_exercises()


@dataclass
class CellResult:
    grade_id: str
    exercise: str
    points: float
    max_points: float
    passed: bool
    misconception: str | None
    message: str
    ran: bool = True
    withheld: bool = False  # evidence of tampering: 0 until the instructor grades it by hand
    evidence: list = field(default_factory=list)

    def as_json(self) -> dict:
        out = {
            "grade_id": self.grade_id,
            "exercise": self.exercise,
            "points": self.points,
            "max_points": self.max_points,
            "passed": self.passed,
            "misconception": self.misconception,
            "message": self.message,
        }
        if self.withheld:
            out["withheld"] = True
            out["evidence"] = list(self.evidence)
        return out


@dataclass
class StudentCases(Conversation):
    """The grader's side of one run: makes each test's cases on demand (and keeps them for
    judging), times what is timed with the zygote's CPU clock, collects what came back."""

    spec: NotebookSpec
    student_id: str
    sandbox: object | None = None  # the Sandbox that runs the submission (times the yardstick)
    made: dict[str, list[tuple[CheckCall, list]]] = field(default_factory=dict)
    tests: dict[str, dict] = field(default_factory=dict)
    timers: dict[str, object] = field(default_factory=dict)  # one per test cell

    # -- the Conversation the sandbox holds with us

    def cases(self, step) -> dict | None:
        return self.reply(step)

    def on_probe_frame(self, step, frame: dict, sandbox) -> dict | None:
        kind = frame.get("t")
        if kind == protocol.TEST:
            if isinstance(step, str) and step in self.made and step not in self.tests:
                self.tests[step] = frame  # only the first answer to a question counts
            return None
        if kind == protocol.TIME_READY:
            return self._timing_job(step, frame.get("call"), sandbox)
        if kind == protocol.TIMED:
            timer = self.timers.get(step)
            if timer is not None:
                timer.done(frame, sandbox.probe_cpu() if sandbox is not None else None)
                if sandbox is not None:
                    timer.time_yardstick(sandbox)  # right after, on the same machine
        return None

    def reply(self, step) -> dict | None:
        """The ``need`` answer for test cell ``step``: inputs only, never expected values."""
        from convcourse.instructor.judging.timing import MAX_ROUNDS, SPEED_PROBE, speed_level

        calls = self.spec.tests.get(step) if isinstance(step, str) else None
        if calls is None:
            return None
        if step not in self.made:
            exercises = _exercises()
            made = []
            for call in calls:
                seed = call.seed
                if seed == SEED_FROM_STUDENT:
                    seed = seed_for_student(self.student_id)
                made.append((call, exercises[call.exercise].cases(seed, call.hidden)))
            self.made[step] = made
        out = []
        timed = False
        for call, cases in self.made[step]:
            item = {
                "exercise": call.exercise,
                "args": call.args,
                "extra": call.extra,
                "cases": [{"kind": c.kind, "data": c.data, "tags": list(c.tags)} for c in cases],
            }
            if speed_level(call.exercise):
                # The child's own stopwatch is never used: probe correctness only.
                item["probe_with"] = SPEED_PROBE
                if not timed:  # one measurement per test cell serves all its calls
                    # A student round and a null round per pair; "skip" once it knows.
                    item["timing"] = 2 * MAX_ROUNDS
                    timed = True
            out.append(item)
        return {"step": step, "calls": out}

    def _timing_job(self, step, index, sandbox):
        from convcourse.instructor.judging.timing import speed_level, student_timer

        made = self.made.get(step) if isinstance(step, str) else None
        if made is None or not isinstance(index, int) or not 0 <= index < len(made):
            return {"skip": True}
        call, cases = made[index]
        level = speed_level(call.exercise)
        if level is None or sandbox is None:
            return {"skip": True}
        timer = self.timers.get(step)
        if timer is None:
            first = _first_call(self.tests.get(step), index)
            if first is None:  # the function failed or is missing: nothing worth timing
                return {"skip": True}
            K = cases[0].data.get("K") if cases else None
            timer = student_timer(level, first, K)
            self.timers[step] = timer
        if timer.enough():
            return {"skip": True}
        return timer.job(sandbox.probe_cpu())

    def timed_observation(self, step: str, index: int, obs: dict) -> dict:
        """``obs`` with the child's own timing replaced by the grader's measurement."""
        from convcourse.instructor.judging.timing import speed_level

        call = self.made[step][index][0]
        level = speed_level(call.exercise)
        if level is None or not isinstance(obs, dict) or "call" not in obs:
            return obs  # not a speed check, or nothing was called (missing, not callable, ...)
        if not (isinstance(obs["call"], dict) and obs["call"].get("ok") is True):
            return {**obs, "timing": None}  # the correctness call failed: judged as such
        obs = dict(obs)
        timer = self.timers.get(step)
        limit = float(obs.get("call", {}).get("limit", 10.0) or 10.0)
        problem = "no timing came back" if timer is None else timer.problem()
        if problem is not None:
            obs["timing_call"] = {
                "ok": False,
                "timed_out": problem == "no timing came back",
                "limit": limit,
                "error": None
                if problem == "no timing came back"
                else {"type": "GraderTiming", "message": problem, "line": None, "code": None},
                "seconds": 0.0,
                "printed": {"chars": 0, "lines": 0, "head": ""},
                "calls": {},
            }
            obs["timing"] = None
            return obs
        obs["timing_call"] = {
            "ok": True,
            "timed_out": False,
            "limit": limit,
            "error": None,
            "seconds": 0.0,
            "printed": {"chars": 0, "lines": 0, "head": ""},
            "calls": {},
        }
        obs["timing"] = {
            "student_s": timer.student_per_call(),
            "student_calls": timer.count * len(timer.rounds),
            "baseline_s": timer.yardstick_per_call(),
            "baseline": timer.yardstick_name + " (CPU time, measured by the grader)",
            "threads": 1,
        }
        return obs


def _first_call(test_frame, index: int):
    """Seconds of the first (correctness) call of a speed check, if it succeeded."""
    try:
        obs = test_frame["results"][index]["observations"][0]
        call = obs["call"]
        if call.get("ok") is True:
            return float(call.get("seconds", 0.01))
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return None


def _hidden_message(exercise, verdict) -> str:
    """A failure message for hidden cases: the mistake named, no inputs or expected values."""
    try:
        from convcourse.checks import messages

        header = messages.t("header.fail_hidden", exercise=exercise.id)
        body = messages.compose(verdict.misconception or "wrong_values", "", exercise.lesson)
        return f"{header} {body}".strip()
    except Exception:
        what = verdict.misconception or "wrong results"
        return f"{exercise.id}: failed the hidden tests ({what})."


def judge_test_cell(
    grade_id: str,
    max_points: float,
    conversation: StudentCases,
    not_run: str,
) -> CellResult:
    """The result of one test cell from its cases and the sandbox's ``test`` frame."""
    exercises = _exercises()
    made = conversation.made.get(grade_id)
    frame = conversation.tests.get(grade_id)
    calls = [] if made is None else made
    first = calls[0][0].exercise if calls else grade_id.removeprefix("test-")
    if frame is None or made is None:
        return CellResult(grade_id, first, 0.0, max_points, False, None, not_run, ran=False)
    results = frame.get("results")
    if not isinstance(results, list) or len(results) != len(calls):
        return CellResult(
            grade_id,
            first,
            0.0,
            max_points,
            False,
            None,
            "the test could not be run: the submission's process sent a malformed result",
        )
    messages = []
    for index, ((call, cases), result) in enumerate(zip(calls, results, strict=True)):
        exercise = exercises[call.exercise]
        if not isinstance(result, dict):
            result = {}
        observations = result.get("observations")
        missing = result.get("missing")
        if result.get("error"):
            return CellResult(
                grade_id,
                first,
                0.0,
                max_points,
                False,
                "internal_error",
                f"{call.exercise}: the grader could not run this check",
            )
        if missing:
            observations = [{"missing": [str(m) for m in missing]}]
        if not isinstance(observations, list) or not observations:
            return CellResult(
                grade_id,
                first,
                0.0,
                max_points,
                False,
                None,
                f"{call.exercise}: no result came back for this test",
            )
        observations = [o if isinstance(o, dict) else {"unreadable": True} for o in observations]
        observations = [_sanitize(o) for o in observations[: len(cases)]]
        observations = [conversation.timed_observation(grade_id, index, o) for o in observations]
        verdict = exercise.grade(cases[: len(observations)], observations)
        if verdict.passed and len(observations) < len(cases):
            verdict = None  # fewer answers than questions: never a pass
        if verdict is None or not verdict.passed:
            if verdict is None:
                text = f"{call.exercise}: the test stopped before all its cases ran"
                key = None
            else:
                key = verdict.misconception
                text = _hidden_message(exercise, verdict) if call.hidden else verdict.message
            messages.append(text)
            return CellResult(grade_id, first, 0.0, max_points, False, key, "\n".join(messages))
        messages.append(verdict.message)
    return CellResult(grade_id, first, max_points, max_points, True, None, "\n".join(messages))


def _sanitize(obs: dict) -> dict:
    """Observations the judges can read: an unreadable one becomes a probe error."""
    if "unencodable" in obs:
        return {
            "probe_error": {
                "type": "ValueError",
                "message": "the result could not be sent "
                "back to the grader (only plain data and tensors can)",
                "line": None,
                "code": None,
            }
        }
    if "probe_error" in obs and not isinstance(obs["probe_error"], dict):
        return {
            "probe_error": {
                "type": "Error",
                "message": str(obs["probe_error"])[:300],
                "line": None,
                "code": None,
            }
        }
    if "unreadable" in obs:
        return {
            "probe_error": {
                "type": "Error",
                "message": "unreadable result",
                "line": None,
                "code": None,
            }
        }
    return obs
