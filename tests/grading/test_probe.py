"""Each test runs in a verified probe process: what the notebook process cannot do to it.

Tiny notebooks, the real sandbox and the real ``corr2d`` check; a minimal conversation stands in
for the grader's (it sends the check's cases and judges what comes back with the check's judge).
"""

from __future__ import annotations

import pytest

from convcourse.instructor.sandbox import Conversation, Limits, Sandbox

LIMITS = Limits(timeout_s=30, memory_mb=512, max_processes=16)
CORR2D = """import torch
def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1),
                    dtype=torch.promote_types(X.dtype, K.dtype))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""


class OneCheck(Conversation):
    """Sends the visible cases of ``corr2d`` for the step "t"; keeps what came back."""

    def __init__(self):
        from convcourse.checks import EXERCISES

        self.exercise = EXERCISES["corr2d"]
        self.cases_made = self.exercise.cases()
        self.frames = []

    def cases(self, step):
        if step != "t":
            return None
        raw = [{"kind": c.kind, "data": c.data, "tags": list(c.tags)} for c in self.cases_made]
        return {"step": step, "calls": [{"exercise": "corr2d", "args": ["corr2d"], "cases": raw}]}

    def on_probe_frame(self, step, frame, sandbox):
        self.frames.append(frame)
        return None

    def verdict(self):
        tests = [f for f in self.frames if f.get("t") == "test"]
        if not tests:
            return None
        observations = tests[0]["results"][0]["observations"]
        return self.exercise.grade(self.cases_made, observations)


@pytest.fixture(scope="module")
def box(sandbox_available, tmp_path_factory):
    log = tmp_path_factory.mktemp("probe") / "zygote.log"
    preload = ("numpy", "torch", "convcourse.checks")
    with Sandbox(sandboxed=True, preload=preload, log_path=log) as sandbox:
        yield sandbox


def grade(box, *sources):
    """Run code cells, then the test "t", then a last cell; the conversation and the record."""
    cells = [{"kind": "code", "i": i, "source": s} for i, s in enumerate(sources)]
    cells.append({"kind": "test", "i": len(cells), "step": "t"})
    cells.append({"kind": "code", "i": len(cells), "source": "print('after the test')"})
    talk = OneCheck()
    record = box.run({"cells": cells, "files": {}, "env": {}}, talk, LIMITS)
    return talk, record


def test_an_honest_answer_passes_with_no_evidence(box):
    talk, record = grade(box, CORR2D)
    assert talk.verdict().passed
    assert record.evidence == []
    test = next(f for f in talk.frames if f["t"] == "test")
    assert test["env"] == []  # the interpreter was as the zygote left it
    outputs = [f for _, f in record.frames if f.get("t") == "cell"]
    assert outputs[-1]["outputs"][0]["text"] == "after the test\n"  # the notebook went on


def test_a_result_forged_on_the_notebook_channel_is_evidence(box):
    forge = """import os, json
for fd in range(3, 64):
    try:
        os.write(fd, b'')
    except OSError:
        continue
    body = b'{"t": "test", "step": "t", "results": []}'
    frame = b"CVC1" + len(body).to_bytes(4, "little") + body
    try:
        os.write(fd, len(frame).to_bytes(4, "little") + frame)
    except OSError:
        pass
"""
    talk, record = grade(box, CORR2D, forge)
    assert any("notebook's own channel" in e["what"] for e in record.evidence), record.evidence
    assert talk.verdict().passed  # the real probe still answered, for the instructor to see


def test_a_probe_request_from_another_process_is_refused(box):
    # A background process of the notebook finds the probe socket and asks for the test's
    # pipes while the notebook's main thread is busy: the zygote refuses it.
    sneak = """import os, socket, time, json
if os.fork() == 0:
    for fd in range(3, 64):
        try:
            s = socket.socket(fileno=os.dup(fd))
            if s.type == socket.SOCK_SEQPACKET:
                s.send(json.dumps({"op": "ask", "step": "t"}).encode())
        except OSError:
            pass
    time.sleep(5)
    os._exit(0)
time.sleep(1.0)
"""
    talk, record = grade(box, CORR2D, sneak)
    refused = [e["what"] for e in record.evidence if e.get("step") == "t"]
    assert refused and any("not waiting for" in w or "did not fork" in w for w in refused), (
        record.evidence
    )


def test_the_notebook_process_is_stopped_while_its_test_runs(box):
    # A thread of the notebook process counts in memory it shares with the probe; the answer
    # is right only if the count does not move while the probe runs.
    counter = """import mmap, threading, struct, time
shared = mmap.mmap(-1, 8)
def count():
    n = 0
    while True:
        n += 1
        shared[:8] = struct.pack("q", n)
threading.Thread(target=count, daemon=True).start()
time.sleep(0.2)
"""
    spy = CORR2D.replace(
        "    return Y\n",
        "    a = struct.unpack('q', shared[:8])[0]\n    time.sleep(0.05)\n"
        "    b = struct.unpack('q', shared[:8])[0]\n    return Y if a == b else Y + 1\n",
    )
    talk, record = grade(box, counter, "import struct, time\n" + spy)
    assert talk.verdict().passed, talk.verdict().message


def test_a_frame_forged_by_the_probed_function_is_evidence(box):
    # The student's function, called in the probe, writes a fake answer on the probe's pipe.
    forger = CORR2D.replace(
        "    return Y\n",
        """    import os
    body = b'{"t": "test", "step": "t", "results": [], "env": []}'
    frame = b"CVC1" + len(body).to_bytes(4, "little") + body
    for fd in range(3, 64):
        try:
            os.write(fd, len(frame).to_bytes(4, "little") + frame)
        except OSError:
            pass
    return Y
""",
    )
    talk, record = grade(box, forger)
    assert any(e.get("step") == "t" for e in record.evidence), record.evidence


def test_a_patched_function_is_reported_by_the_probe(box):
    talk, record = grade(box, CORR2D, "import torch\ntorch.allclose = lambda *a, **k: True")
    test = next(f for f in talk.frames if f["t"] == "test")
    assert any("torch.allclose" in w for w in test["env"]), test["env"]
