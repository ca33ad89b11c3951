"""A contest's big screen left open through the freeze and a hot wash started from a pause, in
headless Chromium: while frozen it shows the board at the freeze (the white cell's own
scoreboard page says it is the live view); once the freeze lifts, the open page shows the live
totals and its chart the changes the freeze hid. Prints one JSON line of what it saw."""

import json
import sys
import urllib.request

from selenium.webdriver.common.by import By

from ui import chromium, failing

base, team, token, observer, instructor, out = sys.argv[1:7]


def call(path, who, body=None):
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {who}", "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
    return json.loads(urllib.request.urlopen(request, timeout=20).read() or b"null")


driver, wait = chromium(1440, 900, "en-GB")
seen = {}
rows = lambda d: {k: round(float(v), 1) for k, v in d.execute_script("return Object.fromEntries([...document.querySelectorAll('#board tbody tr')].map(r => [r.dataset.team, +r.querySelector('.total').textContent]))").items()}
with failing(driver, f"{out}/thaw-failure.png"):
    driver.get(f"{base}/?token={observer}")
    wait.until(lambda d: d.find_element(By.ID, "frozen").is_displayed())
    seen["frozen_rows"] = rows(driver)
    seen["frozen_text"] = driver.find_element(By.ID, "frozen").text
    # The board itself is framed as frozen, not only the badge.
    seen["frozen_outline"] = driver.execute_script("return getComputedStyle(document.getElementById('board')).outlineStyle")
    # A score change the freeze hides: a report of something that did not happen.
    call(f"/api/teams/{team}/reports", token, {"technique": "T0800", "asset": "plc-r201", "text": "a false alarm"})
    live = lambda: {r["team"]: round(float(r["total"]), 1) for r in call("/api/scoreboard", instructor)["rows"]}
    wait.until(lambda d: live() != seen["frozen_rows"])
    seen["still_frozen"] = rows(driver)
    seen["points_frozen"] = int(driver.find_element(By.ID, "history").get_attribute("data-points"))
    # The white cell's own look at the big screen says it is not what the teams see.
    second_driver, second_wait = chromium(1440, 900, "en-GB")
    try:
        second_driver.get(f"{base}/?token={instructor}")
        second_wait.until(lambda d: d.find_element(By.ID, "fullview").is_displayed())
        seen["full_view"] = second_driver.find_element(By.ID, "fullview").text
    finally:
        second_driver.quit()
    # The plant runs on past the hidden change before the pause.
    changed_at = call("/api/scoreboard/history", instructor)["at_s"][-1]
    wait.until(lambda d: call("/api/drill", observer)["at_s"] > changed_at + 5)
    # A pause, then the hot wash: the open page follows.
    call("/api/drill/control", instructor, {"action": "pause"})
    call("/api/drill/control", instructor, {"action": "hot_wash"})
    wait.until(lambda d: d.find_element(By.ID, "phase").get_attribute("data-phase") == "hot_wash")
    wait.until(lambda d: rows(d) == live())
    seen["thawed"] = rows(driver)
    seen["live"] = live()
    seen["frozen_badge"] = driver.find_element(By.ID, "frozen").is_displayed()
    seen["thawed_outline"] = driver.execute_script("return getComputedStyle(document.getElementById('board')).outlineStyle")
    # The chart is the drill's history, the change the freeze hid in it, and the hot wash's
    # board after it (what the page drew while frozen gives way).
    full = call("/api/scoreboard/history", instructor)
    seen["history_points"] = len(full["at_s"])
    points = lambda d: int(d.find_element(By.ID, "history").get_attribute("data-points"))
    wait.until(lambda d: seen["history_points"] <= points(d) <= seen["history_points"] + 1)
    seen["points_thawed"] = points(driver)
    driver.save_screenshot(f"{out}/thaw.png")
    # The team's console in the hot wash: what the drill no longer takes is not offered, and
    # its log names the report in words.
    driver.get(f"{base}/team/{team}?token={token}")
    wait.until(lambda d: d.find_element(By.ID, "not-live").is_displayed())
    seen["submit_enabled"] = driver.execute_script("return [...document.querySelectorAll('#action button[type=submit], #report button[type=submit], #hints button[data-hint]')].filter(b => !b.disabled).length")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#myactions li[data-kind=report_incident]"))
    seen["logged_report"] = driver.find_element(By.CSS_SELECTOR, "#myactions li[data-kind=report_incident]").text
driver.quit()
print(json.dumps(seen))
