"""The editor page in headless Chromium (Selenium): select, restyle, paint, undo, upload.

Needs Debian's ``chromium`` and ``chromium-driver`` and ``pip install selenium``; skips without
them. Set ``CONDGAN_EDITOR_SCREENSHOT=docs/assets/editor.png`` to keep the screenshot.
"""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from condgan_blocks.editor import EditorServer
from tests._editor_helpers import CAR, NUM_STYLES, ROAD, car_of, make_session

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its driver: apt-get install -y chromium chromium-driver",
)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1400,760")  # fmt: skip


@pytest.fixture
def server():
    server = EditorServer(make_session((64, 128)))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for_new_version(driver, old):
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d):
        body = d.find_element("tag name", "body")
        version = body.get_attribute("data-version")
        return version and version != old and body.get_attribute("data-busy") == "0"

    WebDriverWait(driver, 30).until(ready)
    return driver.find_element("tag name", "body").get_attribute("data-version")


def offset(element, size, x, y):
    """Offset from the element's centre of the middle of image pixel (x, y)."""
    height, width = size
    box = element.size
    return (
        round((x + 0.5) * box["width"] / width - box["width"] / 2),
        round((y + 0.5) * box["height"] / height - box["height"] / 2),
    )


def test_select_restyle_paint_undo(server, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select, WebDriverWait

    session = server.session
    browser.get(server.url)
    version = wait_for_new_version(browser, "")
    pane = browser.find_element("id", "labels-pane")

    # click a car: it is selected, with one thumbnail per style
    with server.lock:
        car, (x, y) = car_of(session)
        before = session.generated().clone()
        car_mask = session.instances[0, 0] == car
    ActionChains(browser).move_to_element_with_offset(pane, *offset(pane, (64, 128), x, y)).click(
    ).perform()  # fmt: skip
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements("css selector", ".style-thumb")) == NUM_STYLES
    )
    assert "car" in browser.find_element("id", "selection-info").text
    version = wait_for_new_version(browser, None)

    # pick another style: the image changes, mostly around that car
    other = browser.find_element("css selector", ".style-thumb:not(.current)")
    other.click()
    version = wait_for_new_version(browser, version)
    with server.lock:
        after = session.generated().clone()
    changed = (after != before).any(0)
    near = torch.nn.functional.max_pool2d(car_mask[None].float(), 7, stride=1, padding=3)[0] > 0
    assert changed.any()
    assert (changed & near).sum() >= 0.9 * changed.sum()
    shown = browser.find_element("id", "generated-img").get_attribute("src")
    assert f"v={version}" in shown

    # paint a car into the sky: a new instance appears
    browser.find_element("id", "mode-paint").click()
    Select(browser.find_element("id", "paint-class")).select_by_value(str(CAR))
    with server.lock:
        ids_before = set(session.instances.unique().tolist())
    start = offset(pane, (64, 128), 100, 4)
    ActionChains(browser).move_to_element_with_offset(pane, *start).click_and_hold().move_by_offset(
        40, 8).move_by_offset(20, 0).release().perform()  # fmt: skip
    version = wait_for_new_version(browser, version)
    with server.lock:
        new_ids = set(session.instances.unique().tolist()) - ids_before
    assert len(new_ids) == 1
    assert next(iter(new_ids)) // 1000 == CAR
    assert "instance" in browser.find_element("id", "selection-info").text
    screenshot = tmp_path / "editor.png"
    browser.save_screenshot(str(screenshot))
    if os.environ.get("CONDGAN_EDITOR_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["CONDGAN_EDITOR_SCREENSHOT"])

    # undo removes it again
    browser.find_element("id", "undo").click()
    version = wait_for_new_version(browser, version)
    with server.lock:
        assert not new_ids & set(session.instances.unique().tolist())
    assert browser.find_element("id", "error").get_attribute("hidden") is not None

    # upload a label map of another size
    labels = np.full((24, 40), ROAD, dtype=np.uint8)
    labels[8:16, 10:30] = CAR
    Image.fromarray(labels).save(tmp_path / "labels.png")
    browser.find_element("id", "upload-labels").send_keys(str(tmp_path / "labels.png"))
    browser.find_element("css selector", "#upload-form button").click()
    wait_for_new_version(browser, version)
    with server.lock:
        assert session.size == (24, 40)
