"""Cases, observations, verdicts and the runner that turns them into feedback.

An exercise is described as data (``Exercise``): ``cases`` makes the inputs, ``probe`` runs the
student code on one case and returns plain facts (inside the student's process), ``judge``
compares those facts with the reference (anywhere, pure).  ``Exercise.grade`` folds the per-case
verdicts into one, and ``check`` does all of it in one process for the notebook's test cells.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from convcourse.checks import messages
from convcourse.checks.calls import error_facts
from convcourse.checks.messages import t
from convcourse.checks.recorder import rules_in_force
from convcourse.checks.seeds import student_seed

__all__ = ["Case", "Verdict", "Exercise", "Outcome", "CheckFailed", "check", "GENERIC"]

#: Verdicts that name no specific mistake; a more specific one from another case wins.
GENERIC = frozenset({"wrong_values", "wrong_shape", "raised"})
#: Printed output beyond this many characters is a "flood" worth a note even on success.
FLOOD_CHARS = 5000


@dataclass(frozen=True, eq=False)
class Case:
    """One test input: ``kind`` names it in the catalogue (``case.<kind>``), ``data`` holds it.

    ``data`` is plain data only (tensors, numbers, tuples, lists, dicts) and never an expected
    value.  ``tags`` feed the cross-case diagnosis: ``square`` / ``non-square`` inputs, the
    ``lesson`` examples, ``hidden``.
    """

    kind: str
    data: dict
    tags: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return t("case." + self.kind)

    def size(self) -> int:
        """Number of input values, to order cases from smallest to largest."""

        def count(v) -> int:
            if isinstance(v, torch.Tensor):
                return v.numel()
            if isinstance(v, list | tuple):
                return sum(count(x) for x in v)
            if isinstance(v, dict):
                return sum(count(x) for x in v.values())
            return 1

        return count(self.data)

    def signature(self) -> tuple:
        """The shapes (and small values) of the inputs: equal signatures mean equal geometry."""

        def sig(v):
            if isinstance(v, torch.Tensor):
                return ("tensor", tuple(v.shape))
            if isinstance(v, list | tuple):
                return tuple(sig(x) for x in v)
            return repr(v)

        return tuple(sorted((k, sig(v)) for k, v in self.data.items()))


@dataclass(frozen=True)
class Verdict:
    """The judgement on one case, or on a whole exercise.

    ``misconception`` is a catalogue key (``messages.MISCONCEPTION_KEYS``) or None; ``message``
    the full text for the student.  ``detail`` is the case-specific part of the message (kept so
    a cross-case diagnosis can re-title it), ``tentative`` marks a guess that cross-case
    evidence may override, ``expected``/``got`` are outputs for an optional picture.
    """

    passed: bool
    misconception: str | None = None
    message: str = ""
    detail: str = ""
    tentative: bool = False
    expected: Any = field(default=None, repr=False, compare=False)
    got: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def ok(cls, message: str = "") -> Verdict:
        return cls(True, None, message)

    @classmethod
    def failure(
        cls,
        key: str,
        detail: str = "",
        *,
        section: str | None = None,
        tentative: bool = False,
        guess: str = "",
        expected=None,
        got=None,
    ) -> Verdict:
        """A failed verdict naming misconception ``key``, its message built from the catalogue.

        ``guess`` is a sentence that supports a tentative diagnosis; it is dropped when
        cross-case evidence re-titles the verdict.
        """
        shown = detail + ("\n" + guess if guess else "")
        return cls(
            False,
            key,
            messages.compose(key, shown, section),
            detail,
            tentative,
            expected,
            got,
        )

    def retitled(self, key: str, section: str | None = None) -> Verdict:
        """The same case and detail, attributed to another misconception."""
        return dataclasses.replace(
            self,
            misconception=key,
            message=messages.compose(key, self.detail, section),
            tentative=False,
        )


class CheckFailed(AssertionError):
    """A check found a mistake.  IPython shows only the message, no traceback into convcourse."""

    def __init__(self, message: str, verdict: Verdict | None = None, exercise: str | None = None):
        super().__init__(message)
        self.verdict = verdict
        self.exercise = exercise

    @property
    def misconception(self) -> str | None:
        return None if self.verdict is None else self.verdict.misconception

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}:"] + str(self).splitlines()


@dataclass
class Outcome:
    """Everything one run of a check produced (for tests and instructors)."""

    exercise: str
    cases: list[Case]
    observations: list[dict]
    verdicts: list[Verdict]
    verdict: Verdict


@dataclass(frozen=True)
class Exercise:
    """An auto-graded exercise described as data (see the module docstring).

    ``time_limit`` is the limit in seconds of each call of the student's code.  ``forbids``
    holds the exercise's rules (``convcourse.checks.rules``): ``judge`` applies exactly these
    to what the recorder saw, before it compares any output.
    """

    id: str
    lesson: str
    symbols: tuple[str, ...]
    make_cases: Callable[[int | None, bool], list[Case]] = field(repr=False)
    probe_case: Callable[[dict, Case, float], dict] = field(repr=False)
    judge_case: Callable[[Case, dict], Verdict] = field(repr=False)
    time_limit: float = 10.0
    check_name: str = ""
    forbids: frozenset[str] = frozenset()

    def cases(self, seed: int | None = None, hidden: bool = False) -> list[Case]:
        """The inputs: fixed documented ones, or (``hidden``) random ones from ``seed``."""
        made = self.make_cases(seed if hidden else None, hidden)
        if hidden:
            made = [dataclasses.replace(c, tags=(*c.tags, "hidden")) for c in made]
        return made

    def probe(self, objs: dict, case: Case) -> dict:
        """Run the student's objects on ``case`` (in the student's process); plain facts back."""
        missing = [s for s in self.symbols if s not in objs]
        if missing:
            return {"missing": missing}
        try:
            with rules_in_force(self.forbids):  # what the recorder must watch for
                return self.probe_case(objs, case, self.time_limit)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a student object broke the probe itself
            return {"probe_error": error_facts(exc)}

    def judge(self, case: Case, observation: dict) -> Verdict:
        """Compare the facts of one case with the reference (pure; no student code runs)."""
        try:
            if "missing" in observation:
                names = ", ".join(str(n) for n in observation["missing"])
                return Verdict.failure("not_defined", t("detail.not_defined", names=names))
            if "probe_error" in observation:
                err = observation["probe_error"]
                if not isinstance(err, dict):
                    err = {"type": "Error", "message": str(err)}
                return Verdict.failure(
                    "raised",
                    t("detail.probe_error", type=err.get("type"), message=err.get("message")),
                    section=self.lesson,
                )
            from convcourse.checks.diagnose import rule_problem  # diagnose imports this module

            problem = rule_problem(
                self.forbids, observation, self._symbol(case), section=self.lesson
            )
            return problem or self.judge_case(case, observation)
        except Exception as exc:  # a bug of the checker: say so plainly, never a traceback
            return Verdict.failure(
                "internal_error",
                t("detail.internal_error", type=type(exc).__name__, message=str(exc)[:300]),
            )

    def _symbol(self, case: Case) -> str:
        """The name of the student's object a case calls (the first one by default)."""
        named = case.data.get("function")
        return named if named in self.symbols else self.symbols[0]

    def grade(self, cases: list[Case], observations: list[dict]) -> Verdict:
        """One verdict for the exercise from the observations of its cases (pure)."""
        verdicts = [self.judge(c, o) for c, o in zip(cases, observations, strict=False)]
        return combine(self, cases[: len(verdicts)], observations, verdicts)

    def run(self, objs: dict, *, seed: int | None = None, hidden: bool = False) -> Outcome:
        """cases → probe → judge → grade, in this process.  Stops after a case that timed out."""
        if hidden and seed is None:
            seed = student_seed()
        cases = self.cases(seed, hidden)
        observations, verdicts = [], []
        for case in cases:
            obs = self.probe(objs, case)
            observations.append(obs)
            verdicts.append(self.judge(case, obs))
            if _timed_out(obs):
                break
        final = combine(self, cases[: len(verdicts)], observations, verdicts)
        return Outcome(self.id, cases, observations, verdicts, final)


