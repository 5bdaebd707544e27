"""``convcourse.instructor.sandbox.inside.protocol``: the message kinds and the frame channel."""

from __future__ import annotations

import os

import pytest
import torch

from convcourse.instructor.sandbox.inside import codec, protocol


def _kinds() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(protocol).items()
        if name.isupper() and isinstance(value, str)
    }


def test_every_message_kind_is_defined_once():
    kinds = _kinds()
    assert len(set(kinds.values())) == len(kinds), kinds
    assert protocol.CELLS_KINDS <= set(kinds.values())
    assert protocol.PROBE_KINDS <= set(kinds.values())


def test_a_test_result_is_never_a_kind_of_the_untrusted_cells_channel():
    # A result arriving on the cells channel (the student's own process) is tampering.
    assert protocol.TEST not in protocol.CELLS_KINDS
    assert protocol.TIMED not in protocol.CELLS_KINDS
    assert protocol.TEST in protocol.PROBE_KINDS
    assert not (protocol.CELLS_KINDS & {protocol.PROBE, protocol.GO, protocol.DONE})


def test_no_instructor_module_spells_a_message_kind_as_a_literal():
    # The kinds are compared through the constants, so renaming one cannot miss a reader.
    import re
    from pathlib import Path

    import convcourse.instructor as instructor

    root = Path(instructor.__file__).parent
    kinds = "|".join(re.escape(k) for k in _kinds().values())
    pattern = re.compile(rf"""(get\("(t|op)"\)|\["(t|op)"\]|\b(kind|op))\s*==\s*"({kinds})\"""")
    literal = re.compile(rf""""(t|op)":\s*"({kinds})\"""")
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "protocol.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {m.group(0)}" for m in pattern.finditer(text)]
        offenders += [f"{path.name}: {m.group(0)}" for m in literal.finditer(text)]
    assert offenders == []


@pytest.fixture
def pipes():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    yield (r1, w2), (r2, w1)
    for fd in (r1, w1, r2, w2):
        try:
            os.close(fd)
        except OSError:
            pass


def test_frames_round_trip_with_tensors(pipes):
    (ra, wa), (rb, wb) = pipes
    a = protocol.FrameChannel(ra, wa, 1 << 20)
    b = protocol.FrameChannel(rb, wb, 1 << 20)
    X = torch.arange(6.0).reshape(2, 3)
    a.send({"t": protocol.CELL, "i": 2, "outputs": [], "X": X})
    got = b.receive()
    assert got["t"] == protocol.CELL and got["i"] == 2 and torch.equal(got["X"], X)


def test_an_unencodable_message_arrives_as_unencodable_not_silence(pipes):
    (ra, wa), (rb, wb) = pipes
    a = protocol.FrameChannel(ra, wa, 1 << 20)
    b = protocol.FrameChannel(rb, wb, 1 << 20)
    a.send({"t": protocol.CELL, "value": object()})
    got = b.receive()
    assert got["t"] == protocol.UNENCODABLE and "object" in got["error"]


def test_a_frame_over_the_reader_limit_is_refused(pipes):
    (ra, wa), (rb, wb) = pipes
    a = protocol.FrameChannel(ra, wa, 1 << 20)
    b = protocol.FrameChannel(rb, wb, 64)
    a.send({"t": protocol.CELL, "text": "x" * 1000})
    with pytest.raises(codec.CodecError, match="over the limit"):
        b.receive()


def test_end_of_stream_is_none(pipes):
    (ra, wa), (rb, wb) = pipes
    b = protocol.FrameChannel(rb, wb, 1 << 20)
    os.close(wa)
    assert b.receive() is None


def test_a_forked_copy_of_the_channel_has_no_voice(pipes):
    (ra, wa), (rb, wb) = pipes
    a = protocol.FrameChannel(ra, wa, 1 << 20)
    b = protocol.FrameChannel(rb, wb, 1 << 20)
    pid = os.fork()
    if pid == 0:  # a process the submission forked: what it sends must go nowhere
        try:
            a.send({"t": protocol.TEST, "results": "forged"})
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    a.send({"t": protocol.END})
    assert b.receive() == {"t": protocol.END}
