"""Step 3 of the flow: each submission runs in isolation.

``host`` is the grader's side (``Sandbox``, one bubblewrap fork server per worker slot),
``events`` its event loop for one submission, ``records`` the data of a run, ``mounts`` the
bubblewrap command and whether this machine can run it, ``memcap`` a memory cgroup per
submission; ``inside/`` the code mounted in the
sandbox (the fork server, the notebook process, the probes, the protocol and the codec).
"""

from convcourse.instructor.sandbox.host import Sandbox
from convcourse.instructor.sandbox.mounts import (
    DEFAULT_PRELOAD,
    check_binds_hide,
    isolation_problem,
    sandbox_binds,
)
from convcourse.instructor.sandbox.records import (
    Conversation,
    Limits,
    ProbeRecord,
    RunRecord,
    SandboxError,
)

__all__ = [
    "DEFAULT_PRELOAD",
    "Conversation",
    "Limits",
    "ProbeRecord",
    "RunRecord",
    "Sandbox",
    "SandboxError",
    "check_binds_hide",
    "isolation_problem",
    "sandbox_binds",
]
