"""The fork server ("zygote") of one worker slot, and what it does for each submission.

It starts once per slot inside bubblewrap, imports torch, IPython, matplotlib and
``convcourse.checks`` (the slow part of running a notebook), runs the assignment's prelude if
any, takes a snapshot of that pristine interpreter (``integrity``), then waits on its control
socket (file descriptor 3).  No student code ever runs in this process.

For each submission the grader sends ``run`` with the two pipe ends of the cells channel.  The
zygote makes a probe socket pair, forks the **notebook process** and tells the grader its pid
(so the grader can put it in a memory cgroup before it reads its cells).  The notebook process
drops to a user id of its own for this submission, sets resource limits and a seccomp filter
(``notebook``) and runs the cells (``runner``).  At each test it forks a probe; the probe asks
the zygote for its pipes over the probe socket, and the zygote, which learns the asking
process's pid from the kernel (SO_PASSCRED):

1. stops the notebook process (SIGSTOP: none of its threads runs while the test runs);
2. kills every other process of the submission's user id (whatever it left running);
3. checks that the asker is a child of the notebook process, that the notebook process's main
   thread is blocked waiting for exactly that child, and that the asker has one thread;
4. makes two fresh pipes, hands one end of each to the probe and the other ends to the grader
   (``probe`` message), and closes its own copies.

When the probe ends, the notebook process continues.  During timing rounds the grader asks the
zygote for the probe's CPU time (``probe-cpu``), and has it time the yardstick itself
(``yardstick``): CPU time against CPU time, so neither a busy machine nor the rest of the
batch moves the verdict.  At the end the zygote kills every process of the submission's user
id, deletes its scratch folder and reports how the notebook process ended.

Run as ``python zygote.py --zygote CONFIG_JSON``, inside the sandbox or, unsandboxed, from the
package folder.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import sys
import time

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import (
        confine,
        integrity,
        notebook,
        probe,
        protocol,
        runner,
        yardstick,
    )
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import confine  # type: ignore[no-redef]
    import integrity  # type: ignore[no-redef]
    import notebook  # type: ignore[no-redef]
    import probe  # type: ignore[no-redef]
    import protocol  # type: ignore[no-redef]
    import runner  # type: ignore[no-redef]
    import yardstick  # type: ignore[no-redef]

CONTROL_FD = 3
MAX_CONTROL = 1 << 16
SCRATCH_ROOT_NAME = "convcourse-run"
# How long the notebook process's main thread may take to start waiting for its probe.
_WAIT_GRACE_S = 0.5
# SO_PASSCRED / SCM_CREDENTIALS, and the ucred struct (pid, uid, gid).
_SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
_SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
_UCRED = struct.Struct("iII")
# The builtins as Python started them (before any shell or submission touched them).


# ------------------------------------------------------------------------------------- zygote


def zygote_main(config: dict) -> None:
    """Preload, report ready, then serve ``run`` requests until the control socket closes."""
    os.environ.update(
        {
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    ctrl = socket.socket(fileno=int(config.get("control_fd", CONTROL_FD)))
    started = time.perf_counter()
    problems = _preload(config.get("preload", []))
    prelude = {"cells": [], "used": False}
    if config.get("prelude"):
        prelude = runner.run_prelude(
            config["prelude"], os.path.join(config.get("tmp") or "/tmp", "prelude")
        )
    # The grader's own modules, under the names they were imported by (plain names inside the
    # sandbox, package names outside it).
    ours = (confine, integrity, probe, protocol, protocol.codec, runner)
    probe.SNAPSHOT = integrity.take(tuple(m.__name__ for m in ours))
    info = {
        "op": protocol.READY,
        "pid": os.getpid(),
        "uid": os.getuid(),
        "seccomp": confine.seccomp_available(),
        "preload_s": round(time.perf_counter() - started, 3),
        "preload_problems": problems,
        "prelude": prelude,
    }
    ctrl.send(json.dumps(info).encode())
    scratch_root = os.path.join(config.get("tmp", "/tmp"), SCRATCH_ROOT_NAME)
    os.makedirs(scratch_root, mode=0o755, exist_ok=True)
    counter = 0
    uids = random.SystemRandom()
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(ctrl, MAX_CONTROL, 4)
        except OSError:
            break
        if not data:
            break
        msg = json.loads(data)
        if msg.get("op") == protocol.EXIT:
            break
        if msg.get("op") in (protocol.YARDSTICK, protocol.PROBE_CPU) and not fds:
            # A question that arrived as the submission ended: answered all the same.
            ctrl.send(json.dumps(yardstick.between_runs(msg)).encode())
            continue
        if msg.get("op") != protocol.RUN or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            ctrl.send(json.dumps({"op": protocol.ERROR, "error": "bad request"}).encode())
            continue
        counter += 1
        # A user id of its own for every submission: nothing one leaves can touch the next.
        uid = uids.randrange(1 << 20, 1 << 30) if config.get("drop_uid") else None
        serve = _Submission(ctrl, config, msg, fds, os.path.join(scratch_root, str(counter)), uid)
        try:
            report = serve.run()
        except Exception as exc:  # the zygote must outlive whatever a submission did
            confine.kill_all(None, uid)
            report = {
                "op": protocol.DONE,
                "error": f"{type(exc).__name__}: {exc}",
                "exit_code": None,
                "signal": None,
                "timed_out": False,
                "killed": False,
            }
        ctrl.send(json.dumps(report).encode())


def _preload(modules: list[str]) -> list[str]:
    """Import what every submission needs, once; return the import errors (never fatal)."""
    problems = []
    import importlib
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    # Fork-safety: no thread pool may exist when we fork, and the first inter-op use starts one.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
    warnings.filterwarnings("ignore", message=".*FigureCanvasAgg is non-interactive.*")
    for name in ["IPython.core.interactiveshell", "matplotlib.pyplot", *modules]:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional module must not stop grading
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    try:  # first calls of torch kernels JIT-compile and allocate: do it once, for every child
        import torch.nn.functional as F

        for n in (8, 64, 256):
            X = torch.rand((n, n))
            F.conv2d(X.reshape(1, 1, n, n), torch.rand((1, 1, 3, 3)))
            torch.addcmul(X, X, X[0, 0]).sum().item()
    except Exception as exc:
        problems.append(f"torch warm-up: {exc}")
    try:  # draw once so the font cache and the Agg renderer are warm in every child
        import matplotlib.pyplot as plt

        fig = plt.figure()
        fig.canvas.draw()
        plt.close(fig)
    except Exception as exc:
        problems.append(f"matplotlib warm-up: {exc}")
    return problems


class _Submission:
    """The zygote's side of one submission: its processes, its probes, its end."""

    def __init__(self, ctrl, config: dict, msg: dict, fds: list[int], scratch: str, uid):
        self.ctrl = ctrl
        self.config = config
        self.limits = msg.get("limits", {})
        self.cells_r, self.cells_w = fds
        self.scratch = scratch
        self.uid = uid
        self.pid: int | None = None  # the notebook process
        self.probe_pid: int | None = None
        self.probe_fd: int | None = None  # pidfd of the running probe
        self.probe_step = None
        self.evidence: list[dict] = []

    def _send(self, message: dict, fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self.ctrl, [data], fds)
        else:
            self.ctrl.send(data)

    def run(self) -> dict:
        os.makedirs(self.scratch, mode=0o700)
        if self.uid is not None:
            os.chown(self.scratch, self.uid, self.uid)
        timeout = float(self.limits.get("timeout_s", 60))
        vmsize = _vm_size()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setsockopt(socket.SOL_SOCKET, _SO_PASSCRED, 1)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the notebook process: never returns
            try:
                self.ctrl.close()
                ours.close()
                notebook.notebook_main(
                    self.config,
                    self.limits,
                    self.cells_r,
                    self.cells_w,
                    theirs.detach(),
                    self.scratch,
                    self.uid,
                    vmsize,
                )
            except BaseException:  # noqa: BLE001 - report what broke the worker, then exit
                notebook.report_fatal(self.cells_w)
            finally:
                os._exit(70)
        self.pid = pid
        theirs.close()
        os.close(self.cells_r)
        os.close(self.cells_w)
        self._send({"op": protocol.STARTED, "pid": pid})
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(self.ctrl, select.POLLIN)
        poller.register(ours, select.POLLIN)
        timed_out = killed = False
        found = 0
        try:
            while True:
                left = start + timeout - time.monotonic()
                if left <= 0:
                    timed_out = True
                    found = self._end_all()
                    break
                events = dict(poller.poll(left * 1000))
                if self.probe_fd is not None and self.probe_fd in events:
                    self._probe_ended(poller)
                if pidfd in events:
                    break
                if ours.fileno() in events:
                    if not self._probe_request(ours):  # every copy of the other end is closed
                        poller.unregister(ours)
                    elif self.probe_fd is not None:
                        poller.register(self.probe_fd, select.POLLIN)
                if self.ctrl.fileno() in events:
                    data = self.ctrl.recv(MAX_CONTROL)
                    if not data:  # the grader went away: stop at once
                        self._end_all()
                        os._exit(0)
                    request = json.loads(data)
                    op = request.get("op")
                    if op == protocol.KILL:
                        killed = True
                        found = self._end_all()
                        break
                    if op == protocol.YARDSTICK:
                        # The yardstick runs here, in a process no student code has touched,
                        # while the probe waits for the grader's next job.
                        self._send(yardstick.between_runs(request))
                    elif op == protocol.PROBE_CPU:
                        self._send(self._probe_cpu())
        finally:
            ours.close()
        _pid, status, usage = os.wait4(pid, 0)
        wall = time.monotonic() - start
        os.close(pidfd)
        if self.probe_fd is not None:
            os.close(self.probe_fd)
            self.probe_fd = None
        # Whatever the submission started (daemons, fork bombs, setsid escapes) dies with it.
        survivors = max(found, confine.kill_all(None, self.uid))
        if self.uid is None:
            with confine.suppress():
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return {
            "op": protocol.DONE,
            "wall_s": round(wall, 4),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "maxrss_kb": usage.ru_maxrss,
            "timed_out": timed_out,
            "killed": killed,
            "survivors_killed": survivors,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "evidence": self.evidence,
        }

    def _end_all(self) -> int:
        if self.pid is not None:
            confine.resume(self.pid)  # a stopped process dies of SIGKILL all the same
        return confine.kill_all(self.pid, self.uid)

    # -- probes

    def _probe_request(self, ours: socket.socket) -> bool:
        """A datagram on the probe socket: verify who sent it, then serve it or refuse it.
        False when the socket reached its end."""
        try:
            data, ancdata, _flags, _addr = ours.recvmsg(MAX_CONTROL, socket.CMSG_SPACE(256))
        except OSError:
            return False
        if not data and not ancdata:
            return False
        sender = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == _SCM_CREDENTIALS:
                sender = _UCRED.unpack(payload[: _UCRED.size])[0]
            elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for i in range(0, len(payload) - len(payload) % 4, 4):  # never keep theirs
                    with confine.suppress():
                        os.close(int.from_bytes(payload[i : i + 4], sys.byteorder))
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        step = message.get("step") if isinstance(message, dict) else None
        if not isinstance(message, dict) or message.get("op") != protocol.ASK:
            self._tampering(step, "a process of the submission wrote to the grader's socket")
            return True
        why = self._verify(sender)
        if why:
            confine.resume(self.pid)  # the notebook goes on; the refused test earns nothing
            self._tampering(step, why)
            if sender and sender != self.pid:
                with confine.suppress():
                    os.kill(sender, signal.SIGKILL)
            with confine.suppress():
                ours.send(json.dumps({"op": protocol.REFUSED, "why": why}).encode())
            return True
        # Every other process of the submission is gone or stopped: only the probe can read.
        cases_r, cases_w = os.pipe()
        obs_r, obs_w = os.pipe()
        try:
            socket.send_fds(ours, [json.dumps({"op": protocol.GO}).encode()], [cases_r, obs_w])
            self._send({"op": protocol.PROBE, "step": step, "pid": sender}, [cases_w, obs_r])
        finally:
            for fd in (cases_r, cases_w, obs_r, obs_w):
                os.close(fd)
        self.probe_pid, self.probe_step = sender, step
        self.probe_fd = os.pidfd_open(sender)
        return True

    def _verify(self, sender: int | None) -> str:
        """Why ``sender`` is not the probe the notebook process forked for its test ('' if it
        is).  Stops the notebook process and kills every other process of the submission."""
        if sender is None:
            return "a probe request came without the sender's credentials"
        if self.probe_fd is not None:
            return "a second probe was requested while one was running"
        if sender == self.pid:
            return "the notebook process itself asked to be probed"
        # Read before stopping it (a stopped task shows the signal's restart, not its wait),
        # and give its main thread a moment: it asks for the wait right after the fork.
        deadline = time.monotonic() + _WAIT_GRACE_S
        waiting = confine.waiting_for(self.pid)
        while waiting not in (None, sender) and time.monotonic() < deadline:
            time.sleep(0.001)
            waiting = confine.waiting_for(self.pid)
        confine.stop(self.pid)
        if self.uid is not None:
            confine.kill_all(None, self.uid, keep=(self.pid, sender))
        if confine.parent_of(sender) != self.pid:
            return "a process that the notebook process did not fork asked to be probed"
        if waiting is not None and waiting != sender:
            return "the probe request came from a process the test step was not waiting for"
        if confine.threads_of(sender) != 1:
            return "the probe process had more than one thread"
        return ""

    def _probe_ended(self, poller) -> None:
        poller.unregister(self.probe_fd)
        os.close(self.probe_fd)
        self.probe_fd = None
        # Anything the probed code started ends with the probe; then the notebook goes on.
        if self.uid is not None:
            confine.kill_all(None, self.uid, keep=(self.pid,))
        confine.resume(self.pid)
        self._send({"op": protocol.PROBE_END, "step": self.probe_step})
        self.probe_pid = None

    def _probe_cpu(self) -> dict:
        pid = self.probe_pid
        if pid is None:
            return {"op": protocol.PROBE_CPU_REPLY, "cpu_s": None}
        others = []
        if self.uid is not None:
            others = [p for p in confine.processes_of(self.uid) if p not in (pid, self.pid)]
        return {
            "op": protocol.PROBE_CPU_REPLY,
            "cpu_s": confine.cpu_seconds(pid),
            "threads": confine.threads_of(pid),
            "others": len(others),
        }

    def _tampering(self, step, what: str) -> None:
        entry = {"step": step, "what": what}
        self.evidence.append(entry)
        self._send({"op": protocol.EVIDENCE, **entry})


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# --------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "--zygote":
        sys.exit("usage: zygote.py --zygote CONFIG_JSON")
    zygote_main(json.loads(argv[1]))


if __name__ == "__main__":
    main()
