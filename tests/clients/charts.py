"""Opens the regional view of a registry with one drill on record, in headless Chromium: the
year chart and the enterprise's score chart each hold one point. Prints one JSON line with
each chart's points and x range."""

import json
import sys

from selenium.webdriver.common.by import By

from ui import chromium, failing

base, token, out, enterprise = sys.argv[1:5]

driver, wait = chromium(1440, 900, "en-GB")
seen = {}
with failing(driver, f"{out}/charts-failure.png"):
    driver.get(f"{base}/region?token={token}")
    wait.until(lambda d: d.find_element(By.ID, "year-chart").get_attribute("data-x"))
    chart = lambda i: {k: driver.find_element(By.ID, i).get_attribute(f"data-{k}") for k in ("points", "x")}
    seen["years"] = chart("year-chart")
    driver.get(f"{base}/region?token={token}#e={enterprise}")
    wait.until(lambda d: d.execute_script("return document.body.dataset.enterprise") == enterprise)
    wait.until(lambda d: d.find_element(By.ID, "ent-chart").get_attribute("data-x"))
    seen["enterprise"] = chart("ent-chart")
driver.quit()
print(json.dumps(seen))
