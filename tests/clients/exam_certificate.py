"""A trainee's console after a live exam: it links to the signed result the exam ended with
(a certificate for a pass, a result notice for a fail), in English then in Chinese, and the
link opens it. Usage: exam_certificate.py BASE TEAM TOKEN OUT. Prints one JSON line of what it
saw."""

import json
import sys

from selenium.webdriver.common.by import By

from ui import chromium, failing

base, team, token, out = sys.argv[1:5]
seen = {}
link = lambda d: d.execute_script("const p = document.getElementById('exam-cert'), a = document.getElementById('exam-cert-link');"
                                  "return p.hidden ? null : [a.textContent, a.getAttribute('href')]")
driver, wait = chromium(1366, 800, "en-GB")
with failing(driver, f"{out}/exam-certificate-failure.png"):
    driver.get(f"{base}/team/{team}?token={token}")
    wait.until(lambda d: d.execute_script("return lang") == "en" or d.find_element(By.ID, "lang").click() or False)
    wait.until(lambda d: link(d) and link(d)[0] != "")
    seen["en"] = link(driver)
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: link(d) and "lang=zh" in link(d)[1])
    seen["zh"] = link(driver)
    driver.get(base + seen["zh"][1])
    seen["page_title"] = driver.title
    seen["page_h1"] = driver.find_element(By.TAG_NAME, "h1").text
driver.quit()
print(json.dumps(seen, ensure_ascii=False))
