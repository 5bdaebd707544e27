"""``convcourse.instructor.judging.verdicts``: a test cell's points from the probe's observations.

The observations are made in this process with each exercise's own probe (what the sandbox's
probe process does), then handed to the grader's side as a ``test`` frame.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import torch

from convcourse.checks import seeds
from convcourse.instructor.authoring.spec import SEED_FROM_STUDENT, CheckCall
from convcourse.instructor.judging import verdicts
from convcourse.instructor.sandbox.inside import protocol

STEP = "test-corr2d"


# A student's answers, written here: the course's own reference is shipped code, which the
# check itself refuses (the rule "shipped").
def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def conv2d_flipped(X, K):
    return corr2d(X, torch.flip(K, (0, 1)))


def _conversation(student: str = "alice") -> verdicts.StudentCases:
    calls = [
        CheckCall("corr2d", "check_corr2d", ["corr2d"]),
        CheckCall("corr2d", "check_corr2d", ["corr2d"], hidden=True, seed=SEED_FROM_STUDENT),
    ]
    return verdicts.StudentCases(spec=SimpleNamespace(tests={STEP: calls}), student_id=student)


def _observe(conversation, fn) -> dict:
    """The ``test`` frame a probe process would send for ``fn``, asked for what the grader sent."""
    request = conversation.cases(STEP)
    exercises = verdicts._exercises()
    results = []
    for item, (call, cases) in zip(request["calls"], conversation.made[STEP], strict=True):
        assert len(item["cases"]) == len(cases)
        exercise = exercises[call.exercise]
        results.append({"observations": [exercise.probe({"corr2d": fn}, c) for c in cases]})
    return {"t": protocol.TEST, "step": STEP, "results": results}


def _judge(conversation) -> verdicts.CellResult:
    return verdicts.judge_test_cell(STEP, 2.0, conversation, "not run")


def test_the_request_carries_inputs_only():
    conversation = _conversation()
    request = conversation.cases(STEP)
    for item in request["calls"]:
        for case in item["cases"]:
            assert set(case) == {"kind", "data", "tags"}
            assert not {"Y", "expected", "want"} & set(case["data"])


def test_a_correct_answer_earns_the_cells_points():
    conversation = _conversation()
    conversation.on_probe_frame(STEP, _observe(conversation, corr2d), None)
    result = _judge(conversation)
    assert result.passed and result.points == result.max_points == 2.0
    assert result.misconception is None


def test_a_flipped_kernel_earns_nothing_and_the_hidden_message_shows_no_case():
    conversation = _conversation()
    conversation.on_probe_frame(STEP, _observe(conversation, conv2d_flipped), None)
    result = _judge(conversation)
    assert not result.passed and result.points == 0.0
    assert result.misconception is not None
    # The visible case fails first: its message may show it; a hidden failure may not.
    hidden = _conversation()
    frame = _observe(hidden, conv2d_flipped)
    frame["results"][0] = _observe(hidden, corr2d)["results"][0]  # visible passes
    hidden.on_probe_frame(STEP, frame, None)
    result = _judge(hidden)
    assert not result.passed and "hidden" in result.message
    hidden_inputs = [c.data["X"] for c in hidden.made[STEP][1][1]]
    for X in hidden_inputs:
        assert str(X.tolist()[0])[:20] not in result.message


def test_only_the_first_answer_to_a_question_counts():
    conversation = _conversation()
    conversation.on_probe_frame(STEP, _observe(conversation, conv2d_flipped), None)
    conversation.on_probe_frame(STEP, _observe(conversation, corr2d), None)
    assert not _judge(conversation).passed


def test_an_answer_to_a_question_never_asked_is_ignored():
    conversation = _conversation()
    frame = {"t": protocol.TEST, "step": STEP, "results": []}
    conversation.on_probe_frame(STEP, frame, None)  # before the cases were made
    result = _judge(conversation)
    assert not result.ran and result.points == 0.0 and result.message == "not run"


def test_a_malformed_or_short_answer_earns_nothing():
    conversation = _conversation()
    frame = _observe(conversation, corr2d)
    conversation.on_probe_frame(STEP, {**frame, "results": frame["results"][:1]}, None)
    assert "malformed" in _judge(conversation).message
    conversation = _conversation()
    frame = _observe(conversation, corr2d)
    frame["results"][1]["observations"] = frame["results"][1]["observations"][:1]
    conversation.on_probe_frame(STEP, frame, None)
    result = _judge(conversation)
    assert not result.passed and "stopped before all its cases ran" in result.message


def test_an_unsendable_result_is_judged_as_an_error_not_a_pass():
    conversation = _conversation()
    frame = _observe(conversation, corr2d)
    frame["results"][0]["observations"][0] = {"unencodable": True}
    conversation.on_probe_frame(STEP, frame, None)
    assert not _judge(conversation).passed


def test_hidden_cases_follow_the_student_and_the_salt():
    a, b = _conversation("alice"), _conversation("bob")
    a.cases(STEP), b.cases(STEP)
    Xa = [c.data["X"] for c in a.made[STEP][1][1]]
    Xb = [c.data["X"] for c in b.made[STEP][1][1]]
    assert any(not torch.equal(x, y) for x, y in zip(Xa, Xb, strict=False))
    seed = verdicts.seed_for_student("alice")
    assert seed == verdicts.seed_for_student("alice") != verdicts.seed_for_student("bob")
    old = os.environ.get(seeds.ENV_SALT)
    os.environ[seeds.ENV_SALT] = "the instructor's salt"
    try:
        assert verdicts.seed_for_student("alice") != seed
    finally:
        if old is None:
            os.environ.pop(seeds.ENV_SALT)
        else:
            os.environ[seeds.ENV_SALT] = old
