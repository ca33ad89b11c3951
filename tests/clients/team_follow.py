"""A team console in headless Chromium, open on the node that runs the team when the team
moves: its node dies, or hands the team to a node that joins in the briefing. The page finds
the team on the node that runs it now and shows it there (with `live`, values that move on).
Prints `ready` once the console shows the team, then, once it has moved, one JSON line with
where it went."""

import json
import sys
from urllib.parse import urlparse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ui import chromium, failing

url, out, live = sys.argv[1:4]

driver, wait = chromium(1280, 800)
tick = lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-tick") or -1)
seen = {}
with failing(driver, f"{out}/team-follow-failure.png"):
    driver.get(url)
    wait.until(lambda d: tick(d) >= 0)
    seen["from"] = urlparse(driver.current_url).netloc
    print("ready", flush=True)
    # The team moves now; the page follows by itself.
    WebDriverWait(driver, 30).until(lambda d: urlparse(d.current_url).netloc != seen["from"] and tick(d) >= 0)
    seen["to"] = urlparse(driver.current_url).netloc
    seen["path"] = urlparse(driver.current_url).path
    first = tick(driver)
    if live == "live":
        WebDriverWait(driver, 30).until(lambda d: tick(d) > first)
    seen["ticks"] = [first, tick(driver)]
    driver.save_screenshot(f"{out}/team-followed-{live}.png")
    print(json.dumps(seen), flush=True)
