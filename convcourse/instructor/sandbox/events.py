"""The grader's event loop for one submission: the control socket, the cells channel and each
probe's pipes, multiplexed in one thread with non-blocking I/O."""

from __future__ import annotations

import json
import os
import selectors
import socket
import time
from typing import TYPE_CHECKING

from convcourse.instructor.sandbox.inside import codec, protocol
from convcourse.instructor.sandbox.records import (
    Conversation,
    Limits,
    ProbeRecord,
    RunRecord,
    SandboxError,
)

if TYPE_CHECKING:  # only for annotations
    from convcourse.instructor.sandbox.host import Sandbox


class _Pipe:
    """One direction of a framed pipe in the grader's event loop."""

    def __init__(self, fd: int, kind: str, step=None):
        self.fd = fd
        self.kind = kind  # "cells-in" | "cells-out" | "probe-in" | "probe-out"
        self.step = step
        self.buf = bytearray()
        self.open = True
        self.stopped = False  # reading on, but nothing more is decoded


class Run:
    """The grader's event loop for one submission (one thread, non-blocking pipes)."""

    def __init__(self, box: Sandbox, request: dict, conversation: Conversation, limits: Limits):
        self.box = box
        self.conversation = conversation
        self.limits = limits
        self.record = RunRecord()
        self.max_out = limits.output_mb * 2**20
        self.payload = _frame(codec.encode(request))
        self.sel = selectors.DefaultSelector()
        self.pipes: dict[int, _Pipe] = {}
        self.pending: dict[int, bytearray] = {}  # write fd -> bytes still to write
        self.cells_in: int | None = None
        self.probe_in: dict[str, int] = {}  # step -> write fd of its cases pipe
        self.start = time.monotonic()
        self.memcap = None
        self.done_at: float | None = None

    def now(self) -> float:
        return round(time.monotonic() - self.start, 4)

    def loop(self) -> RunRecord:
        box, record = self.box, self.record
        cells_in_r, cells_in_w = os.pipe()
        cells_out_r, cells_out_w = os.pipe()
        msg = {"op": protocol.RUN, "limits": self.limits.as_message()}
        try:
            socket.send_fds(box.ctrl, [json.dumps(msg).encode()], [cells_in_r, cells_out_w])
        finally:
            os.close(cells_in_r)
            os.close(cells_out_w)
        self.cells_in = cells_in_w
        self._reader(cells_out_r, "cells-out")
        self.sel.register(box.ctrl, selectors.EVENT_READ, "ctrl")
        # The zygote enforces the real limit; this one only guards against a stuck zygote.
        hard_deadline = self.start + self.limits.timeout_s + 60
        try:
            while True:
                while box._inbox:
                    self._control(*box._inbox.pop(0))
                now = time.monotonic()
                if record.exit and (not self._readers_open() or now > self.done_at + 2):
                    break
                if now > hard_deadline:
                    raise SandboxError("the sandbox stopped answering")
                for key, events in self.sel.select(min(hard_deadline - now, 0.5)):
                    if key.data == "ctrl":
                        self._read_control()
                    elif events & selectors.EVENT_WRITE:
                        self._write(key.fd)
                    else:
                        self._read(self.pipes[key.fd])
        finally:
            self.sel.close()
            for fd in list(self.pipes) + list(self.pending) + [self.cells_in]:
                if fd is not None:
                    close_fd(fd)
            self._release_memcap()
        record.wall_s = round(time.monotonic() - self.start, 4)
        return record

    # -- plumbing

    def _reader(self, fd: int, kind: str, step=None) -> None:
        os.set_blocking(fd, False)
        self.pipes[fd] = _Pipe(fd, kind, step)
        self.sel.register(fd, selectors.EVENT_READ)

    def _queue(self, fd: int | None, data: bytes) -> None:
        if fd is None:
            return
        if fd not in self.pending:
            os.set_blocking(fd, False)
            self.pending[fd] = bytearray()
            self.sel.register(fd, selectors.EVENT_WRITE)
        self.pending[fd] += data

    def _write(self, fd: int) -> None:
        buf = self.pending.get(fd)
        try:
            n = os.write(fd, buf[: 1 << 20])
            del buf[:n]
        except (BrokenPipeError, OSError):
            buf.clear()
        if not buf:
            self.sel.unregister(fd)
            del self.pending[fd]

    def _readers_open(self) -> bool:
        return any(p.open for p in self.pipes.values())

    def _kill(self) -> None:
        try:
            self.box.ctrl.send(json.dumps({"op": protocol.KILL}).encode())
        except OSError:
            pass

    # -- the control socket

    def _read_control(self) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.box.ctrl, 1 << 16, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            raise SandboxError("the sandbox exited")
        self._control(json.loads(data), list(fds))

    def _control(self, msg: dict, fds: list[int]) -> None:
        op = msg.get("op")
        record = self.record
        if op == protocol.STARTED:
            self._place(msg.get("pid"))
            self._queue(self.cells_in, self.payload)
        elif op == protocol.PROBE and len(fds) == 2:
            step = msg.get("step")
            cases_w, obs_r = fds
            record.probes[step] = ProbeRecord(step=step, pid=msg.get("pid"))
            self.probe_in[step] = cases_w
            self._reader(obs_r, "probe-out", step)
            reply = self.conversation.cases(step)
            if reply is None:
                record.evidence.append({"step": step, "what": "a probe for an unknown test"})
                close_fd(cases_w)
                self.probe_in.pop(step, None)
            else:
                self._queue(cases_w, _frame(codec.encode(reply)))
            return
        elif op == protocol.PROBE_END:
            probe = record.probes.get(msg.get("step"))
            if probe is not None:
                probe.ended = True
        elif op == protocol.EVIDENCE:
            record.evidence.append({"step": msg.get("step"), "what": str(msg.get("what"))[:300]})
        elif op == protocol.DONE:
            record.exit = msg
            self.done_at = time.monotonic()
            for entry in msg.get("evidence") or []:
                if entry not in record.evidence:
                    record.evidence.append(entry)
            try:
                self.sel.unregister(self.box.ctrl)
            except (KeyError, ValueError):
                pass
        for fd in fds:
            close_fd(fd)

    def _place(self, ns_pid) -> None:
        """Move the notebook process into a memory cgroup of its own (before it reads)."""
        if not self.box.memory_cgroups or not isinstance(ns_pid, int):
            return
        from convcourse.instructor.sandbox.memcap import MemoryCap, host_pid

        pid = host_pid(ns_pid, self.box._anchor) if self.box._anchor else None
        if pid is None:
            return
        try:
            self.memcap = MemoryCap.create(self.limits.memory_mb)
            self.memcap.add(pid)
        except OSError:
            self._release_memcap()

    def _release_memcap(self) -> None:
        if self.memcap is not None:
            self.record.memory = {
                "cgroup": True,
                "oom_kills": self.memcap.oom_kills(),
                "peak_mb": self.memcap.peak_mb(),
            }
            self.memcap.remove()
            self.memcap = None

    # -- the submission's pipes

    def _read(self, pipe: _Pipe) -> None:
        record = self.record
        try:
            chunk = os.read(pipe.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.sel.unregister(pipe.fd)
            pipe.open = False
            return
        record.output_bytes += len(chunk)
        if pipe.stopped:
            return
        pipe.buf += chunk
        if record.output_bytes > self.max_out:
            record.protocol_error = f"the submission sent more than {self.limits.output_mb} MB back"
            pipe.stopped = True
            self._kill()
            return
        for message in _frames(pipe.buf, record, self.max_out):
            if pipe.kind == "cells-out":
                self._cells_frame(message)
            else:
                self._probe_frame(pipe, message)
        if record.protocol_error:
            pipe.stopped = True
            self._kill()

    def _cells_frame(self, message) -> None:
        self.record.frames.append((self.now(), message))
        kind = message.get("t") if isinstance(message, dict) else None
        if kind not in _CELLS_KINDS:
            what = f"the notebook's own channel carried a {kind!r} frame" if kind else None
            self.record.evidence.append(
                {"step": None, "what": what or "the notebook's channel carried a malformed frame"}
            )

    def _probe_frame(self, pipe: _Pipe, message) -> None:
        probe = self.record.probes[pipe.step]
        probe.frames.append((self.now(), message))
        if not isinstance(message, dict) or message.get("t") not in _PROBE_KINDS:
            self.record.evidence.append(
                {"step": pipe.step, "what": "the test's probe sent a frame outside the protocol"}
            )
            pipe.stopped = True
            return
        if (
            message.get("t") == protocol.TEST
            and sum(
                1 for _, f in probe.frames if isinstance(f, dict) and f.get("t") == protocol.TEST
            )
            > 1
        ):
            self.record.evidence.append(
                {"step": pipe.step, "what": "the test's probe answered twice"}
            )
            pipe.stopped = True
            return
        reply = self.conversation.on_probe_frame(pipe.step, message, self.box)
        if reply is not None:
            self._queue(self.probe_in.get(pipe.step), _frame(codec.encode(reply)))


_CELLS_KINDS = protocol.CELLS_KINDS
_PROBE_KINDS = protocol.PROBE_KINDS


def _frames(buf: bytearray, record: RunRecord, max_frame: int):
    """Pop complete frames off ``buf`` and decode them (untrusted bytes)."""
    while len(buf) >= 4:
        n = int.from_bytes(buf[:4], "little")
        if n > max_frame:
            record.protocol_error = "the submission corrupted its result channel"
            return
        if len(buf) < 4 + n:
            return
        payload = bytes(buf[4 : 4 + n])
        del buf[: 4 + n]
        try:
            yield codec.decode(payload)
        except codec.CodecError as exc:
            record.protocol_error = f"the submission corrupted its result channel ({exc})"
            return


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "little") + payload


def close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
