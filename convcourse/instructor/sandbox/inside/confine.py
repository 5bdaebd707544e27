"""Confining a submission's processes: resource limits, seccomp filters, finding and ending them.

Used by the zygote (which runs as root inside the sandbox and never runs student code) on the
processes it forks for a submission.  Every submission runs under a user id of its own, so
"every process of that user id" is exactly "everything the submission started".
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import time

__all__ = [
    "DENIED_SYSCALLS",
    "no_new_privs",
    "set_limits",
    "seccomp_available",
    "install_seccomp",
    "forbid_new_tasks",
    "processes_of",
    "kill_all",
    "stop",
    "resume",
    "parent_of",
    "threads_of",
    "waiting_for",
    "cpu_seconds",
    "suppress",
]

# System calls a submission never needs: other processes' memory, namespaces, mounts, kernel
# modules, key rings, BPF, clocks, ... and memory that lives outside its address space (memfd,
# System V shared memory, semaphores, message queues), which the address-space limit would not
# count and which could outlive the submission or be read by the next one.  They fail with
# EPERM.  ``socket`` is allowed for AF_UNIX only.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
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
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "process_madvise",
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
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_NE, _SCMP_CMP_MASKED_EQ = 1, 7
_AF_UNIX = 1
# wait4's number, to recognise a process blocked waiting for its probe (/proc/PID/syscall).
_WAIT4 = {"x86_64": 61, "aarch64": 260, "arm64": 260}.get(platform.machine())


class suppress:
    """``with suppress():`` ignores OSError (a process that is already gone, say)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS = 38
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def set_limits(limits: dict, vmsize: int, drop_uid: bool) -> None:
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


def seccomp_available() -> bool:
    return _libseccomp() is not None


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _deny(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)  # SCMP_ACT_ERRNO(code)


def _load_filter(rules) -> bool:
    """Load a filter that allows everything but ``rules``: (action, syscall, *comparisons)."""
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
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return False
    ok = True
    for action, name, *cmps in rules:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            continue  # not a system call of this architecture
        array = (_ArgCmp * max(1, len(cmps)))(*cmps)
        if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array) != 0:
            ok = False
    if ok:
        ok = lib.seccomp_load(ctx) == 0
    lib.seccomp_release(ctx)
    return ok


def install_seccomp() -> bool:
    """Deny dangerous system calls (EPERM), network sockets and new namespaces."""
    rules = [(_deny(errno.EPERM), name) for name in DENIED_SYSCALLS]
    rules.append((_deny(errno.EACCES), "socket", _ArgCmp(0, _SCMP_CMP_NE, _AF_UNIX, 0)))
    for flag in _CLONE_NS_FLAGS:
        rules.append((_deny(errno.EPERM), "clone", _ArgCmp(0, _SCMP_CMP_MASKED_EQ, flag, flag)))
    # clone3 passes its flags in memory the filter cannot read; ENOSYS makes libc use clone.
    rules.append((_deny(errno.ENOSYS), "clone3"))
    return _load_filter(rules)


def forbid_new_tasks() -> bool:
    """From now on this process can start no process and no thread (filters only add up, so
    nothing can lift it).  A probe installs it before it is timed: its CPU clock then counts
    all the work done for it."""
    rules = [(_deny(errno.EAGAIN), name) for name in ("clone", "fork", "vfork")]
    rules.append((_deny(errno.ENOSYS), "clone3"))
    return _load_filter(rules)


# ------------------------------------------------------------------- processes of a user id


def _status(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def processes_of(uid: int) -> list[int]:
    """Live processes (not zombies) running as ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = _status(int(entry))
        except OSError:
            continue
        if status.get("State", "")[:1] in ("Z", "X"):
            continue  # a zombie waits for its parent to reap it; it runs nothing
        if int(status.get("Uid", "-1").split()[0]) == uid:
            pids.append(int(entry))
    return pids


def parent_of(pid: int) -> int | None:
    try:
        return int(_status(pid).get("PPid", "0"))
    except (OSError, ValueError):
        return None


def threads_of(pid: int) -> int:
    try:
        return int(_status(pid).get("Threads", "0"))
    except (OSError, ValueError):
        return 0


def waiting_for(pid: int) -> int | None:
    """The process id that ``pid``'s main thread is blocked waiting for (in wait4), else None.

    None also when this cannot be known here (an architecture whose wait4 number is not
    listed, or /proc/PID/syscall unreadable)."""
    if _WAIT4 is None:
        return None
    try:
        with open(f"/proc/{pid}/task/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return None
    if len(fields) < 2 or not fields[0].isdigit() or int(fields[0]) != _WAIT4:
        return -1
    try:
        return int(fields[1], 16)
    except ValueError:
        return -1


def cpu_seconds(pid: int) -> float | None:
    """CPU time of every thread of process ``pid`` so far (the kernel's process CPU clock)."""
    clock = ((~pid) << 3) | 2  # CPUCLOCK_SCHED of the process, as clock_getcpuclockid makes it
    try:
        return time.clock_gettime(clock)
    except OSError:
        return None


def stop(pid: int) -> None:
    with suppress():
        os.kill(pid, signal.SIGSTOP)


def resume(pid: int) -> None:
    with suppress():
        os.kill(pid, signal.SIGCONT)


def kill_all(pid: int | None, uid: int | None, keep: tuple[int, ...] = ()) -> int:
    """Kill ``pid`` and every process running as ``uid`` but those in ``keep``; return how
    many there were at most."""
    if pid is not None:
        with suppress():
            os.kill(pid, signal.SIGKILL)
    if uid is None:
        if pid is not None:
            with suppress():
                os.killpg(pid, signal.SIGKILL)
        return 0
    found = 0
    for _round in range(100):
        pids = [p for p in processes_of(uid) if p not in keep]
        if not pids:
            break
        found = max(found, len(pids))
        if keep:
            for p in pids:
                with suppress():
                    os.kill(p, signal.SIGKILL)
        else:
            # kill(-1) from a process running as ``uid`` reaches every process of that user in
            # this pid namespace at once, which also stops a fork bomb that outruns a
            # pid-by-pid loop.
            helper = os.fork()
            if helper == 0:
                try:
                    os.setresgid(uid, uid, uid)
                    os.setresuid(uid, uid, uid)
                    for _ in range(3):
                        with suppress():
                            os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)
            os.waitpid(helper, 0)
        time.sleep(0.002 * _round)
    return found
