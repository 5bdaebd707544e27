"""The code that runs inside the sandbox: a fork server ("zygote") and one child per submission.

The zygote starts once per worker slot, imports torch, IPython, matplotlib and
``convcourse.checks`` (the slow part of running a notebook), then waits on its control socket
(file descriptor 3).  For each submission the grader sends it a ``run`` message with two fresh
pipe ends attached (SCM_RIGHTS): the read end of the request pipe and the write end of the
result pipe.  The zygote forks; only the child touches those pipes, so the zygote never holds a
submission's code or results in its own memory (every later child is forked from that memory).

The child drops to an unprivileged user id of its own, sets resource limits and a seccomp
filter, and then:

1. reads the request (the notebook's code cells in order, with the test cells marked);
2. runs each code cell with IPython (magics and input transformations as in a kernel),
   capturing a bounded amount of output;
3. at each test cell asks the grader for that test's cases, calls the exercise's ``probe`` on
   them and sends back the observations -- plain data, never a verdict;
4. writes an ``end`` frame and exits.

Nothing the child says is trusted: the grader judges the observations itself with expected
values that never enter the sandbox.  The zygote then kills every process of the child's user id
(so nothing outlives a submission), deletes the scratch folder and reports how the child ended,
with the CPU time the kernel measured for it.

This file runs as a script inside the sandbox (only it and ``codec.py`` are mounted there), or as
``python -m convcourse.instructor.worker`` when the instructor grades without a sandbox.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time

try:  # inside the sandbox only this file and codec.py are mounted, side by side
    from convcourse.instructor import codec
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import codec  # type: ignore[no-redef]

CONTROL_FD = 3
# The builtins as Python started them (a submission may replace some; see _PristineBuiltins).
_BOOT_BUILTINS = dict(vars(builtins))
MAX_CONTROL = 1 << 16
SCRATCH_ROOT_NAME = "convcourse-run"

# Per-cell and per-submission caps on captured output (characters); the rest is only counted.
CELL_OUTPUT_KEEP = 20_000
TOTAL_OUTPUT_KEEP = 400_000

# System calls a submission never needs: other processes' memory, namespaces, mounts, kernel
# modules, key rings, BPF, ... They fail with EPERM.  ``socket`` is allowed for AF_UNIX only.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    "name_to_handle_at",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "fanotify_init",
    "move_pages",
    "migrate_pages",
    "mknod",
    "mknodat",
)
_CLONE_NS_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


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
        prelude = _run_prelude(
            config["prelude"], os.path.join(config.get("tmp") or "/tmp", "prelude")
        )
    info = {
        "op": "ready",
        "pid": os.getpid(),
        "uid": os.getuid(),
        "seccomp": _seccomp_available(),
        "preload_s": round(time.perf_counter() - started, 3),
        "preload_problems": problems,
        "prelude": prelude,
    }
    ctrl.send(json.dumps(info).encode())
    scratch_root = os.path.join(config.get("tmp", "/tmp"), SCRATCH_ROOT_NAME)
    os.makedirs(scratch_root, mode=0o755, exist_ok=True)
    counter = 0
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(ctrl, MAX_CONTROL, 4)
        except OSError:
            break
        if not data:
            break
        msg = json.loads(data)
        if msg.get("op") == "exit":
            break
        if msg.get("op") != "run" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            ctrl.send(json.dumps({"op": "error", "error": "bad request"}).encode())
            continue
        counter += 1
        try:
            report = _serve_one(ctrl, config, msg, fds, os.path.join(scratch_root, str(counter)))
        except Exception as exc:  # the zygote must outlive whatever a submission did
            _kill_all(None, int(config["uid"]) if config.get("drop_uid") else None)
            report = {
                "op": "done",
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


def _serve_one(ctrl: socket.socket, config: dict, msg: dict, fds: list[int], scratch: str) -> dict:
    req_r, res_w = fds
    uid = int(config["uid"]) if config.get("drop_uid") else None
    os.makedirs(scratch, mode=0o700)
    if uid is not None:
        os.chown(scratch, uid, uid)
    limits = msg.get("limits", {})
    timeout = float(limits.get("timeout_s", 60))
    vmsize = _vm_size()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            ctrl.close()
            _child_main(config, limits, req_r, res_w, scratch, uid, vmsize)
        except BaseException:  # noqa: BLE001 - report what broke the worker, then exit
            _report_fatal(res_w)
        finally:
            os._exit(70)
    os.close(req_r)
    os.close(res_w)
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(ctrl, select.POLLIN)
    timed_out = killed = False
    found = 0
    while True:
        left = start + timeout - time.monotonic()
        if left <= 0:
            timed_out = True
            found = _kill_all(pid, uid)
            break
        events = dict(poller.poll(left * 1000))
        if pidfd in events:
            break
        if ctrl.fileno() in events:
            data = ctrl.recv(MAX_CONTROL)
            if not data:  # the grader went away: stop at once
                _kill_all(pid, uid)
                os._exit(0)
            request = json.loads(data)
            if request.get("op") == "kill":
                killed = True
                found = _kill_all(pid, uid)
                break
            if request.get("op") == "time-ref":
                # The yardstick runs here, in a process no student code has touched; the
                # child meanwhile waits for the grader's next question.
                ctrl.send(json.dumps(_time_reference(request)).encode())
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(pidfd)
    # Whatever the child started (daemons, fork bombs, setsid escapes) dies with it.
    survivors = max(found, _kill_all(None, uid))
    if uid is None:
        with _suppress():
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(scratch, ignore_errors=True)
    report = {
        "op": "done",
        "wall_s": round(wall, 4),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
        "maxrss_kb": usage.ru_maxrss,
        "timed_out": timed_out,
        "killed": killed,
        "survivors_killed": survivors,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    }
    return report


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def _time_reference(request: dict) -> dict:
    """One yardstick round, as ``_time_call`` does for the student's function."""
    import torch
    import torch.nn.functional as F

    from convcourse.corr import corr2d

    kind, n, count = request["kind"], int(request["n"]), int(request["count"])
    K = torch.tensor(request["K"], dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(request["seed"]))
    o = (n - K.shape[0] + 1, n - K.shape[1] + 1)
    W = torch.rand(o, generator=gen, dtype=torch.float64) - 0.5
    rows = int(request.get("rows") or o[0])
    sums = []
    for _ in range(count):
        X = torch.rand((n, n), generator=gen)
        if kind == "conv":
            Y = F.conv2d(X.reshape(1, 1, n, n), K.reshape(1, 1, *K.shape))[0, 0]
        elif kind == "loop":
            Y = corr2d(X[: rows + K.shape[0] - 1], K)
        else:
            Y = X[: o[0], : o[1]]
        sums.append(float((Y.to(torch.float64) * W[: Y.shape[0], : Y.shape[1]]).sum()))
    return {"op": "time-ref-done", "sums": sums}


