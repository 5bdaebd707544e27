"""The sandbox itself, one property per test, with tiny notebooks (no checks involved)."""

from __future__ import annotations

import os

import pytest

from convcourse.instructor.sandbox import Limits, Sandbox, check_binds_hide, sandbox_binds

LIMITS = Limits(timeout_s=15, memory_mb=512, max_processes=16)


@pytest.fixture(scope="module")
def box(sandbox_available, tmp_path_factory):
    log = tmp_path_factory.mktemp("sandbox") / "zygote.log"
    with Sandbox(sandboxed=True, preload=("numpy", "torch"), log_path=log) as sandbox:
        yield sandbox


def run(box, *sources, limits=LIMITS):
    cells = [{"kind": "code", "i": i, "source": s} for i, s in enumerate(sources)]
    record = box.run({"cells": cells, "files": {}, "env": {}}, None, limits)
    frames = [f for _, f in record.frames]
    out = {}
    for f in frames:
        if f.get("t") == "cell":
            text = "".join(o.get("text", "") for o in f["outputs"] if o["output_type"] == "stream")
            out[f["i"]] = (text, f["error"])
    return out, record


def test_runs_as_an_unprivileged_user_with_seccomp(box):
    out, record = run(box, "import os\nprint(os.getuid(), os.getgid(), os.getgroups())")
    uid = int(out[0][0].split()[0])
    assert uid >= 2**20 and out[0][0].split()[1] == str(uid)
    hello = next(f for _, f in record.frames if f.get("t") == "hello")
    assert hello["seccomp"] is True
    status = run(box, "print(open('/proc/self/status').read())")[0][0][0]
    assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status
    assert "CapEff:\t0000000000000000" in status


def test_sees_no_course_files_and_no_secrets(box):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out, _ = run(
        box,
        "import os\nprint(sorted(os.listdir('/')))",
        "open('/etc/shadow')",
        f"print(sorted(os.listdir({str(repo)!r})))",
        "import convcourse\nhere = os.path.dirname(convcourse.__file__)\n"
        "print(os.listdir(os.path.join(here, 'instructor')))",
    )
    assert all(error is None for i, (_, error) in out.items() if i != 1), out
    top = out[0][0]
    assert "solutions" not in eval(top) and "home" not in eval(top)
    assert "FileNotFoundError" in out[1][1] or "PermissionError" in out[1][1]
    # Of the repository, only what Python needs is mounted: its environment and the package.
    seen = set(eval(out[2][0]))
    assert seen and seen <= {".venv", "convcourse"}, seen
    assert out[3][0].strip() == "[]"  # the instructor package is hidden


def test_no_network(box):
    out, _ = run(
        box,
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "import socket\nprint(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))",
        "print(open('/proc/net/dev').read())",
    )
    assert "PermissionError" in out[0][1]
    assert out[1][1] is None  # local sockets are fine
    lines = [line for line in out[2][0].splitlines()[2:] if line.strip()]
    interfaces = [line.split(":")[0].strip() for line in lines]
    assert interfaces == ["lo"]


def test_writes_only_in_its_scratch_folder(box):
    out, _ = run(
        box,
        "import os\nopen('here.txt', 'w').write('ok')\nprint(os.getcwd())",
        "open('/tmp/x', 'w')",
        "open('/usr/x', 'w')",
        "open('/dev/shm/x', 'w')",
        "open(__import__('torch').__file__, 'a')",
    )
    assert out[0][1] is None and out[0][0].startswith("/tmp/convcourse-run/")
    for i in range(1, 5):
        assert out[i][1] and ("PermissionError" in out[i][1] or "OSError" in out[i][1]), out[i]


def test_scratch_is_fresh_for_each_submission(box):
    run(box, "open('left-behind.txt', 'w').write('secret of the previous student')")
    out, _ = run(
        box, "import os, glob\nprint(glob.glob('/tmp/**/left-behind.txt', recursive=True))"
    )
    assert out[0][0].strip() == "[]"


def test_cannot_signal_the_grader(box):
    out, record = run(
        box,
        "import os\nos.kill(os.getppid(), 9)",
        "os.kill(1, 9)",
        "print('still here')",
    )
    assert "PermissionError" in out[0][1] and "PermissionError" in out[1][1]
    assert out[2][0] == "still here\n"
    assert box.alive()


