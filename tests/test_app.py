"""The demo page in a real headless browser (Debian's chromium and chromedriver, through Selenium): start
app.py on localhost, type a sentence, submit, and see the top emotion, the chart and the circumplex appear.

`CMHL_SCREENSHOT=path.png` also saves the page as a PNG (README's screenshot is made this way, with
`CMHL_DEMO_MODEL` naming the checkpoint to show and `CMHL_DEMO_TEXT` the sentence typed)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process, seconds: float = 180):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app.py exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def browser():
    assert CHROMIUM and CHROMEDRIVER, "the browser test needs Debian's chromium: apt-get install chromium chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_demo_page_in_a_headless_browser(request, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    # CMHL_DEMO_MODEL: another checkpoint for the README screenshot; by default the one train.py just made
    checkpoint = os.environ.get("CMHL_DEMO_MODEL") or request.getfixturevalue("trained_checkpoint")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "CMHL_MODEL": str(checkpoint),
           "HF_HUB_OFFLINE": "1"}
    log = open(tmp_path / "app.log", "w")
    app = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=tmp_path, env=env,
                           stdout=log, stderr=subprocess.STDOUT)
    driver = None
    try:
        wait_for(f"http://127.0.0.1:{port}/", app)
        driver = browser()
        driver.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(driver, 120)
        box = wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#text textarea")))
        assert str(checkpoint) not in driver.page_source  # the page names the model, never a path of this machine
        box.send_keys(os.environ.get("CMHL_DEMO_TEXT", "i am furious that they cancelled again without telling anyone"))
        driver.find_element(By.CSS_SELECTOR, "#classify").click()
        wait.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, "#summary"), "Top emotion"))
        summary = driver.find_element(By.CSS_SELECTOR, "#summary").text
        top = summary.split("Top emotion:")[1].split("(")[0].strip()
        assert top in ("sadness", "joy", "love", "anger", "fear", "surprise"), summary
        assert all(word in summary for word in ("valence", "arousal", "intensity", "consistent")), summary
        for chart in ("#probabilities", "#circumplex"):
            image = wait.until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, f"{chart} img")))
            assert image.size["width"] > 100 and image.size["height"] > 100, chart
        if os.environ.get("CMHL_SCREENSHOT"):
            driver.save_screenshot(os.environ["CMHL_SCREENSHOT"])
        shot = tmp_path / "page.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        if driver is not None:
            driver.quit()
        app.terminate()
        app.wait(timeout=30)
        log.close()
