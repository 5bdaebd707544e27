"""The notebook process: runs a submission's cells in order, and forks a probe at each test.

It is forked from the zygote, confined (``notebook.notebook_main``), and then runs the student's
cells with IPython (magics and input transformations as in a kernel), capturing a bounded
amount of output, which it sends on the *cells channel* -- an untrusted channel: it carries
outputs for the autograded notebook, never a result.

At each test cell it sends ``begin`` and forks a **probe process** from its main thread, then
waits for it.  A fork copies only the forking thread, so the probe starts with no thread the
student started; the zygote then stops this process (every thread of it), kills anything else
the submission runs, checks that the probe is the one this process is waiting for, and only
then hands the probe its pipes to the grader (``probe.py``).  The test's cases never enter this
process, so nothing here can read them ahead, and nothing here holds a channel a result could
be forged on.
"""

from __future__ import annotations

import builtins
import os
import sys
import time

try:  # inside the sandbox these modules are mounted side by side, alone
    from convcourse.instructor.sandbox.inside import probe, protocol
except ImportError:  # pragma: no cover - exercised inside the sandbox
    import probe  # type: ignore[no-redef]
    import protocol  # type: ignore[no-redef]

__all__ = ["Runner", "run_prelude", "run_notebook", "PRELUDE"]

# Per-cell and per-submission caps on captured output (characters); the rest is only counted.
CELL_OUTPUT_KEEP = 20_000
TOTAL_OUTPUT_KEEP = 400_000


class Bounded:
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


class Runner:
    """An IPython shell plus the bookkeeping to run cells one by one with bounded output."""

    def __init__(self):
        self.outputs: list = []
        self.shell = _make_shell(self.outputs)
        self.total_kept = 0

    def run_cell(self, source: str) -> dict:
        """Run one cell; its outputs (nbformat dicts), error and duration."""
        self.outputs.clear()
        keep = CELL_OUTPUT_KEEP if self.total_kept < TOTAL_OUTPUT_KEEP else 0
        out, err = Bounded(keep), Bounded(keep)
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
        close_figures()
        streams = []
        for name, stream in (("stdout", out), ("stderr", err)):
            text = stream.text()
            if text:
                streams.append({"output_type": "stream", "name": name, "text": text})
                self.total_kept += len(text)
        return {
            "outputs": streams + list(self.outputs),
            "error": None if error is None else error_name(error),
            "seconds": round(elapsed, 4),
        }


#: The zygote's runner after it ran the assignment's prelude (None: no prelude, or it failed).
PRELUDE: Runner | None = None


def run_prelude(sources: list[str], scratch: str) -> dict:
    """Run the instructor's leading cells once, in the zygote; children inherit the state.

    These cells are the same in every honest submission (imports, demonstrations, widgets) and
    often the slowest part of a notebook.  Only the instructor's released text runs here; a
    submission whose leading cells differ runs everything itself, in a fresh shell.
    """
    global PRELUDE
    import threading

    os.makedirs(scratch, exist_ok=True)
    here = os.getcwd()
    os.chdir(scratch)
    runner = Runner()
    results = []
    try:
        for source in sources:
            results.append(runner.run_cell(source))
    finally:
        os.chdir(here)
    # A thread started by the prelude would not survive a fork: then run it in every child.
    usable = threading.active_count() == 1 and all(r["error"] is None for r in results)
    PRELUDE = runner if usable else None
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


class PristineBuiltins:
    """Run the grader's own code with the builtins Python started with.

    A submission may replace ``isinstance``, ``len`` or ``print`` for its own cells; while the
    worker sends frames or forks a probe, the original builtins are back (and the
    submission's are restored before its next cell).
    """

    def __init__(self, pristine: dict):
        self.table = vars(builtins)
        self.pristine = dict(pristine)
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


def run_notebook(channel, request: dict, probe_fd: int, pristine_builtins: dict) -> None:
    """Every step of the plan: code cells here, test cells in a forked probe."""
    skip = int(request.get("prelude_skip", 0))
    runner = PRELUDE if skip and PRELUDE is not None else Runner()
    ours = PristineBuiltins(pristine_builtins)
    for cell in request["cells"]:
        if cell["kind"] == "code":
            if cell.get("prelude") and runner is PRELUDE:
                continue  # already run by the zygote, before any submission
            with ours:
                channel.send({"t": protocol.START, "i": cell["i"]})
            done = runner.run_cell(cell["source"])
            with ours:
                channel.send({"t": protocol.CELL, "i": cell["i"], **done})
        elif cell["kind"] == "test":
            with ours:
                channel.send({"t": protocol.BEGIN, "step": cell["step"]})
                fork_probe(runner.shell, cell["step"], probe_fd, channel)


def fork_probe(shell, step: str, probe_fd: int, channel) -> None:
    """Fork the probe of test ``step`` from this (main) thread and wait until it ends."""
    try:
        pid = os.fork()
    except OSError as exc:  # the submission used up its processes: this test cannot run
        channel.send({"t": protocol.BEGIN, "step": step, "error": f"cannot fork: {exc}"})
        return
    if pid == 0:
        code = 70
        try:
            channel.close()  # the probe never speaks on the untrusted cells channel
            code = probe.main(shell, step, probe_fd)
        except BaseException:  # noqa: BLE001 - the zygote reports a probe that died
            code = 70
        finally:
            os._exit(code)
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return


def close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001 - a submission may have broken matplotlib
            pass


def error_name(exc) -> str:
    name = getattr(type(exc), "__name__", "Error")
    try:
        return f"{name}: {exc}"[:2000]
    except Exception:
        return name
