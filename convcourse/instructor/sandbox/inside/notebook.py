"""The notebook process, from its fork to its last frame: it confines itself, then runs the cells.

The zygote forks it for one submission.  Before any student code it: becomes a session of its
own with no inherited descriptor but its channels, waits for the grader to put it in its memory
cgroup (the first frame it reads), takes the submission's user id, sets ``no_new_privs``, the
resource limits and the seccomp filter (``confine``), and moves into its scratch folder with a
fixed environment.  Then ``runner.run_notebook`` runs the cells; a probe is forked at each test.
"""

from __future__ import annotations

import os

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import confine, protocol, runner
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import confine  # type: ignore[no-redef]
    import protocol  # type: ignore[no-redef]
    import runner  # type: ignore[no-redef]

__all__ = ["BOOT_BUILTINS", "MAX_REQUEST_BYTES", "notebook_main", "report_fatal", "write_files"]

MAX_REQUEST_BYTES = 256 * 2**20
# The builtins as the zygote found them, before any student code: restored after the last cell
# (whatever it replaced) so the process can still send its last frames.
BOOT_BUILTINS = dict(vars(__import__("builtins")))


def notebook_main(config, limits, cells_r, cells_w, probe_fd, scratch, uid, vmsize) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = {0, 1, 2, cells_r, cells_w, probe_fd}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with confine.suppress():
                os.close(fd)
    channel = protocol.FrameChannel(
        cells_r, cells_w, int(limits.get("max_request_bytes", MAX_REQUEST_BYTES))
    )
    # The grader writes the cells only once this process is in its memory cgroup.
    request = channel.receive()
    if request is None:
        os._exit(71)
    with confine.suppress(), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")  # under memory pressure the submission goes first, never the grader
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    confine.no_new_privs()
    confine.set_limits(limits, vmsize, drop_uid=uid is not None)
    seccomp = False
    if config.get("seccomp", True):
        seccomp = confine.install_seccomp()
        if not seccomp and config.get("require_seccomp"):
            channel.send({"t": protocol.FATAL, "error": "seccomp filter could not be installed"})
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
    write_files(scratch, request.get("files", {}))
    channel.send({"t": protocol.HELLO, "seccomp": seccomp, "uid": os.getuid()})
    runner.run_notebook(channel, request, probe_fd, BOOT_BUILTINS)
    vars(__import__("builtins")).update(BOOT_BUILTINS)  # whatever the last cell replaced
    channel.send({"t": protocol.END})
    os._exit(0)


def write_files(scratch: str, files: dict) -> None:
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


def report_fatal(cells_w: int) -> None:
    """Last words of a notebook process whose worker code failed."""
    import traceback

    try:
        vars(__import__("builtins")).update(BOOT_BUILTINS)
        text = traceback.format_exc()[-3000:]
        protocol.codec.write_frame(
            cells_w, protocol.codec.encode({"t": protocol.FATAL, "error": text})
        )
    except BaseException:  # noqa: BLE001 - nothing more can be done
        pass
