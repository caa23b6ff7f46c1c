"""Browser checks of the Content-Security-Policy drive Debian's Chromium (``.ci/run`` installs
it); they are skipped, saying why, where it is missing."""
from __future__ import annotations

from pathlib import Path

import pytest

# One browser set-up for every browser test (that module also allows live_server + sync Playwright).
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "page" in getattr(item, "fixturenames", ()) and not Path(CHROMIUM).exists():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