def test_wall_clock_limit_and_nothing_survives(box):
    out, record = run(
        box,
        "import os, time\nfor _ in range(5):\n    if os.fork() == 0:\n"
        "        os.setsid()\n        time.sleep(1000)\nprint('forked')",
        "while True:\n    pass",
        limits=Limits(timeout_s=2, max_processes=16),
    )
    assert out[0][0] == "forked\n"
    assert record.exit["timed_out"] is True
    assert record.exit["survivors_killed"] >= 5  # the forked sleepers, setsid or not
    again, _ = run(box, "import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))")
    assert int(again[0][0]) <= 4  # bwrap's init, the zygote, this child (and its listing)


def test_process_and_memory_limits(box):
    out, _ = run(
        box,
        "import os\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            import time; time.sleep(100)\n        n += 1\nexcept OSError as e:\n"
        "    print(n, type(e).__name__)",
        "x = bytearray(2 * 2**30)",
        "import torch\ny = torch.ones(10**9)",
        "print('alive')",
    )
    forked, error = out[0][0].split()
    assert int(forked) < 16 and error == "BlockingIOError"
    assert "MemoryError" in out[1][1]
    assert "memory" in out[2][1]
    assert out[3][0] == "alive\n"


def test_output_is_bounded(box):
    out, record = run(box, "for _ in range(10**5):\n    print('x' * 1000)")
    text = out[0][0]
    assert len(text) < 50_000 and "[output truncated:" in text
    assert record.output_bytes < 2**20


def test_a_broken_result_channel_is_a_protocol_error(box):
    out, record = run(
        box,
        "import os\nfor fd in range(3, 20):\n    try:\n"
        "        os.write(fd, b'\\xff' * 64)\n    except OSError:\n        pass",
    )
    assert record.protocol_error
    assert box.alive()
    again, _ = run(box, "print('next submission fine')")
    assert again[0][0] == "next submission fine\n"


def test_the_mounts_never_include_the_course(tmp_path):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    binds = sandbox_binds()
    assert repo not in binds and not any((b / "solutions").exists() for b in binds)
    assert any(b.name == "convcourse" for b in binds)
    assert check_binds_hide(tmp_path, binds) is None
    assert check_binds_hide(binds[0] / "inside", binds) is not None


def test_refused_without_isolation(monkeypatch, tmp_path):
    from convcourse.instructor import cli, sandbox

    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is missing")
    (tmp_path / "solutions" / "a").mkdir(parents=True)
    code = cli.main(["autograde", "a", "--course", str(tmp_path)])
    assert code == 2


def test_every_submission_has_a_user_id_of_its_own(box):
    uids = {int(run(box, "import os\nprint(os.getuid())")[0][0][0]) for _ in range(3)}
    assert len(uids) == 3 and min(uids) >= 2**20
    assert os.geteuid() == 0


def test_no_memory_outside_the_address_space(box):
    out, _ = run(
        box,
        "import os\nos.memfd_create('x')",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.shmget(0, 2**20, 0o1666), ctypes.get_errno())",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.semget(0, 1, 0o1666), libc.msgget(0, 0o1666), ctypes.get_errno())",
    )
    assert "PermissionError" in out[0][1]
    assert out[1][0].split() == ["-1", "1"]  # EPERM
    assert out[2][0].split() == ["-1", "-1", "1"]


def test_memory_held_in_files_counts_when_cgroups_exist(box):
    if not box.memory_cgroups:
        pytest.skip("no memory cgroup on this machine (convcourse doctor says so)")
    # Files in the scratch tmpfs are memory, which the address-space limit does not see.
    _, record = run(
        box,
        "data = b'x' * 2**20\nwith open('big', 'wb') as f:\n    for _ in range(200):\n"
        "        f.write(data)\nprint('wrote')",
        limits=Limits(timeout_s=15, memory_mb=96, max_processes=16, file_mb=512),
    )
    assert record.memory["oom_kills"] >= 1
    assert record.exit["signal"] == 9
