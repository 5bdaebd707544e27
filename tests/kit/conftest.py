"""Fixtures of the kit tests: the student edition built once from the real course."""

from __future__ import annotations

import pytest
from kit_facts import REPO


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: builds a virtual environment or runs every lesson (minutes)"
    )


@pytest.fixture(scope="session")
def built_kit(tmp_path_factory):
    """``convcourse kit FOLDER --zip FILE`` on the real course, once: (folder, zip file)."""
    from convcourse.instructor.cli import main

    out = tmp_path_factory.mktemp("kit")
    folder, archive = out / "student-kit", out / "convcourse-kit.zip"
    code = main(["kit", str(folder), "--zip", str(archive), "--course", str(REPO)])
    assert code == 0, "convcourse kit failed on the real course (its message is above)"
    return folder, archive
