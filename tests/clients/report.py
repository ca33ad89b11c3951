"""Opens a team's after-action report as the team would once the drill is at its hot wash:
the console's Report link (shown only now) leads to the report in Chinese. At desk and phone
width: no UI text left in English (published ATT&CK names, ids and the team's own data stay as
they are), no serious accessibility violation, nothing wider than a phone; the browser's
print to PDF, fonts embedded. Saves screenshots and the PDF; prints one JSON line."""

import base64
import json
import sys

from selenium.webdriver.common.by import By

from ui import accessibility, chromium, failing, untranslated

base, team, token, out = sys.argv[1:5]

driver, wait = chromium(1440, 900, "zh-CN")
seen = {}
with failing(driver, f"{out}/report-failure.png"):
    driver.get(f"{base}/team/{team}?token={token}")
    link = wait.until(lambda d: d.find_element(By.ID, "report-link") if d.find_element(By.ID, "report-link").is_displayed() else None)
    # The team reads it in Chinese: the switch, as a person would press it.
    if driver.find_element(By.ID, "lang").text == "中文":
        driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.find_element(By.ID, "report-link").get_attribute("href").endswith("lang=zh"))
    href = link.get_attribute("href")
    seen["href"] = href
    driver.get(href)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "h1"))
    seen["title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["findings"] = len(driver.find_elements(By.CSS_SELECTOR, "div.finding"))
    # What the page says itself; the overview's values, ATT&CK names and ids are data.
    data = "table.overview td, .ref, code, figcaption"
    seen["untranslated"] = untranslated(driver, "h1,h2,h3,th,td,li,p,b,span", data)
    seen["axe"] = {"report": accessibility(driver)}
    driver.save_screenshot(f"{out}/report-browser.png")
    pdf = base64.b64decode(driver.print_page())
    with open(f"{out}/report.pdf", "wb") as f:
        f.write(pdf)
    seen["pdf"] = {"bytes": len(pdf), "magic": pdf[:5].decode("latin-1"), "embedded": pdf.count(b"/FontFile"),
                   "cjk": any(n in pdf for n in (b"CJK", b"WenQuanYi", b"Droid", b"Noto"))}
    driver.set_window_size(390, 844)
    driver.get(href)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "h1"))
    seen["phone"] = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
    # The charts keep legible text, their figure scrolling sideways instead of the page.
    seen["phone"]["chart_text_px"] = driver.execute_script(
        "const t = [...document.querySelectorAll('svg.chart text')].filter(e => e.textContent.trim());"
        "return t.length ? Math.min(...t.map(e => e.getBoundingClientRect().height)) : 0")
    seen["axe"]["report_phone"] = accessibility(driver)
    driver.save_screenshot(f"{out}/report-phone.png")
    print(json.dumps(seen, ensure_ascii=False))
