"""The data of one sandboxed run: limits, what came back, and the conversation interface the
grader implements (``verdicts.StudentCases``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations
    from convcourse.instructor.sandbox.host import Sandbox


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


class Conversation:
    """The grader's side of one run; :class:`~convcourse.instructor.judging.verdicts.StudentCases`
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
