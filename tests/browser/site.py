#!/usr/bin/python3
"""Headless Chromium walks a site `depsurf site` wrote, as a reader would.

    site.py SITE_DIR SCREENSHOT_DIR

Opens index.html from file://, searches task_struct with the search box, opens the result,
expands a status, checks the definition it shows, and saves screenshots. Uses Debian's
chromium, chromium-driver and python3-selenium. Exits non-zero with a message on failure.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def main():
    site, shots = sys.argv[1], sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    wait = WebDriverWait(driver, 20)
    try:
        driver.get("file://" + os.path.abspath(os.path.join(site, "index.html")))
        assert "dependency surface" in driver.page_source, "home page"
        box = driver.find_element(By.ID, "q")
        box.send_keys("task_struct")
        box.send_keys(Keys.ENTER)
        first = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#results li a")))
        status = driver.find_element(By.ID, "search-status").text
        assert "result" in status, status
        assert first.text == "task_struct", f"first result {first.text!r}"
        driver.save_screenshot(os.path.join(shots, "search.png"))
        first.click()
        wait.until(ec.title_contains("task_struct"))
        h1 = driver.find_element(By.TAG_NAME, "h1").text
        assert h1 == "Struct: task_struct", h1
        details = driver.find_element(By.CSS_SELECTOR, "ul.status details")
        code = details.find_element(By.CSS_SELECTOR, "pre code")
        assert details.get_attribute("open") is None, "the status is collapsed at first"
        details.find_element(By.TAG_NAME, "summary").click()
        wait.until(lambda d: details.get_attribute("open") is not None and code.is_displayed())
        text = code.text
        assert text.startswith("struct task_struct {"), text[:80]
        assert "pid_t pid;" in text, "the definition lists task_struct::pid"
        driver.save_screenshot(os.path.join(shots, "task_struct.png"))
        print("ok: searched, opened task_struct, expanded a status")
        if os.path.isdir(os.path.join(site, "checks")):
            check_report(driver, wait, site, shots)
    finally:
        driver.quit()


def check_report(driver, wait, site, shots):
    """The report of a program check: from the home page, open it, expand a verdict."""
    driver.get("file://" + os.path.abspath(os.path.join(site, "index.html")))
    link = driver.find_element(By.CSS_SELECTOR, "a[href^='checks/']")
    link.click()
    wait.until(ec.title_contains("Check"))
    verdict = driver.find_element(By.CSS_SELECTOR, "ul.verdicts details")
    assert verdict.get_attribute("open") is None, "the verdict is collapsed at first"
    verdict.find_element(By.TAG_NAME, "summary").click()
    wait.until(lambda d: verdict.get_attribute("open") is not None)
    text = verdict.text
    assert "5.10.0-32-amd64: fails" in text, text
    assert "task_struct::__state" in text and "absent" in text, text
    driver.save_screenshot(os.path.join(shots, "check.png"))
    print("ok: opened a program check, expanded a verdict")


if __name__ == "__main__":
    main()
