"""Drives one node's white-cell console, in headless Chromium, for a team another node of the
drill runs: its hints are listed with the node's name, one already taken shows as taken, and
another is revealed from here (queued for that node, which applies it; the page then shows it
taken). Prints one JSON line with what it saw."""

import json
import sys

from selenium.webdriver.common.by import By

from ui import chromium, failing

base, token, team, taken, out = sys.argv[1:6]

driver, wait = chromium(1440, 900)
panel = f"#tools section[data-team='{team}']"
button = lambda d, hint: d.find_elements(By.CSS_SELECTOR, f"{panel} button[data-reveal='{team}'][data-hint='{hint}']")

seen = {}
with failing(driver, f"{out}/instructor-nodes-failure.png"):
    driver.get(f"{base}/instructor?token={token}")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{panel} button[data-reveal]"))
    seen["heading"] = driver.find_element(By.CSS_SELECTOR, f"{panel} h2").text
    seen["taken_button"] = len(button(driver, taken))
    # Reveal the first hint still offered.
    first = driver.find_element(By.CSS_SELECTOR, f"{panel} button[data-reveal]")
    seen["revealed"] = first.get_attribute("data-hint")
    first.click()
    wait.until(lambda d: d.switch_to.alert)
    driver.switch_to.alert.accept()
    wait.until(lambda d: "→" in d.find_element(By.ID, "toast").text)
    seen["toast"] = driver.find_element(By.ID, "toast").text
    # The other node applies it and records its card; this page then shows it taken.
    wait.until(lambda d: not button(d, seen["revealed"]))
    driver.save_screenshot(f"{out}/instructor-nodes.png")
    print(json.dumps(seen))
