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
import os
import selectors
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from convcourse.instructor import codec

__all__ = [
    "Conversation",
    "Limits",
    "ProbeRecord",
    "RunRecord",
    "Sandbox",
    "SandboxError",
    "isolation_problem",
    "sandbox_binds",
]

WORKER_DIR = "/opt/convcourse-grader"
_HERE = Path(__file__).resolve().parent
_INSIDE = _HERE / "inside"
# What is mounted at WORKER_DIR: the in-sandbox modules and the codec, nothing else of ours.
_WORKER_FILES = (
    *(p.name for p in sorted(_INSIDE.glob("*.py")) if p.name != "__init__.py"),
    "codec.py",
)
# Capabilities the zygote keeps (as root inside the sandbox): switch to the submission's user id,
# create its scratch folder, and remove whatever the submission left there.
_ZYGOTE_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_CHOWN",
    "CAP_FOWNER",
    "CAP_DAC_OVERRIDE",
    "CAP_KILL",
    # Read /proc/PID/syscall of the submission's processes: is the notebook process waiting for
    # exactly the probe that asks for the test's pipes?
    "CAP_SYS_PTRACE",
)
# Files of /etc that Python, libc and matplotlib may read; nothing with secrets.
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "fonts", "mime.types", "nsswitch.conf")
# Modules every notebook of this course needs; imported once per slot, not once per submission.
DEFAULT_PRELOAD = (
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "matplotlib.pyplot",
    "convcourse",
    "convcourse.checks",
)


