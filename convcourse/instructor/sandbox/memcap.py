"""A memory cgroup per submission, where the machine offers one.

The address-space limit (RLIMIT_AS) caps what a process maps, not what it holds elsewhere
(tmpfs files, page cache; memfd and System V shared memory are refused by the sandbox's seccomp
filter).  A memory cgroup caps everything the kernel charges to the submission's processes.
The grader creates one per submission under its own cgroup, moves the notebook process into it
before that process reads its cells (every process it forks follows), and removes it afterwards.

Works with cgroup v1 (a ``memory`` hierarchy) and v2 (the ``memory`` controller enabled for
children of the grader's cgroup).  :func:`memory_cgroup_problem` says why neither is usable
here; grading then relies on the address-space limit, seccomp and the size-limited scratch
folder (``convcourse doctor`` says so).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MemoryCap", "memory_cgroup_problem", "host_pid", "CGROUP_ROOT"]

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path."""
    out = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _parent_dir() -> tuple[Path, int] | None:
    """The folder under which submission cgroups are made, and the cgroup version."""
    paths = _own_paths()
    if "memory" in paths:
        base = CGROUP_ROOT / "memory"
        if (base / "memory.limit_in_bytes").exists() or (base / "cgroup.procs").exists():
            return base / paths["memory"].lstrip("/"), 1
    if "" in paths and (CGROUP_ROOT / "cgroup.controllers").exists():
        return CGROUP_ROOT / paths[""].lstrip("/"), 2
    unified = CGROUP_ROOT / "unified"
    if "" in paths and (unified / "cgroup.controllers").exists():
        return unified / paths[""].lstrip("/"), 2
    return None


@dataclass
class MemoryCap:
    """One submission's memory cgroup."""

    path: Path
    version: int

    @classmethod
    def create(cls, limit_mb: int) -> MemoryCap:
        found = _parent_dir()
        if found is None:
            raise OSError("no memory cgroup hierarchy is mounted")
        parent, version = found
        path = parent / f"convcourse-{os.getpid()}-{secrets.token_hex(4)}"
        if version == 2:
            control = parent / "cgroup.subtree_control"
            if "memory" not in (parent / "cgroup.controllers").read_text().split():
                raise OSError("the memory controller is not available to this cgroup")
            if "memory" not in control.read_text().split():
                control.write_text("+memory")
        path.mkdir()
        cap = cls(path, version)
        try:
            limit = str(int(limit_mb) * 2**20)
            if version == 1:
                (path / "memory.limit_in_bytes").write_text(limit)
                swap = path / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    try:
                        swap.write_text(limit)
                    except OSError:
                        pass  # swap accounting off: nothing to cap
            else:
                (path / "memory.max").write_text(limit)
                swap = path / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
        except OSError:
            cap.remove()
            raise
        return cap

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel killed in this cgroup for lack of memory."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        if self.version == 1:
            try:
                return int((self.path / "memory.failcnt").read_text()) and 1
            except (OSError, ValueError):
                return 0
        return 0

    def peak_mb(self) -> float | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((self.path / name).read_text()) / 2**20
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass


def memory_cgroup_problem() -> str | None:
    """Why per-submission memory cgroups cannot be used here, or None when they can."""
    try:
        cap = MemoryCap.create(64)
    except OSError as exc:
        return f"no memory cgroup for submissions ({exc.strerror or exc})"
    cap.remove()
    return None


def host_pid(ns_pid: int, ns_of: int) -> int | None:
    """The host pid of the process that is ``ns_pid`` inside the pid namespace of host
    process ``ns_of`` (the sandbox's zygote)."""
    try:
        want = os.readlink(f"/proc/{ns_of}/ns/pid")
    except OSError:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                nspid = next((line.split()[1:] for line in f if line.startswith("NSpid:")), None)
            if not nspid or int(nspid[-1]) != ns_pid or len(nspid) < 2:
                continue
            if os.readlink(f"/proc/{entry}/ns/pid") == want:
                return int(entry)
        except (OSError, ValueError):
            continue
    return None
