"""Isolation: one sandboxed fork server per worker slot, and the grader's side of its protocol.

A :class:`Sandbox` starts ``inside/zygote.py`` as a fork server inside bubblewrap (``bwrap``):

- new pid, network, IPC and UTS namespaces: no network at all (only a loopback device), no view of
  the grader's processes, and the zygote dies with the grader (``--die-with-parent``);
- a file system made of read-only system folders, the Python installation and its packages, the
  student-world ``convcourse`` package with ``convcourse/instructor`` hidden, the worker files,
  and private, size-limited tmpfs folders -- never the course folder, so no solutions, hidden
  tests, gradebook, other submissions or results;
- the zygote keeps only the capabilities it needs to switch user ids and clean up; each
  submission runs in a forked child under a random unprivileged user id of its own, with
  ``no_new_privs``, a seccomp filter, and limits on memory (address space), CPU time, processes,
  open files and file size; the zygote enforces the wall-clock limit and then kills every process
  of that user id, so nothing a submission started outlives it.

:func:`isolation_problem` says why this cannot work on the current machine (no bwrap, not root,
namespaces refused, ...); the CLI refuses to grade then unless the instructor passes
``--no-sandbox``, which runs the same worker without bwrap and without the user switch (limits
and the protocol still apply, but the submission can read and write what the grader can).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from convcourse.instructor.sandbox.events import Run, close_fd
from convcourse.instructor.sandbox.inside import protocol
from convcourse.instructor.sandbox.mounts import (
    DEFAULT_PRELOAD,
    INSIDE,
    bwrap_command,
    namespace_anchor,
    sandbox_binds,
)
from convcourse.instructor.sandbox.records import (
    Conversation,
    Limits,
    RunRecord,
    SandboxError,
)

__all__ = ["Sandbox"]


class Sandbox:
    """One zygote (a worker slot).  Not thread-safe: one submission at a time per Sandbox."""

    def __init__(
        self,
        *,
        sandboxed: bool = True,
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        prelude: tuple[str, ...] = (),
        log_path: Path | None = None,
        start_timeout_s: float = 180.0,
        memory_cgroups: bool | None = None,
    ):
        self.sandboxed = sandboxed
        self.preload = tuple(preload)
        self.prelude = tuple(prelude)
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        # None: use a memory cgroup per submission when this machine allows it.
        self.memory_cgroups = memory_cgroups
        self.proc: subprocess.Popen | None = None
        self.ctrl: socket.socket | None = None
        self.info: dict = {}
        self._inbox: list[tuple[dict, list[int]]] = []  # control messages read while asking
        self._anchor: int | None = None  # a host pid inside the sandbox's pid namespace
        self._lock = threading.Lock()

    # -- life cycle

    def start(self) -> dict:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "drop_uid": self.sandboxed,
            "seccomp": self.sandboxed,
            "require_seccomp": self.sandboxed,
            "preload": list(self.preload),
            "prelude": list(self.prelude),
            "tmp": "/tmp" if self.sandboxed else None,
        }
        config["control_fd"] = child.fileno()
        if self.sandboxed:
            cmd = bwrap_command(sys.executable, config, sandbox_binds(self.preload), Limits())
        else:
            import tempfile

            config["tmp"] = tempfile.mkdtemp(prefix="convcourse-grader-")
            zygote = str(INSIDE / "zygote.py")
            cmd = [sys.executable, "-s", "-B", zygote, "--zygote", json.dumps(config)]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            # bwrap passes inherited descriptors through: the zygote finds its control socket
            # under the same number.
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(child.fileno(),),
                close_fds=True,
            )
        finally:
            child.close()
            if log is not subprocess.DEVNULL:
                log.close()
        self.ctrl = parent
        self.ctrl.settimeout(self.start_timeout_s)
        try:
            data = self.ctrl.recv(1 << 20)
        except TimeoutError:
            self.close()
            raise SandboxError(
                f"the sandbox did not start within {self.start_timeout_s:.0f} s"
            ) from None
        if not data:
            code = self.proc.wait(timeout=10)
            self.close()
            raise SandboxError(
                f"the sandbox exited while starting (exit code {code}){self._log_tail()}"
            )
        self.ctrl.settimeout(None)
        self.info = json.loads(data)
        if self.sandboxed and not self.info.get("seccomp"):
            self.close()
            raise SandboxError("libseccomp cannot be loaded inside the sandbox")
        self._anchor = namespace_anchor(self.proc.pid) if self.sandboxed else self.proc.pid
        if self.memory_cgroups is None:
            from convcourse.instructor.sandbox.memcap import memory_cgroup_problem

            self.memory_cgroups = memory_cgroup_problem() is None
        return self.info

    def _log_tail(self) -> str:
        if not self.log_path or not Path(self.log_path).exists():
            return ""
        tail = Path(self.log_path).read_bytes()[-2000:].decode(errors="replace")
        return "\n" + tail

    @property
    def prelude_cells(self) -> list[dict] | None:
        """Outputs of the prelude cells the zygote ran, or None when it runs no prelude."""
        prelude = self.info.get("prelude") or {}
        return prelude.get("cells") if prelude.get("used") else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.ctrl is not None:
            try:
                self.ctrl.send(json.dumps({"op": protocol.EXIT}).encode())
            except OSError:
                pass
            self.ctrl.close()
            self.ctrl = None
        if self.proc is not None:
            # Nothing in the sandbox needs flushing: stop it now (its whole pid namespace dies
            # with bwrap) instead of waiting for a torch-laden interpreter to tear itself down.
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        for _msg, fds in self._inbox:
            for fd in fds:
                close_fd(fd)
        self._inbox.clear()

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- questions to the zygote during a run (from a conversation's callback)

    def _ask(self, message: dict, reply_op: str, timeout: float = 60.0) -> dict | None:
        """Send ``message`` to the zygote and wait for its ``reply_op``; other control messages
        that arrive meanwhile are kept for the run loop."""
        if self.ctrl is None:
            return None
        try:
            self.ctrl.send(json.dumps(message).encode())
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.ctrl.settimeout(left)
                data, fds, _flags, _addr = socket.recv_fds(self.ctrl, 1 << 16, 4)
                if not data:
                    return None
                msg = json.loads(data)
                if msg.get("op") == reply_op:
                    for fd in fds:
                        close_fd(fd)
                    return msg
                self._inbox.append((msg, list(fds)))
                if msg.get("op") == protocol.DONE:
                    return None  # the submission ended meanwhile: no answer will come
        except (TimeoutError, OSError, ValueError):
            return None
        finally:
            if self.ctrl is not None:
                self.ctrl.settimeout(None)

    def probe_cpu(self) -> dict | None:
        """CPU seconds of the running probe process so far (the kernel's clock, read by the
        zygote), its thread count and how many other processes the submission runs."""
        return self._ask({"op": protocol.PROBE_CPU}, protocol.PROBE_CPU_REPLY)

    def yardstick(self, kind: str, n: int, count: int, seed: int, K, rows=None) -> dict | None:
        """Time one yardstick round in the zygote (its CPU seconds and wall seconds)."""
        msg = {
            "op": protocol.YARDSTICK,
            "kind": kind,
            "n": n,
            "count": count,
            "seed": seed,
            "K": K,
            "rows": rows,
        }
        return self._ask(msg, protocol.YARDSTICK_DONE)

    # -- one submission

    def run(self, request: dict, conversation: Conversation | None, limits: Limits) -> RunRecord:
        """Run one submission: its cells in the notebook process, each test in a verified probe
        process that ``conversation`` feeds with cases and answers."""
        if not self.alive() or self.ctrl is None:
            raise SandboxError("the sandbox is not running")
        with self._lock:
            return Run(self, request, conversation or Conversation(), limits).loop()
