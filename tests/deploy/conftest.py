"""Fixtures of the deployment checks: the ``promtool`` binary, or a clear failure."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """The path of ``promtool``; a missing one fails the test instead of skipping."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: .ci/run installs it from Debian's "
            "prometheus package (apt-get install prometheus).",
            pytrace=False,
        )
    return path
