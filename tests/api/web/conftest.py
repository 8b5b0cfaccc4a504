"""Browser fixtures: one headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
`make browser`, which `make setup` runs) for the whole session, driven by Selenium, and the app
under a real uvicorn on loopback.

Without Chromium the browser tests are skipped with the reason, except under CI=true, where a
missing browser fails the run: a green CI must mean the pages were tested.
Set SPORTELLO_SCREENSHOTS=folder to keep a screenshot of each page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 15.0


def _missing() -> str | None:
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists() and shutil.which(binary.name) is None:
            return f"{binary} is not installed: run `make browser` (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the browser tests cannot run: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--disable-background-timer-throttling",
                 "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                 "--no-first-run", "--disable-extensions", "--disable-sync"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def leave_pages(driver: Any) -> None:
    """One blank tab, no cookies, desktop size: the state every test starts from."""
    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.switch_to.default_content()
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.set_window_size(1280, 900)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """The shared browser, left clean after the test."""
    yield browser
    leave_pages(browser)


def screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("SPORTELLO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
