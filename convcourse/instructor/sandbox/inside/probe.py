"""The probe process of one test cell: pristine-checked, then probing the student's objects.

Forked by the notebook process's main thread at a test cell (``runner.fork_probe``), so it has
the student's namespace and no other thread.  It asks the zygote for its pipes over the probe
socket; the zygote stops the notebook process, kills anything else of the submission, checks
that this process is the fork the notebook process is waiting for, and sends it a fresh pipe
pair whose other ends go to the grader.  Then:

1. it reads the test's cases (inputs only: expected values never enter the sandbox);
2. it compares the interpreter with the zygote's snapshot (``integrity.check``): hooks,
   replaced builtins, patched torch or checks -- reported as ``env`` evidence;
3. it restores the pristine builtins and calls each exercise's ``probe`` on the cases: plain
   facts (outputs, errors, library calls recorded by the checks' recorder) -- never a verdict;
4. it sends one ``test`` frame and, where the grader times the function, first forbids itself
   any new process or thread (a seccomp filter nothing can lift: its CPU clock, read by the
   zygote, then counts all the work) and answers the grader's timing jobs.
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import sys

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import confine, integrity, protocol
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import confine  # type: ignore[no-redef]
    import integrity  # type: ignore[no-redef]
    import protocol  # type: ignore[no-redef]

__all__ = ["main", "SNAPSHOT"]

#: Set by the zygote after its preload: the pristine state every probe compares with.
SNAPSHOT: integrity.Snapshot | None = None
MAX_CASES_BYTES = 256 * 2**20


def main(shell, step: str, probe_fd: int) -> int:
    """Run the probe of test ``step``; the process's exit code."""
    sock = socket.socket(fileno=probe_fd)
    sock.send(json.dumps({"op": protocol.ASK, "step": step}).encode())
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 2)
    sock.close()  # from here on this process has no way to talk to the zygote
    if not data:
        return 74
    reply = json.loads(data)
    if reply.get("op") != protocol.GO or len(fds) != 2:
        for fd in fds:
            os.close(fd)
        return 75
    channel = protocol.FrameChannel(fds[0], fds[1], MAX_CASES_BYTES)
    request = channel.receive()
    if not isinstance(request, dict):
        return 76
    env = integrity.check(SNAPSHOT) if SNAPSHOT is not None else ["no snapshot to compare with"]
    if SNAPSHOT is not None:  # the student's replacements never apply to the grader's calls
        vars(builtins).update(SNAPSHOT.builtins)
    result = run_test(shell.user_ns, request)
    result["env"] = env
    channel.send(result)
    if any(call.get("timing") for call in request.get("calls", [])):
        if not confine.forbid_new_tasks():
            channel.send({"t": protocol.FATAL, "error": "the timing filter could not be loaded"})
            return 77
        _answer_timing(channel, shell.user_ns, request)
    return 0


def _exercises():
    """The exercise registry and the Case class (an error text when the checks are missing)."""
    try:
        import convcourse.checks as checks
        from convcourse.checks.core import Case
    except Exception as exc:  # reported per test, the notebook still ran
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"table": dict(checks.GRADED_EXERCISES), "case": Case}


class _Sink:
    """Discards what the probed code prints (the checks record their own bounded copy)."""

    encoding = "utf-8"

    def write(self, s) -> int:
        return len(s) if isinstance(s, str) else 0

    def flush(self) -> None:
        pass


def run_test(namespace: dict, request: dict) -> dict:
    """Probe the student's objects on the cases the grader sent; observations only."""
    exercises = _exercises()
    table = exercises.get("table", {})
    results = []
    for call in request.get("calls", []):
        exercise = table.get(call.get("exercise"))
        if exercise is None:
            error = exercises.get("error", f"unknown exercise {call.get('exercise')!r}")
            results.append({"missing": [], "observations": [], "error": error})
            continue
        names = [str(n) for n in call.get("args", [])]
        missing = [n for n in names if n not in namespace]
        if missing:
            results.append({"missing": missing, "observations": []})
            continue
        objs = {sym: namespace[arg] for sym, arg in zip(exercise.symbols, names, strict=False)}
        # The grader may ask for another exercise's probe on these cases: for the speed checks,
        # the correctness probe alone (the grader times the function itself).
        prober = table.get(call.get("probe_with")) or exercise
        observations = []
        for raw in call.get("cases", []):
            case = exercises["case"](raw["kind"], raw["data"], tuple(raw.get("tags", ())))
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = _Sink()
            try:
                obs = prober.probe(objs, case)
            except BaseException as exc:  # noqa: BLE001 - the probe itself was sabotaged
                obs = {"probe_error": f"{type(exc).__name__}: {exc}"[:500]}
            finally:
                sys.stdout, sys.stderr = saved
            try:
                protocol.codec.encode(obs)
            except Exception as exc:  # noqa: BLE001 - an output that cannot travel
                obs = {"unencodable": str(exc)[:500]}
            observations.append(obs)
            if _timed_out(obs):  # as the in-notebook check does: no more cases after a time-out
                break
        results.append({"missing": [], "observations": observations})
    return {"t": protocol.TEST, "step": request.get("step"), "results": results}


def _timed_out(obs) -> bool:
    if not isinstance(obs, dict):
        return False
    return any(
        isinstance(v, dict) and v.get("timed_out") is True and "printed" in v for v in obs.values()
    )


def _answer_timing(channel, namespace: dict, request: dict) -> None:
    """Timing rounds: the grader sends a seed, this process makes the inputs from it, calls the
    function on each and sends back the outputs' weighted sums.  The zygote reads this
    process's CPU clock before and after, for the grader; this process's own clock is never
    used."""
    step = request.get("step")
    for index, call in enumerate(request.get("calls", [])):
        rounds = int(call.get("timing") or 0)
        for _round in range(rounds):
            channel.send({"t": protocol.TIME_READY, "step": step, "call": index})
            job = channel.receive()
            if not isinstance(job, dict) or job.get("skip"):
                break
            fn = namespace.get(str(call["args"][0]))
            channel.send(time_call(fn, job, step, index, null=bool(job.get("null"))))


def time_call(fn, job: dict, step, index: int, null: bool = False) -> dict:
    """Run ``fn`` on the inputs of one timing job; the weighted sums of its outputs.  A
    ``null`` job is the same round without the function: what the grader subtracts."""
    import torch

    K, n, count = job["K"], int(job["n"]), int(job["count"])
    gen = torch.Generator().manual_seed(int(job["seed"]))
    o = (n - K.shape[0] + 1, n - K.shape[1] + 1)
    if null:

        def fn(X, K):
            return X[: o[0], : o[1]]

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
        error = f"{type(exc).__name__}: {exc}"[:500]
    return {"t": protocol.TIMED, "step": step, "call": index, "sums": sums, "error": error}