def _report_fatal(res_w: int) -> None:
    """Last words of a child whose worker code failed (the submission may have broken it)."""
    import traceback

    try:
        vars(builtins).update(_BOOT_BUILTINS)
        text = traceback.format_exc()[-3000:]
        codec.write_frame(res_w, codec.encode({"t": "fatal", "error": text}))
    except BaseException:  # noqa: BLE001 - nothing more can be done
        pass


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                        break  # a zombie waits for its parent to reap it; it runs nothing
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def _kill_all(pid: int | None, uid: int | None) -> int:
    """Kill the child and every process running as its user id; return how many were left."""
    if pid is not None:
        with _suppress():
            os.kill(pid, signal.SIGKILL)
    if uid is None:
        if pid is not None:
            with _suppress():
                os.killpg(pid, signal.SIGKILL)
        return 0
    found = 0
    for _round in range(100):
        pids = _processes_of(uid)
        if not pids:
            break
        found = max(found, len(pids))
        # kill(-1) from a process running as ``uid`` reaches every process of that user in this
        # pid namespace at once, which also stops a fork bomb that outruns a pid-by-pid loop.
        helper = os.fork()
        if helper == 0:
            try:
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                for _ in range(3):
                    with _suppress():
                        os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        # Reap the helper only: the submission's own process is reaped by the caller (wait4),
        # and the processes it started are reparented to the namespace's init, which reaps them.
        os.waitpid(helper, 0)
        time.sleep(0.002 * _round)
    return found