class SandboxError(RuntimeError):
    """The sandbox could not be started or stopped answering."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission."""

    timeout_s: float = 120.0  # wall clock, whole notebook
    memory_mb: int = 1024  # address space on top of what the preloaded zygote already maps
    max_processes: int = 32  # processes and threads of the submission's user id
    file_mb: int = 64  # largest file it may write
    scratch_mb: int = 256  # its whole scratch tmpfs (per slot)
    output_mb: int = 64  # everything it may send back
    cpu_s: float | None = None  # CPU seconds; default: the wall-clock limit + 1

    def as_message(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _which_bwrap() -> str | None:
    return shutil.which("bwrap")


def isolation_problem() -> str | None:
    """Why sandboxed grading cannot run here, or None when it can (a real sandbox is tried)."""
    if not sys.platform.startswith("linux"):
        return "sandboxed grading needs Linux (bubblewrap, namespaces, seccomp)"
    bwrap = _which_bwrap()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: apt-get install bubblewrap"
    if os.geteuid() != 0:
        return (
            "sandboxed grading runs as root, so that each submission gets a user id of its own "
            "(run the grader as root, e.g. in the course's CI container)"
        )
    if not hasattr(os, "pidfd_open"):
        return "this Python or kernel has no pidfd_open (Linux >= 5.3 needed)"
    cmd = [bwrap, *_namespace_args(), "--ro-bind", "/", "/", "--", "/bin/true"]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if run.returncode != 0:
        msg = run.stderr.decode(errors="replace").strip()
        return f"bwrap cannot create namespaces here: {msg or run.returncode}"
    probe = "import ctypes; ctypes.CDLL('libseccomp.so.2')"
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode != 0:
        return "libseccomp is not installed (Debian/Ubuntu: apt-get install libseccomp2)"
    return None


def _namespace_args() -> list[str]:
    return [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
    ]


def _python_roots() -> list[Path]:
    """Folders the sandbox needs for Python itself and its installed packages."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(Path(path))
    exe = Path(sys.executable).resolve()
    roots.add(exe.parent)
    return sorted({r.resolve() for r in roots if r.exists()}, key=lambda p: len(p.parts))


def _package_dir(module_name: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def sandbox_binds(preload: tuple[str, ...] = DEFAULT_PRELOAD) -> list[Path]:
    """Host folders mounted read-only into the sandbox (besides /usr and a few /etc files)."""
    binds = [r for r in _python_roots() if not _under(r, Path("/usr"))]
    # Packages installed in editable mode live outside site-packages (here: the repository):
    # mount only their package folder, never the repository around it.
    for name in {"convcourse", *(m.split(".")[0] for m in preload)}:
        pkg = _package_dir(name)
        if pkg is not None and not any(_under(pkg, b) for b in binds) and not _under(pkg, "/usr"):
            binds.append(pkg)
    # Keep only outermost folders.
    binds = sorted(set(binds), key=lambda p: len(p.parts))
    out: list[Path] = []
    for b in binds:
        if not any(_under(b, o) for o in out):
            out.append(b)
    return out


def _under(path: Path, root) -> bool:
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def check_binds_hide(course_dir: Path, binds: list[Path]) -> str | None:
    """A reason to refuse when a mounted folder would expose the course folder's secrets."""
    course_dir = Path(course_dir).resolve()
    for b in binds:
        if _under(course_dir, b):
            return f"the course folder {course_dir} lies inside {b}, which the sandbox mounts"
    return None


def _bwrap_command(python: str, config: dict, binds: list[Path], limits: Limits) -> list[str]:
    args = [_which_bwrap() or "bwrap", *_namespace_args(), "--clearenv"]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
    }
    for k, v in env.items():
        args += ["--setenv", k, v]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for name in _ETC_FILES:
        host = Path("/etc") / name
        if host.exists():
            args += ["--ro-bind", str(host), str(host)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # /dev/shm would be a world-writable tmpfs outside the scratch folder: make it read-only.
    args += ["--perms", "0755", "--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm"]
    args += ["--perms", "0755", "--size", str(limits.scratch_mb * 2**20), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/usr", "/tmp", "/proc", "/dev", "/etc"}
    for b in binds:
        for parent in reversed(b.parents):
            p = str(parent)
            if p not in made:
                args += ["--perms", "0755", "--dir", p]
                made.add(p)
        args += ["--ro-bind", str(b), str(b)]
        made.add(str(b))
        hidden = b / "instructor"
        if b.name == "convcourse" and hidden.is_dir():
            args += ["--perms", "0755", "--tmpfs", str(hidden), "--remount-ro", str(hidden)]
    args += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", WORKER_DIR]
    for name in _WORKER_FILES:
        host = _INSIDE / name if (_INSIDE / name).exists() else _HERE / name
        args += ["--ro-bind", str(host), f"{WORKER_DIR}/{name}"]
    args += ["--remount-ro", "/"]
    args += _cap_args()
    args += ["--", python, "-E", "-s", "-B", f"{WORKER_DIR}/zygote.py", "--zygote"]
    args.append(json.dumps(config))
    return args


def _cap_args() -> list[str]:
    out = ["--cap-drop", "ALL"]
    for cap in _ZYGOTE_CAPS:
        out += ["--cap-add", cap]
    return out


class Conversation:
    """The grader's side of one run; :class:`~convcourse.instructor.verdicts.StudentCases`
    is the real one.  The defaults answer nothing."""

    def cases(self, step) -> dict | None:
        """The inputs of test ``step`` for its probe (None: not a test of ours)."""
        return None

    def on_probe_frame(self, step, frame: dict, sandbox: Sandbox) -> dict | None:
        """A frame from the probe of ``step``; a reply to write back to it, or None."""
        return None


@dataclass
class ProbeRecord:
    """What one test's probe process sent, as the grader received it."""

    step: str
    pid: int | None = None
    frames: list = field(default_factory=list)  # (seconds since start, message)
    ended: bool = False


@dataclass
class RunRecord:
    """What came back from one submission."""

    frames: list = field(default_factory=list)  # cells channel: (seconds since start, message)
    probes: dict = field(default_factory=dict)  # step -> ProbeRecord
    evidence: list = field(default_factory=list)  # {"step", "what"}: tampering seen at run time
    exit: dict = field(default_factory=dict)  # the zygote's report
    wall_s: float = 0.0
    protocol_error: str = ""  # the submission corrupted or flooded a channel
    output_bytes: int = 0
    memory: dict = field(default_factory=dict)  # the memory cgroup's verdict, when there is one


class _Pipe:
    """One direction of a framed pipe in the grader's event loop."""

    def __init__(self, fd: int, kind: str, step=None):
        self.fd = fd
        self.kind = kind  # "cells-in" | "cells-out" | "probe-in" | "probe-out"
        self.step = step
        self.buf = bytearray()
        self.open = True
        self.stopped = False  # reading on, but nothing more is decoded


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
            cmd = _bwrap_command(sys.executable, config, sandbox_binds(self.preload), Limits())
        else:
            import tempfile

            config["tmp"] = tempfile.mkdtemp(prefix="convcourse-grader-")
            zygote = str(_INSIDE / "zygote.py")
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
        self._anchor = _namespace_anchor(self.proc.pid) if self.sandboxed else self.proc.pid
        if self.memory_cgroups is None:
            from convcourse.instructor.memcap import memory_cgroup_problem

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
                self.ctrl.send(json.dumps({"op": "exit"}).encode())
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
                _close(fd)
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
                        _close(fd)
                    return msg
                self._inbox.append((msg, list(fds)))
                if msg.get("op") == "done":
                    return None  # the submission ended meanwhile: no answer will come
        except (TimeoutError, OSError, ValueError):
            return None
        finally:
            if self.ctrl is not None:
                self.ctrl.settimeout(None)

    def probe_cpu(self) -> dict | None:
        """CPU seconds of the running probe process so far (the kernel's clock, read by the
        zygote), its thread count and how many other processes the submission runs."""
        return self._ask({"op": "probe-cpu"}, "probe-cpu-reply")

    def yardstick(self, kind: str, n: int, count: int, seed: int, K, rows=None) -> dict | None:
        """Time one yardstick round in the zygote (its CPU seconds and wall seconds)."""
        msg = {
            "op": "yardstick",
            "kind": kind,
            "n": n,
            "count": count,
            "seed": seed,
            "K": K,
            "rows": rows,
        }
        return self._ask(msg, "yardstick-done")

    # -- one submission

    def run(self, request: dict, conversation: Conversation | None, limits: Limits) -> RunRecord:
        """Run one submission: its cells in the notebook process, each test in a verified probe
        process that ``conversation`` feeds with cases and answers."""
        if not self.alive() or self.ctrl is None:
            raise SandboxError("the sandbox is not running")
        with self._lock:
            return _Run(self, request, conversation or Conversation(), limits).loop()


class _Run:
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
        msg = {"op": "run", "limits": self.limits.as_message()}
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
                    _close(fd)
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
            self.box.ctrl.send(json.dumps({"op": "kill"}).encode())
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
        if op == "started":
            self._place(msg.get("pid"))
            self._queue(self.cells_in, self.payload)
        elif op == "probe" and len(fds) == 2:
            step = msg.get("step")
            cases_w, obs_r = fds
            record.probes[step] = ProbeRecord(step=step, pid=msg.get("pid"))
            self.probe_in[step] = cases_w
            self._reader(obs_r, "probe-out", step)
            reply = self.conversation.cases(step)
            if reply is None:
                record.evidence.append({"step": step, "what": "a probe for an unknown test"})
                _close(cases_w)
                self.probe_in.pop(step, None)
            else:
                self._queue(cases_w, _frame(codec.encode(reply)))
            return
        elif op == "probe-end":
            probe = record.probes.get(msg.get("step"))
            if probe is not None:
                probe.ended = True
        elif op == "evidence":
            record.evidence.append({"step": msg.get("step"), "what": str(msg.get("what"))[:300]})
        elif op == "done":
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
            _close(fd)

    def _place(self, ns_pid) -> None:
        """Move the notebook process into a memory cgroup of its own (before it reads)."""
        if not self.box.memory_cgroups or not isinstance(ns_pid, int):
            return
        from convcourse.instructor.memcap import MemoryCap, host_pid

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
            message.get("t") == "test"
            and sum(1 for _, f in probe.frames if isinstance(f, dict) and f.get("t") == "test") > 1
        ):
            self.record.evidence.append(
                {"step": pipe.step, "what": "the test's probe answered twice"}
            )
            pipe.stopped = True
            return
        reply = self.conversation.on_probe_frame(pipe.step, message, self.box)
        if reply is not None:
            self._queue(self.probe_in.get(pipe.step), _frame(codec.encode(reply)))


_CELLS_KINDS = frozenset({"hello", "start", "cell", "begin", "end", "fatal", "unencodable"})
_PROBE_KINDS = frozenset({"test", "time-ready", "timed", "fatal", "unencodable"})


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


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _namespace_anchor(bwrap_pid: int) -> int | None:
    """A host pid inside the sandbox's pid namespace: bwrap's first descendant that is in
    another pid namespace than bwrap itself."""
    try:
        own = os.readlink(f"/proc/{bwrap_pid}/ns/pid")
    except OSError:
        return None
    todo, seen = [bwrap_pid], set()
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") != own:
                return pid
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return None
