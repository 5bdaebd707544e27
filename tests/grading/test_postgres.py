"""Grading into PostgreSQL: a real server (Debian's postgresql, installed by .ci/run), started
and stopped by the test itself on a Unix socket in a temporary folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from course_builders import ASSIGNMENT, make_course, submit
from grading_corpus import FULL, TESTS

ROLE = "grader"


def _pg_bin() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _as_server_user(cmd: list[str], user: str | None) -> list[str]:
    # PostgreSQL refuses to run as root: drop to the "postgres" account with runuser.
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@pytest.fixture(scope="module")
def postgres_url():
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CONVCOURSE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required here but initdb was not found")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            why = "running as root and there is no 'postgres' account to run the server"
            if os.environ.get("CONVCOURSE_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required here but cannot start: {why}")
            pytest.skip(why)
        user = "postgres"
    base = Path(tempfile.mkdtemp(prefix="convcourse-pg-"))
    os.chmod(base, 0o755)
    if user:
        shutil.chown(base, user=user)
    data, log = base / "data", base / "server.log"
    run = lambda cmd: subprocess.run(  # noqa: E731
        _as_server_user(cmd, user), check=True, capture_output=True, text=True, timeout=120
    )
    try:
        run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", ROLE, "--no-sync"])
        run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-k {base} -c listen_addresses='' -c fsync=off",
                "start",
            ]
        )
        try:
            _create_database(base)
            yield f"postgresql+psycopg2://{ROLE}@/gradebook?host={base}"
        finally:
            run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
    except subprocess.CalledProcessError as exc:
        pytest.fail(
            f"PostgreSQL did not start: {exc.stderr}\n{log.read_text() if log.exists() else ''}"
        )
    finally:
        time.sleep(0.2)
        shutil.rmtree(base, ignore_errors=True)


def _create_database(socket_dir: Path) -> None:
    import psycopg2

    connection = psycopg2.connect(host=str(socket_dir), user=ROLE, dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE gradebook")
    connection.close()


def test_autograde_into_postgresql(sandbox_available, postgres_url, tmp_path, honest_nb):
    import json

    from nbgrader.api import Gradebook

    from convcourse.instructor.grading.batch import BatchOptions, autograde
    from convcourse.instructor.layout import CourseLayout

    root = make_course(tmp_path / "course")
    submit(root, "alice", {f"{ASSIGNMENT}.ipynb": json.dumps(honest_nb).encode()})
    wrong = json.loads(json.dumps(honest_nb))
    for cell in wrong["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "convolve2d":
            cell["source"] = "def convolve2d(X, K):\n    return corr2d(X, K)\n"
    submit(root, "bob", {f"{ASSIGNMENT}.ipynb": json.dumps(wrong).encode()})
    layout = CourseLayout.load(root, postgres_url)
    summary = autograde(layout, ASSIGNMENT, BatchOptions(workers=2, progress=False))
    assert summary.graded == {"alice": "graded", "bob": "graded"}
    assert not (root / "gradebook.db").exists()  # everything went to PostgreSQL
    with Gradebook(postgres_url) as gb:
        assert gb.find_submission(ASSIGNMENT, "alice").score == pytest.approx(FULL)
        bob = gb.find_submission(ASSIGNMENT, "bob")
        grades = {g.name: g.auto_score for g in bob.notebooks[0].grades}
        assert grades["test-convolve2d"] == 0.0 and grades["test-corr2d"] == 2.0
        assert bob.score == pytest.approx(FULL - TESTS["test-convolve2d"])
    # A second run changes nothing, in the database too.
    again = autograde(layout, ASSIGNMENT, BatchOptions(workers=2, progress=False))
    assert sorted(again.skipped) == ["alice", "bob"] and again.graded == {}