# -------------------------------------------------------------------------------------- child


def _child_main(config, limits, req_r, res_w, scratch, uid, vmsize) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = {0, 1, 2, req_r, res_w}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with _suppress():
                os.close(fd)
    channel = _Channel(req_r, res_w, int(limits.get("max_request_bytes", 256 * 2**20)))
    request = channel.receive()
    if request is None:
        os._exit(71)
    with _suppress(), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")  # under memory pressure the submission goes first, never the grader
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _no_new_privs()
    _set_limits(limits, vmsize, drop_uid=uid is not None)
    seccomp = False
    if config.get("seccomp", True):
        seccomp = _install_seccomp()
        if not seccomp and config.get("require_seccomp"):
            channel.send({"t": "fatal", "error": "seccomp filter could not be installed"})
            os._exit(72)
    os.chdir(scratch)
    env = {
        "HOME": scratch,
        "TMPDIR": scratch,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(scratch, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(scratch, ".ipython"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({str(k): str(v) for k, v in request.get("env", {}).items()})
    os.environ.clear()
    os.environ.update(env)
    _write_files(scratch, request.get("files", {}))
    channel.send({"t": "hello", "seccomp": seccomp, "uid": os.getuid()})
    _run_notebook(channel, request)
    vars(builtins).update(_BOOT_BUILTINS)  # whatever the last cell replaced
    channel.send({"t": "end"})
    os._exit(0)


def _no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS = 38
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _set_limits(limits: dict, vmsize: int, drop_uid: bool) -> None:
    mb = 2**20
    timeout = float(limits.get("timeout_s", 60))
    cpu = int(limits.get("cpu_s") or timeout + 1)
    pairs = [
        (resource.RLIMIT_CPU, (cpu, cpu + 2)),
        (resource.RLIMIT_AS, (vmsize + int(limits.get("memory_mb", 1024)) * mb,) * 2),
        (resource.RLIMIT_FSIZE, (int(limits.get("file_mb", 64)) * mb,) * 2),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_MEMLOCK, (0, 0)),
    ]
    if drop_uid:  # RLIMIT_NPROC counts every process of the user id: only safe with our own id
        n = int(limits.get("max_processes", 32))
        pairs.append((resource.RLIMIT_NPROC, (n, n)))
    for which, value in pairs:
        resource.setrlimit(which, value)
    # A write past RLIMIT_FSIZE fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _libseccomp():
    for name in ("libseccomp.so.2", "libseccomp.so"):
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
    return None


def _seccomp_available() -> bool:
    return _libseccomp() is not None


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _install_seccomp() -> bool:
    """Deny dangerous system calls (EPERM), network sockets and new namespaces."""
    lib = _libseccomp()
    if lib is None:
        return False
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    allow = 0x7FFF0000

    def deny(code):
        return 0x00050000 | (code & 0xFFFF)

    ctx = lib.seccomp_init(allow)
    if not ctx:
        return False
    ok = True

    def rule(action, name, *cmps):
        nonlocal ok
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return
        array = (_ArgCmp * max(1, len(cmps)))(*cmps)
        if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array) != 0:
            ok = False

    for name in DENIED_SYSCALLS:
        rule(deny(errno.EPERM), name)
    SCMP_CMP_NE, SCMP_CMP_MASKED_EQ = 1, 7
    AF_UNIX = 1
    rule(deny(errno.EACCES), "socket", _ArgCmp(0, SCMP_CMP_NE, AF_UNIX, 0))
    for flag in _CLONE_NS_FLAGS:
        rule(deny(errno.EPERM), "clone", _ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory the filter cannot read; ENOSYS makes libc use clone.
    rule(deny(errno.ENOSYS), "clone3")
    if ok:
        ok = lib.seccomp_load(ctx) == 0
    lib.seccomp_release(ctx)
    return ok


def _write_files(scratch: str, files: dict) -> None:
    """Extra files of the assignment (data, helper modules) into the scratch folder."""
    for rel, data in files.items():
        rel = str(rel)
        parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            continue
        path = os.path.join(scratch, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(bytes(data) if not hasattr(data, "tobytes") else data.tobytes())


class _Channel:
    """Framed messages: requests in on one pipe, results out on the other."""

    def __init__(self, req_r: int, res_w: int, max_request: int):
        self.req_r = req_r
        self.res_w = res_w
        self.max_request = max_request
        self.pid = os.getpid()

    def _read_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = os.read(self.req_r, min(n, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        if os.getpid() != self.pid:  # a copy forked by the submission must not steal replies
            os._exit(0)
        frame = codec.read_frame(self._read_exact, self.max_request)
        if frame is None:
            return None
        limits = codec.Limits(max_bytes=self.max_request, max_string=self.max_request)
        return codec.decode(frame, limits)

    def send(self, message) -> None:
        if os.getpid() != self.pid:  # a copy forked by the submission: it has no voice here
            return
        try:
            payload = codec.encode(message)
        except codec.CodecError as exc:
            payload = codec.encode({"t": "unencodable", "error": str(exc)})
        try:
            codec.write_frame(self.res_w, payload)
        except OSError:
            os._exit(73)


# ----------------------------------------------------------------------- running the notebook


class _Bounded:
    """A text stream that keeps the first ``keep`` characters and counts the rest."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, keep: int):
        self.keep = keep
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, s) -> int:
        s = s if type(s) is str else str(s)
        room = self.keep - self.kept
        if room > 0:
            piece = s[:room]
            self.parts.append(piece)
            self.kept += len(piece)
            self.dropped += len(s) - len(piece)
        else:
            self.dropped += len(s)
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("no file descriptor")

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[output truncated: {self.dropped} more characters]\n"
        return out


def _make_shell(outputs: list):
    """An IPython shell whose results, displays and tracebacks land in ``outputs``."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    def plain(data) -> dict:
        text = data.get("text/plain", "") if isinstance(data, dict) else ""
        return {"text/plain": str(text)[:CELL_OUTPUT_KEEP]}

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            outputs.append(
                {"output_type": "execute_result", "data": plain(format_dict), "metadata": {}}
            )

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, *args, **kwargs):
            if isinstance(data, dict) and "text/plain" in data:
                outputs.append({"output_type": "display_data", "data": plain(data), "metadata": {}})

        def clear_output(self, wait=False):
            pass

    class GraderShell(InteractiveShell):
        def _showtraceback(self, etype, evalue, stb):
            try:
                value = str(evalue)
            except Exception:
                value = "<the error message could not be shown>"
            outputs.append(
                {
                    "output_type": "error",
                    "ename": getattr(etype, "__name__", "Error"),
                    "evalue": value[:CELL_OUTPUT_KEEP],
                    "traceback": [str(line)[:CELL_OUTPUT_KEEP] for line in stb[-20:]],
                }
            )

    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.InteractiveShell.colors = "NoColor"
    cfg.InteractiveShell.xmode = "Plain"
    shell = GraderShell(config=cfg, displayhook_class=Hook, display_pub_class=Publisher)
    # Figures are not rendered for grading: `%matplotlib inline` would draw every one of them.
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    return shell


class _Runner:
    """An IPython shell plus the bookkeeping to run cells one by one with bounded output."""

    def __init__(self):
        self.outputs: list = []
        self.shell = _make_shell(self.outputs)
        self.total_kept = 0

    def run_cell(self, source: str) -> dict:
        """Run one cell; its outputs (nbformat dicts), error and duration."""
        self.outputs.clear()
        keep = CELL_OUTPUT_KEEP if self.total_kept < TOTAL_OUTPUT_KEEP else 0
        out, err = _Bounded(keep), _Bounded(keep)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        started = time.perf_counter()
        try:
            result = self.shell.run_cell(source, store_history=True)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as exc:  # noqa: BLE001 - whatever the student raised
            error = exc
        finally:
            sys.stdout, sys.stderr = saved
        elapsed = time.perf_counter() - started
        _close_figures()
        streams = []
        for name, stream in (("stdout", out), ("stderr", err)):
            text = stream.text()
            if text:
                streams.append({"output_type": "stream", "name": name, "text": text})
                self.total_kept += len(text)
        return {
            "outputs": streams + list(self.outputs),
            "error": None if error is None else _error_name(error),
            "seconds": round(elapsed, 4),
        }


# The zygote's runner after it ran the assignment's prelude (None: no prelude, or it failed).
_PRELUDE_RUNNER: _Runner | None = None


def _run_prelude(sources: list[str], scratch: str) -> dict:
    """Run the instructor's leading cells once, in the zygote; children inherit the state.

    These cells are the same in every honest submission (imports, demonstrations, widgets) and
    often the slowest part of a notebook.  Only the instructor's released text runs here; a
    submission whose leading cells differ runs everything itself, in a fresh shell.
    """
    global _PRELUDE_RUNNER
    import threading

    os.makedirs(scratch, exist_ok=True)
    here = os.getcwd()
    os.chdir(scratch)
    runner = _Runner()
    results = []
    try:
        for source in sources:
            results.append(runner.run_cell(source))
    finally:
        os.chdir(here)
    # A thread started by the prelude would not survive a fork: then run it in every child.
    usable = threading.active_count() == 1 and all(r["error"] is None for r in results)
    _PRELUDE_RUNNER = runner if usable else None
    # Only a short record travels back (the control socket carries small messages).
    for r in results:
        for o in r["outputs"]:
            for key in ("text", "evalue"):
                if isinstance(o.get(key), str):
                    o[key] = o[key][:2000]
            if isinstance(o.get("data"), dict):
                o["data"] = {k: str(v)[:2000] for k, v in o["data"].items()}
            if isinstance(o.get("traceback"), list):
                o["traceback"] = o["traceback"][-3:]
    return {"cells": results if usable else [], "used": usable}


class _PristineBuiltins:
    """Run the grader's own code with the builtins Python started with.

    A submission may replace ``isinstance``, ``len`` or ``print`` for its own cells; while the
    worker encodes observations, sends frames or calls a probe, the original builtins are back
    (and the submission's are restored before its next cell).
    """

    def __init__(self):
        self.table = vars(builtins)
        self.pristine = dict(self.table)
        self.saved: dict | None = None

    def __enter__(self):
        self.saved = dict(self.table)
        self.table.clear()
        self.table.update(self.pristine)
        return self

    def __exit__(self, *exc):
        self.table.clear()
        self.table.update(self.saved)
        return False


def _run_notebook(channel: _Channel, request: dict) -> None:
    exercises = _exercises()  # our own references, taken before any student code runs
    skip = int(request.get("prelude_skip", 0))
    runner = _PRELUDE_RUNNER if skip and _PRELUDE_RUNNER is not None else _Runner()
    ours = _PristineBuiltins()
    for cell in request["cells"]:
        if cell["kind"] == "code":
            if cell.get("prelude") and runner is _PRELUDE_RUNNER:
                continue  # already run by the zygote, before any submission
            with ours:
                channel.send({"t": "start", "i": cell["i"]})
            done = runner.run_cell(cell["source"])
            with ours:
                channel.send({"t": "cell", "i": cell["i"], **done})
        elif cell["kind"] == "test":
            with ours:
                sent = request.get("tests", {}).get(cell["step"])
                if not _run_test_step(channel, runner.shell, exercises, cell["step"], sent):
                    return


def _run_test_step(channel: _Channel, shell, exercises: dict, step, sent) -> bool:
    """Probe a test's cases (sent with the request, or asked for now), then let the grader
    time what it wants timed."""
    if sent is not None:
        channel.send({"t": "begin", "step": step})
        reply = sent
    else:
        channel.send({"t": "need", "step": step})
        reply = channel.receive()
        if reply is None:
            return False
    channel.send(_run_test(shell, exercises, reply))
    for index, call in enumerate(reply["calls"]):
        if not call.get("timing"):
            continue
        # Timed by the grader: its clock runs from sending a seed to receiving the checksums
        # of the outputs made from it.
        for _round in range(int(call["timing"])):
            channel.send({"t": "time-ready", "step": reply["step"], "call": index})
            job = channel.receive()
            if job is None:
                return False
            if job.get("skip"):
                break
            channel.send(_time_call(shell.user_ns, call, job, reply["step"], index))
    return True


def _exercises():
    """The exercise registry and the Case class (None when convcourse.checks is unavailable)."""
    try:
        import convcourse.checks as checks
        from convcourse.checks.core import Case
    except Exception as exc:  # reported per test, the notebook still runs
        return {"error": _error_name(exc)}
    table = dict(checks.EXERCISES)
    for exercise in getattr(checks, "SPEED_EXERCISES", {}).values():
        table[exercise.id] = exercise
    return {"table": table, "case": Case}


def _error_name(exc) -> str:
    name = getattr(type(exc), "__name__", "Error")
    try:
        return f"{name}: {exc}"[:2000]
    except Exception:
        return name


def _close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        with _suppress_all():
            plt.close("all")


class _suppress_all:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], Exception)


def _run_test(shell, exercises: dict, reply: dict) -> dict:
    """Probe the student's objects on the cases the grader sent; observations only."""
    results = []
    namespace = shell.user_ns
    table = exercises.get("table", {})
    for call in reply["calls"]:
        exercise = table.get(call["exercise"])
        if exercise is None:
            error = exercises.get("error", f"unknown exercise {call['exercise']!r}")
            results.append({"missing": [], "observations": [], "error": error})
            continue
        names = list(call["args"])
        missing = [n for n in names if n not in namespace]
        if missing:
            results.append({"missing": missing, "observations": []})
            continue
        objs = {sym: namespace[arg] for sym, arg in zip(exercise.symbols, names, strict=False)}
        observations = []
        # The grader may ask for another exercise's probe on these cases: for the speed checks,
        # the correctness probe alone (it times the function itself, with its own clock).
        prober = table.get(call.get("probe_with")) or exercise
        for raw in call["cases"]:
            case = exercises["case"](raw["kind"], raw["data"], tuple(raw.get("tags", ())))
            sink = _Bounded(0)
            saved = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = sink, sink
            try:
                obs = prober.probe(objs, case)
            except BaseException as exc:  # noqa: BLE001 - the probe itself was sabotaged
                obs = {"probe_error": _error_name(exc)}
            finally:
                sys.stdout, sys.stderr = saved
            try:
                codec.encode(obs)
            except Exception as exc:
                obs = {"unencodable": str(exc)[:500]}
            observations.append(obs)
            if _timed_out(obs):  # as the in-notebook check does: no more cases after a time-out
                break
        results.append({"missing": [], "observations": observations})
    return {"t": "test", "step": reply["step"], "results": results}


def _time_call(namespace: dict, call: dict, job: dict, step, index: int) -> dict:
    """Run the student's function on inputs made from the grader's seed; send back the outputs'
    sums weighted by a matrix made from the same seed.

    The grader's stopwatch runs from sending the seed to receiving the sums, and it recomputes
    every sum: each output had to be computed, after the clock started.  The child's own clock
    is never used.  (The grader makes the same inputs: ``timing.round_inputs``.)
    """
    import torch

    fn = namespace.get(call["args"][0])
    K, n, count = job["K"], int(job["n"]), int(job["count"])
    gen = torch.Generator().manual_seed(int(job["seed"]))
    o = (n - K.shape[0] + 1, n - K.shape[1] + 1)
    W = torch.rand(o, generator=gen, dtype=torch.float64) - 0.5
    sums: list = []
    error = None
    try:
        for _ in range(count):
            X = torch.rand((n, n), generator=gen)
            Y = fn(X, K)
            if isinstance(Y, torch.Tensor) and tuple(Y.shape) == o:
                sums.append(float((Y.detach().to(torch.float64) * W).sum()))
            else:
                sums.append(None)
    except BaseException as exc:  # noqa: BLE001 - whatever the student's function raised
        error = _error_name(exc)
    return {"t": "timed", "step": step, "call": index, "sums": sums, "error": error}


def _timed_out(obs) -> bool:
    if not isinstance(obs, dict):
        return False
    return any(
        isinstance(v, dict) and v.get("timed_out") is True and "printed" in v for v in obs.values()
    )


# --------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "--zygote":
        sys.exit("usage: worker.py --zygote CONFIG_JSON")
    zygote_main(json.loads(argv[1]))


if __name__ == "__main__":
    main()
