"""A trainee's exam console in headless Chromium, in English then Chinese on a phone: while the
exam runs it shows the tasks set with their points and the time left (no drill score, nothing
earned yet); once the white cell ends it, the grade as the API gives it, the areas under their
pass mark named. Prints one JSON line of what it saw."""

import json
import sys
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from ui import accessibility, chromium, failing

base, team, token, instructor, out = sys.argv[1:6]


def call(path, who, body=None):
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {who}", "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
    return json.loads(urllib.request.urlopen(request, timeout=20).read() or b"null")


seen = {}
cells = lambda d: [r.find_element(By.CSS_SELECTOR, "td.num").text for r in d.find_elements(By.CSS_SELECTOR, "#exam tbody tr[data-task]")]
driver, wait = chromium(1366, 800, "en-GB")
total = lambda d: d.find_element(By.CSS_SELECTOR, f"#teams section[data-team='{team}'] [data-total]").text
# The proctor's console: no drill score, scoreboard or standings in an exam.
proctor = lambda d: {"total": total(d), "board": d.find_element(By.ID, "h-board").is_displayed(),
                     "standings": d.find_element(By.CSS_SELECTOR, "a[href^='/api/drill/standings']").is_displayed()}
with failing(driver, f"{out}/exam-console-failure.png"):
    driver.get(f"{base}/instructor?token={instructor}")
    wait.until(lambda d: total(d) != "")
    seen["proctor_live"] = proctor(driver)
    driver.get(f"{base}/team/{team}?token={token}")
    wait.until(lambda d: d.find_element(By.ID, "exam-section").is_displayed() and len(cells(d)) > 0)
    wait.until(lambda d: d.find_element(By.ID, "exam-head").text.startswith("Time left"))
    seen["live_cells"] = cells(driver)
    seen["score_head_shown"] = driver.find_element(By.ID, "score-head").is_displayed()
    seen["breakdown_shown"] = driver.find_element(By.ID, "breakdown-section").is_displayed()
    # No hints, no scoreboard, no drill report in an exam.
    seen["drill_parts_shown"] = [i for i in ("hints-section", "board-link", "report-link") if driver.find_element(By.ID, i).is_displayed()]
    seen["live_head"] = driver.find_element(By.ID, "exam-head").text
    seen["rule"] = driver.find_element(By.ID, "exam-rule").text
    call("/api/drill/control", instructor, {"action": "end"})
    wait.until(lambda d: "PASSED" in d.find_element(By.ID, "exam-status").text)
    seen["status"] = driver.find_element(By.ID, "exam-status").text
    seen["ended_cells"] = cells(driver)
    seen["below"] = [r.get_attribute("data-area") for r in driver.find_elements(By.CSS_SELECTOR, "#exam tbody tr[data-area].bad")]
    seen["axe"] = accessibility(driver)
    driver.save_screenshot(f"{out}/exam-console-en.png")
driver.quit()
# The proctor's console once the exam is over, in a browser of its own.
driver, wait = chromium(1366, 800, "en-GB")
with failing(driver, f"{out}/exam-proctor-failure.png"):
    driver.get(f"{base}/instructor?token={instructor}")
    wait.until(lambda d: "PASSED" in total(d))
    seen["proctor_ended"] = proctor(driver)
driver.quit()
driver, wait = chromium(390, 844, "zh-CN")
with failing(driver, f"{out}/exam-console-zh-failure.png"):
    driver.get(f"{base}/team/{team}?token={token}&lang=zh")
    wait.until(lambda d: "通过" in d.find_element(By.ID, "exam-status").text)
    seen["zh_status"] = driver.find_element(By.ID, "exam-status").text
    seen["zh_details"] = [d.text for d in driver.find_elements(By.CSS_SELECTOR, "#exam tbody tr[data-task] .mut")]
    seen["zh_overflow"] = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
    # An area's name and a task's points stay on one line on a phone (安全架/构, – / over 20).
    seen["zh_wrapped_cells"] = driver.execute_script(
        "return [...document.querySelectorAll('#exam tbody tr[data-task] td:first-child, #exam tbody tr[data-task] td.num')]"
        ".filter(td => { const r = document.createRange(); r.selectNodeContents(td);"
        " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; }).map(td => td.textContent)")
    seen["zh_exam_above_plant"] = driver.execute_script("return document.getElementById('exam-section').getBoundingClientRect().top < document.getElementById('mimic').getBoundingClientRect().top")
    driver.save_screenshot(f"{out}/exam-console-zh-phone.png")
    # An exam's trainee declares hidden hazards: the form says what can be declared.
    Select(driver.find_element(By.ID, "kind")).select_by_value("declare_hazard")
    seen["hazard_placeholder"] = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields input[name=id]"))[0].get_attribute("placeholder")
driver.quit()
seen["api"] = call(f"/api/teams/{team}/exam", token)
print(json.dumps(seen, ensure_ascii=False))