def _calls_of(obs: dict) -> list[dict]:
    """All call facts recorded in an observation (at top level or one dict deep)."""
    found = []
    for value in obs.values():
        if isinstance(value, dict) and "timed_out" in value and "printed" in value:
            found.append(value)
    return found


def _timed_out(obs: dict) -> bool:
    return any(c["timed_out"] for c in _calls_of(obs))


def _printed_note(observations: list[dict], chosen: dict | None) -> str:
    """A note on what the student's code printed: its beginning for the failing case, and a
    warning when it printed a flood anywhere."""
    lines = []
    if chosen is not None:
        for call in _calls_of(chosen):
            printed = call["printed"]
            if printed["chars"]:
                head = printed["head"].rstrip("\n").splitlines()[:12]
                lines.append(t("note.printed", lines=printed["lines"], chars=printed["chars"]))
                lines.extend("  | " + line[:160] for line in head)
                if printed["chars"] > len(printed["head"]) or len(head) == 12:
                    lines.append("  | …")
                break
    total = sum(c["printed"]["chars"] for o in observations for c in _calls_of(o))
    if total > FLOOD_CHARS:
        lines.append(t("note.flood", chars=f"{total:,}"))
    return "\n".join(lines)


def _priority(verdict: Verdict) -> int:
    if verdict.misconception in GENERIC:
        return 2
    return 1 if verdict.tentative else 0


