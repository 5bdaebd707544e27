"""Isolation: one sandboxed fork server per worker slot, and the grader's side of its protocol.

A :class:`Sandbox` starts ``worker.py`` as a zygote inside bubblewrap (``bwrap``):

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
import random
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
    "Limits",
    "RunRecord",
    "Sandbox",
    "SandboxError",
    "isolation_problem",
    "sandbox_binds",
]

WORKER_DIR = "/opt/convcourse-grader"
_HERE = Path(__file__).resolve().parent
_WORKER_FILES = ("worker.py", "codec.py")
# Capabilities the zygote keeps (as root inside the sandbox): switch to the submission's user id,
# create its scratch folder, and remove whatever the submission left there.
_ZYGOTE_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_CHOWN",
    "CAP_FOWNER",
    "CAP_DAC_OVERRIDE",
    "CAP_KILL",
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


@dataclass
class RunRecord:
    """What came back from one submission: its frames (decoded) and how its process ended."""

    frames: list = field(default_factory=list)  # (seconds since start, message)
    exit: dict = field(default_factory=dict)  # the zygote's report
    wall_s: float = 0.0
    protocol_error: str = ""  # the submission corrupted or flooded its result channel
    output_bytes: int = 0
    sent: list = field(default_factory=list)  # (seconds since start, question answered)


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
        args += ["--ro-bind", str(_HERE / name), f"{WORKER_DIR}/{name}"]
    args += ["--remount-ro", "/"]
    args += _cap_args()
    args += ["--", python, "-E", "-s", "-B", f"{WORKER_DIR}/worker.py", "--zygote"]
    args.append(json.dumps(config))
    return args


def _cap_args() -> list[str]:
    out = ["--cap-drop", "ALL"]
    for cap in _ZYGOTE_CAPS:
        out += ["--cap-add", cap]
    return out


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
    ):
        self.sandboxed = sandboxed
        self.preload = tuple(preload)
        self.prelude = tuple(prelude)
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.ctrl: socket.socket | None = None
        self.info: dict = {}
        self._early_exit: dict | None = None  # a "done" that arrived during time_reference
        self.uid = random.SystemRandom().randrange(1 << 20, 1 << 30)
        self._lock = threading.Lock()

    # -- life cycle

    def start(self) -> dict:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "uid": self.uid,
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
            worker = str(_HERE / "worker.py")
            cmd = [sys.executable, "-s", "-B", worker, "--zygote", json.dumps(config)]
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

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one submission

    def run(self, request: dict, on_frame, limits: Limits) -> RunRecord:
        """Run one submission: send ``request``; ``on_frame(message)`` sees every message as it
        arrives and answers the questions (``need``: the cases of a test; ``time-ready``:
        inputs to time) by returning a reply, or returns None."""
        if not self.alive() or self.ctrl is None:
            raise SandboxError("the sandbox is not running")
        with self._lock:
            return self._run(request, on_frame, limits)

    def _run(self, request: dict, on_frame, limits: Limits) -> RunRecord:
        record = RunRecord()
        max_out = limits.output_mb * 2**20
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        msg = {"op": "run", "limits": limits.as_message()}
        try:
            socket.send_fds(self.ctrl, [json.dumps(msg).encode()], [req_r, res_w])
        finally:
            os.close(req_r)
            os.close(res_w)
        os.set_blocking(req_w, False)
        os.set_blocking(res_r, False)
        pending = bytearray(_frame(codec.encode(request)))
        inbuf = bytearray()
        start = time.monotonic()
        # The zygote enforces the real limit; this one only guards against a stuck zygote.
        hard_deadline = start + limits.timeout_s + 60
        sel = selectors.DefaultSelector()
        sel.register(res_r, selectors.EVENT_READ, "res")
        sel.register(self.ctrl, selectors.EVENT_READ, "ctrl")
        writing = True
        sel.register(req_w, selectors.EVENT_WRITE, "req")
        res_open = True
        done_at = None
        stop_reading = False
        self._early_exit = None
        try:
            while True:
                now = time.monotonic()
                if self._early_exit is not None and not record.exit:
                    record.exit, done_at = self._early_exit, now
                    sel.unregister(self.ctrl)
                if record.exit and (not res_open or now > done_at + 2):
                    break
                if now > hard_deadline:
                    raise SandboxError("the sandbox stopped answering")
                timeout = min(hard_deadline - now, 0.5)
                for key, _ in sel.select(timeout):
                    what = key.data
                    if what == "req":
                        try:
                            n = os.write(req_w, pending[: 1 << 20])
                            del pending[:n]
                        except (BrokenPipeError, OSError):
                            pending.clear()
                        if not pending:
                            sel.unregister(req_w)
                            writing = False
                    elif what == "res":
                        try:
                            chunk = os.read(res_r, 1 << 20)
                        except BlockingIOError:
                            continue
                        if not chunk:
                            sel.unregister(res_r)
                            res_open = False
                            continue
                        record.output_bytes += len(chunk)
                        if stop_reading:
                            continue
                        inbuf += chunk
                        if record.output_bytes > max_out:
                            record.protocol_error = (
                                f"the submission sent more than {limits.output_mb} MB back"
                            )
                            stop_reading = True
                            self._send({"op": "kill"})
                            continue
                        for message in self._frames(inbuf, record, max_out):
                            record.frames.append((round(time.monotonic() - start, 4), message))
                            if isinstance(message, dict):
                                reply = on_frame(message)
                                if reply is not None:
                                    record.sent.append((time.monotonic() - start, message))
                                    pending += _frame(codec.encode(reply))
                                    if not writing:
                                        sel.register(req_w, selectors.EVENT_WRITE, "req")
                                        writing = True
                        if record.protocol_error:
                            stop_reading = True
                            self._send({"op": "kill"})
                    elif what == "ctrl":
                        data = self.ctrl.recv(1 << 16)
                        if not data:
                            raise SandboxError("the sandbox exited")
                        record.exit = json.loads(data)
                        done_at = time.monotonic()
                        sel.unregister(self.ctrl)
        finally:
            sel.close()
            os.close(req_w)
            os.close(res_r)
        record.wall_s = round(time.monotonic() - start, 4)
        return record

    def time_reference(self, kind: str, n: int, count: int, seed: int, K, rows=None):
        """Seconds the zygote takes for one yardstick round (see timing.py), or None.

        Only during ``run``, while the child waits for the grader (the zygote answers from its
        wait loop).
        """
        if self.ctrl is None or self._early_exit is not None:
            return None
        msg = {
            "op": "time-ref",
            "kind": kind,
            "n": n,
            "count": count,
            "seed": seed,
            "K": K,
            "rows": rows,
        }
        start = time.monotonic()
        self._send(msg)
        self.ctrl.settimeout(60)
        try:
            while True:
                data = self.ctrl.recv(1 << 16)
                if not data:
                    return None
                reply = json.loads(data)
                if reply.get("op") == "time-ref-done":
                    return time.monotonic() - start
                if reply.get("op") == "done":  # the child ended meanwhile: keep it for run()
                    self._early_exit = reply
                    return None
        except (TimeoutError, OSError, ValueError):
            return None
        finally:
            self.ctrl.settimeout(None)

    def _send(self, msg: dict) -> None:
        try:
            self.ctrl.send(json.dumps(msg).encode())
        except OSError:
            pass

    @staticmethod
    def _frames(buf: bytearray, record: RunRecord, max_frame: int):
        """Pop complete frames off ``buf`` and decode them (untrusted bytes)."""
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "little")
            if n > max_frame:
                record.protocol_error = "the submission corrupted the result channel"
                return
            if len(buf) < 4 + n:
                return
            payload = bytes(buf[4 : 4 + n])
            del buf[: 4 + n]
            try:
                yield codec.decode(payload)
            except codec.CodecError as exc:
                record.protocol_error = f"the submission corrupted the result channel ({exc})"
                return


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "little") + payload
