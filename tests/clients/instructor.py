"""Drives the white cell's console in headless Chromium: the controls follow the phase, End
asks first, and a hint is revealed to a team from its panel. Saves a screenshot; prints one
JSON line with what it saw."""

import json
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ui import accessibility, chromium, failing, phone, untranslated

base, token, team, out = sys.argv[1:5]

driver, wait = chromium(1440, 900)
enabled = lambda d: d.execute_script("return [...document.querySelectorAll('[data-control]')].filter(b => !b.disabled).map(b => b.dataset.control)")
phase = lambda d: d.find_element(By.ID, "phase").get_attribute("data-phase")

seen = {}
with failing(driver, f"{out}/instructor-failure.png"):
    driver.get(f"{base}/instructor?token={token}")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tools button[data-reveal]"))
    wait.until(lambda d: enabled(d) == ["start", "end"])
    seen["briefing"] = enabled(driver)
    # Hints and injects reach a team only while live: their buttons are off before (and after).
    tools_on = lambda d: d.execute_script("return [[...document.querySelectorAll('#tools button[data-reveal]')].filter(b => !b.disabled).length, !document.querySelector('#inject button[type=submit]').disabled]")
    seen["tools_briefing"] = tools_on(driver)
    # The white cell's script besides the attack: faults, distractors and routine work.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#script tbody tr"))
    seen["script"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#script tbody tr")]
    # End asks first; dismissed, nothing happens.
    driver.find_element(By.CSS_SELECTOR, "[data-control=end]").click()
    wait.until(lambda d: d.switch_to.alert)
    seen["confirm"] = driver.switch_to.alert.text
    driver.switch_to.alert.dismiss()
    driver.find_element(By.CSS_SELECTOR, "[data-control=start]").click()
    wait.until(lambda d: phase(d) == "live" and enabled(d) == ["pause", "hot_wash", "end"])
    seen["live"] = enabled(driver)
    seen["tools_live"] = tools_on(driver)
    # A link on a team's card keeps the keyboard focus while the live values update.
    status = lambda d: d.execute_script("return document.querySelector('#teams [data-status]').textContent")
    driver.execute_script("document.querySelector('#teams section h2 a').focus()")
    before = status(driver)
    wait.until(lambda d: status(d) != before)
    seen["focus_kept"] = driver.execute_script("return document.activeElement === document.querySelector('#teams section h2 a')")
    # Reveal the first hint of the team.
    button = driver.find_element(By.CSS_SELECTOR, f"#tools button[data-reveal='{team}']")
    seen["hint"] = button.get_attribute("data-hint")
    button.click()
    # It costs the team points: asked first.
    wait.until(lambda d: d.switch_to.alert)
    seen["reveal_confirm"] = driver.switch_to.alert.text
    driver.switch_to.alert.accept()
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#tools button[data-reveal='{team}'][data-hint='{seen['hint']}']"))
    # A message to every team, sent from the form: what became of it stays under the form.
    form = driver.find_element(By.ID, "inject")
    form.find_element(By.NAME, "text").send_keys("Control room: check T-101")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.ID, "inject-result").text)
    seen["inject_result"] = driver.find_element(By.ID, "inject-result").text
    # No team has tried another's endpoints: the section says so.
    seen["cross_none"] = driver.find_element(By.ID, "cross-none").is_displayed()
    # The white cell's score chart, from the drill's start.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#history canvas"))
    seen["history"] = driver.execute_script("const h = document.getElementById('history'); return {points: +(h.dataset.points || 0), from: +h.dataset.from}")
    # In Chinese, nothing of the white cell's own UI is left in English (names and ids aside).
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-i18n=white_cell]").text == "导调组")
    seen["script_zh"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#script tbody tr")]
    seen["untranslated"] = untranslated(driver, "h1,h2,h3,label,th,td,button,a,span,p,option,figcaption", "#timeline td:first-child, #timeline td:nth-child(3), #script td:nth-child(3), #tools b, #board td.name, #board td.bracket, .uplot, .mut, #inject-step, #inject-teams, #teams h2, #teams td")
    seen["axe"] = {"instructor": accessibility(driver)}
    driver.save_screenshot(f"{out}/instructor.png")
    seen["phone"] = phone(driver, wait, driver.current_url, lambda d: d.find_elements(By.CSS_SELECTOR, "#teams section"), f"{out}/instructor-phone.png")
    # On a phone every attack step's progress per team is on the screen, not beyond its card.
    driver.set_window_size(390, 844)
    driver.get(driver.current_url)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline tbody tr"))
    seen["timeline_phone"] = driver.execute_script("return {inner: window.innerWidth, right: Math.max(...[...document.querySelectorAll('#timeline tbody td:last-child')].map(c => c.getBoundingClientRect().right))}")
    driver.set_window_size(1440, 900)
    # The test stops the drill now: the page says the connection is lost and keeps retrying.
    print("ready", flush=True)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "conn").is_displayed())
    seen["banner"] = driver.find_element(By.ID, "conn").text
    seen["banner_live"] = driver.find_element(By.ID, "conn").get_attribute("aria-live")
    print(json.dumps(seen))
