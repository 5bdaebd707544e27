"""A real browser on the course: JupyterLab started the way ``course.py lab`` starts it.

Needs Debian's ``chromium`` (``apt-get install chromium``; .ci/run installs it) and the
``playwright`` Python package, which drives that browser (no browser download).  Without a
browser the tests are skipped and say why.  When a test fails, a screenshot, the page's console
and the JupyterLab log are saved in ``tests/browser/artifacts/`` (ignored by git); set
``CONVCOURSE_BROWSER_ARTIFACTS=always`` to keep them for passing tests too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Flags that work headless as root in a container, with nothing fetched from the network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAB_START_TIMEOUT = 90


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in headless Chromium (a few minutes in all)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item, so fixtures can tell that it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def find_chromium() -> str | None:
    """Debian's chromium (or the path in ``CONVCOURSE_CHROMIUM``), or None."""
    explicit = os.environ.get("CONVCOURSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _course_module():
    """``course.py`` of the repository, for the exact command that ``course.py lab`` runs."""
    spec = importlib.util.spec_from_file_location("convcourse_course_script", REPO / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Lab:
    """A running JupyterLab on a copy of the course."""

    def __init__(self, root: Path, url: str, token: str, process, log: Path):
        self.root, self.url, self.token, self.process, self.log = root, url, token, process, log

    def page_url(self, path: str = "") -> str:
        """JupyterLab in a workspace of its own (nothing restored from earlier tabs), showing
        the file ``path`` if given."""
        workspace = f"/lab/workspaces/{secrets.token_hex(6)}"
        return f"{self.url}{workspace}{'/tree/' + path if path else ''}?token={self.token}"

    def api(self, method: str, endpoint: str):
        request = urllib.request.Request(
            f"{self.url}/api/{endpoint}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every session, so that each test starts kernels of its own (and frees memory)."""
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    pytest.importorskip("playwright", reason="the playwright package is not installed")
    path = find_chromium()
    if path is None:
        why = (
            "no Chromium found (install Debian's chromium: apt-get install chromium, "
            "or set CONVCOURSE_CHROMIUM); the browser test cannot run"
        )
        if os.environ.get("CONVCOURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test is required here: {why}")
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def lab(chromium_path, tmp_path_factory):
    """JupyterLab on a copy of the course (notebooks are run and saved there, not in the repo),
    started with ``course.py``'s own command."""
    root = tmp_path_factory.mktemp("course")
    for name in ("notebooks", "jupyter"):
        skip = shutil.ignore_patterns(".ipynb_checkpoints")
        shutil.copytree(REPO / name, root / name, ignore=skip)
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")

    port, token = _free_port(), secrets.token_hex(16)
    course = _course_module()
    cmd, env = course.lab_command(
        Path(sys.executable),
        [
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
        ],
        root=root,
    )
    # A student's JupyterLab: widgets decide for themselves (the test suite forces static
    # figures), and nothing of this machine's own Jupyter settings or workspaces is used.
    env.pop("CONVCOURSE_STATIC", None)
    state = Path(tempfile.mkdtemp(prefix="convcourse-lab-state-"))
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
    )
    log = state / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Lab(root, f"http://127.0.0.1:{port}", token, process, log)
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            request = urllib.request.Request(
                f"{server.url}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                pytest.fail(
                    f"JupyterLab did not answer in {LAB_START_TIMEOUT} s:\n{server.log_tail()}"
                )
            time.sleep(0.25)
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def browser_context(chromium_path, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium_path,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, lab, request):
    """A fresh browser tab; on failure its screenshot, console and the server log are saved."""
    tab = browser_context.new_page()
    console: list[str] = []
    tab.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    tab.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
    yield tab
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    if failed or os.environ.get("CONVCOURSE_BROWSER_ARTIFACTS") == "always":
        ARTIFACTS.mkdir(exist_ok=True)
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.node.name)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as err:  # the page may be gone; the logs are still worth keeping
            console.append(f"[screenshot failed] {err}")
        (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console) + "\n")
        shutil.copy2(lab.log, ARTIFACTS / f"{name}.jupyterlab.log")
    tab.close()
    lab.shut_down_kernels()
