"""The grader's three channels into a sandbox, and every message kind they carry.

1. **Control socket** (grader <-> zygote, a SOCK_SEQPACKET pair, one JSON object per datagram,
   file descriptors attached with SCM_RIGHTS where noted).  Trusted on both ends: no student
   code ever runs in the zygote.
2. **Cells channel** (grader <-> notebook process, two pipes of length-prefixed ``codec``
   frames).  The notebook process runs the student's cells, so everything it says is
   *untrusted*: it only carries the cells in and their outputs out (for the autograded
   notebook).  A test result arriving here is tampering.
3. **Probe channel** (grader <-> one probe process per test cell, two fresh pipes made by the
   zygote after it verified that process).  Carries the test's cases in and the observations
   (plain data) and timing sums out.  The grader accepts exactly one observation frame per
   probe and timing frames only in answer to its own jobs.

The zygote also talks to each submission's processes over a **probe socket** (a SOCK_SEQPACKET
pair whose zygote end has SO_PASSCRED, so the kernel tells the zygote which process sent each
datagram): a probe process asks for its pipes there.
"""

from __future__ import annotations

import os

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import codec
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import codec  # type: ignore[no-redef]

# -- control socket: grader -> zygote
RUN = "run"  # fds: [cells_in_r, cells_out_w]; {"limits": {...}}
KILL = "kill"  # end the running submission now
EXIT = "exit"  # end the zygote
YARDSTICK = "yardstick"  # {"kind", "n", "count", "seed", "K", "rows"}: time it in the zygote
PROBE_CPU = "probe-cpu"  # CPU time of the running probe process, and who else is alive

# -- control socket: zygote -> grader
READY = "ready"  # the zygote preloaded; {"pid", "uid", "seccomp", "preload_s", ...}
STARTED = "started"  # the notebook process exists; {"pid": its pid in the sandbox}
PROBE = "probe"  # fds: [cases_w, obs_r]; {"step", "pid"}: a verified probe for test ``step``
PROBE_END = "probe-end"  # {"step", "exit_code", "signal"}: that probe process ended
EVIDENCE = "evidence"  # {"step", "what"}: the zygote saw tampering
YARDSTICK_DONE = "yardstick-done"  # {"cpu_s", "wall_s"}
PROBE_CPU_REPLY = "probe-cpu-reply"  # {"cpu_s", "threads", "others"}
DONE = "done"  # the submission ended; {"wall_s", "cpu_s", "exit_code", "signal", ...}
ERROR = "error"

# -- probe socket: probe process <-> zygote
ASK = "ask"  # probe -> zygote: {"step"}: "I am the probe of this test: my pipes, please"
GO = "go"  # zygote -> probe: fds [cases_r, obs_w]
REFUSED = "refused"  # zygote -> probe: {"why"}

# -- cells channel frames ("t" key)
HELLO = "hello"  # the notebook process is confined and about to run: {"seccomp", "uid"}
START = "start"  # {"i"}: cell i starts
CELL = "cell"  # {"i", "outputs", "error", "seconds"}: cell i ended
BEGIN = "begin"  # {"step"}: the test cell ``step`` starts (its probe is being forked)
END = "end"  # every cell ran
FATAL = "fatal"  # {"error"}: the worker code itself failed
UNENCODABLE = "unencodable"
CELLS_KINDS = frozenset({HELLO, START, CELL, BEGIN, END, FATAL, UNENCODABLE})

# -- probe channel frames ("t" key)
TEST = "test"  # {"step", "results", "env"}: the observations of the test's cases
TIME_READY = "time-ready"  # {"step", "call"}: ready for a timing job
TIMED = "timed"  # {"step", "call", "sums", "error"}: one timing round done
PROBE_KINDS = frozenset({TEST, TIME_READY, TIMED, FATAL, UNENCODABLE})


class FrameChannel:
    """Length-prefixed ``codec`` frames: read from one pipe, written to another.

    Only the process that made it may use it: a copy inherited by a process the submission
    forked has no voice (``send`` does nothing there) and cannot steal replies.
    """

    def __init__(self, read_fd: int | None, write_fd: int | None, max_read: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_read = max_read
        self.pid = os.getpid()

    def _read_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = os.read(self.read_fd, min(n, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        """The next message, or None at the end of the stream."""
        if os.getpid() != self.pid or self.read_fd is None:
            os._exit(0)
        frame = codec.read_frame(self._read_exact, self.max_read)
        if frame is None:
            return None
        limits = codec.Limits(max_bytes=self.max_read, max_string=self.max_read)
        return codec.decode(frame, limits)

    def send(self, message) -> None:
        if os.getpid() != self.pid or self.write_fd is None:
            return
        try:
            payload = codec.encode(message)
        except codec.CodecError as exc:
            payload = codec.encode({"t": UNENCODABLE, "error": str(exc)})
        try:
            codec.write_frame(self.write_fd, payload)
        except OSError:
            os._exit(73)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.read_fd = self.write_fd = None