# Verdicts whose detail names what the code ran and no value of the case (the rules'): shown
# as they are on hidden cases too.
_CASE_FREE = frozenset({"recorder_tampered", "shipped_code", "library_conv", "used_autograd"})
# Shape mistakes that code hard-coded to the lesson's example also makes on other inputs.
_SHAPE_KEYS = frozenset({"off_by_one", "square_only", "wrong_shape", "padded_output", "swapped_hw"})


def _relabel(exercise: Exercise, cases, verdicts, chosen: int) -> Verdict:
    """Cross-case evidence: only non-square inputs fail, or only the lesson's example passes."""
    verdict = verdicts[chosen]
    passed = [c for c, v in zip(cases, verdicts, strict=True) if v.passed]
    failed = [c for c, v in zip(cases, verdicts, strict=True) if not v.passed]
    weak = verdict.tentative or verdict.misconception in GENERIC
    lesson_sigs = {c.signature() for c in passed if "lesson" in c.tags}
    others = [i for i, c in enumerate(cases) if c.signature() not in lesson_sigs]
    if (
        lesson_sigs
        and len(others) >= 2
        and all(not verdicts[i].passed for i in others)
        and (weak or verdict.misconception in _SHAPE_KEYS)
    ):
        return verdict.retitled("hardcoded_example", exercise.lesson)
    if (
        weak
        and any("square" in c.tags for c in passed)
        and len(failed) >= 2
        and all("non-square" in c.tags for c in failed)
    ):
        return verdict.retitled("square_only", exercise.lesson)
    return verdict


def _input_shapes(case: Case) -> str:
    """``X 5×7, K 2×3``: the shapes of a case's tensors (no values)."""
    from convcourse.checks.render import shape_text

    parts = []
    for name, value in case.data.items():
        if isinstance(value, torch.Tensor):
            parts.append(f"{name} {shape_text(value.shape)}")
        elif isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
            parts.append(f"{name} {len(value)}×{shape_text(value[0].shape)}")
    return ", ".join(parts)


def combine(exercise: Exercise, cases, observations, verdicts) -> Verdict:
    """Fold per-case verdicts into the exercise's verdict, with its header and notes."""
    hidden = any("hidden" in c.tags for c in cases)
    failing = [i for i, v in enumerate(verdicts) if not v.passed]
    if not failing:
        note = _printed_note(observations, None)
        confirm = t("confirm." + exercise.id, n=len(cases))
        extra = list(dict.fromkeys(v.message for v in verdicts if v.message))
        if extra:
            confirm += " " + " ".join(extra)
        message = t(
            "header.pass_hidden" if hidden else "header.pass", exercise=exercise.id, confirm=confirm
        )
        return Verdict.ok(message + ("\n" + note if note else ""))
    # The most specific diagnosis first, then the smallest case (cases come smallest first).
    chosen = min(failing, key=lambda i: (_priority(verdicts[i]), cases[i].size(), i))
    verdict = _relabel(exercise, cases, verdicts, chosen)
    if hidden and verdict.misconception not in _CASE_FREE:
        # Hidden cases are this student's for good: name the mistake and the kind of input,
        # but show no values (they could be hard-coded into a resubmission).
        detail = t(
            "detail.hidden_case",
            label=cases[chosen].label,
            inputs=_input_shapes(cases[chosen]) or "—",
        )
        verdict = dataclasses.replace(
            verdict,
            message=messages.compose(verdict.misconception, detail, exercise.lesson),
            expected=None,
            got=None,
        )
    note = _printed_note(observations, observations[chosen])
    header = t("header.fail_hidden" if hidden else "header.fail", exercise=exercise.id)
    message = header + " " + verdict.message + ("\n\n" + note if note else "")
    return dataclasses.replace(verdict, message=message)


def check(exercise: Exercise, objs: dict, *, seed: int | None = None, hidden: bool = False):
    """Run ``exercise`` on the student's objects: print a confirmation or raise CheckFailed."""
    try:
        outcome = exercise.run(objs, seed=seed, hidden=hidden)
        verdict = outcome.verdict
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # never a traceback from inside convcourse
        verdict = Verdict.failure(
            "internal_error",
            t("detail.internal_error", type=type(exc).__name__, message=str(exc)[:300]),
        )
    if verdict.passed:
        print(verdict.message)
        return None
    if verdict.expected is not None and verdict.got is not None:
        from convcourse.checks.render import show_difference

        show_difference(verdict.expected, verdict.got, t("picture.title", exercise=exercise.id))
    raise CheckFailed(verdict.message, verdict, exercise.id) from None
