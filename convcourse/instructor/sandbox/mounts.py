"""What the sandbox is made of: the bubblewrap command line (namespaces, read-only mounts,
capabilities), whether this machine can run it, and where its processes are seen from outside."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from convcourse.instructor.sandbox.records import Limits

WORKER_DIR = "/opt/convcourse-grader"
_HERE = Path(__file__).resolve().parent
INSIDE = _HERE / "inside"
# What is mounted at WORKER_DIR: the in-sandbox modules (the protocol and the codec among
# them), nothing else of ours.
_WORKER_FILES = tuple(p.name for p in sorted(INSIDE.glob("*.py")) if p.name != "__init__.py")
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


def bwrap_command(python: str, config: dict, binds: list[Path], limits: Limits) -> list[str]:
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
        args += ["--ro-bind", str(INSIDE / name), f"{WORKER_DIR}/{name}"]
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


def namespace_anchor(bwrap_pid: int) -> int | None:
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
