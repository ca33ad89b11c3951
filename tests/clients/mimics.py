"""Opens each process diagram given (HTML files holding `<div id="mimic"><svg …>`) in
headless Chromium, with the widest values its texts can show filled in, and prints one JSON
line: each file's clashes (`ui.MIMIC_CLASHES`), on an English page and then on a Chinese one
(`zh: ` before a clash there), and the equipment labels each shows."""

import json
import pathlib
import sys

from ui import chromium, mimic_clashes

# The widest a value, a set point and an alarm marker read on the console.
WORST = """
for (const e of document.querySelectorAll('#mimic text.value')) e.textContent = '8888.8';
for (const e of document.querySelectorAll('#mimic text.sp')) e.textContent = 'SP 2700.0';
for (const e of document.querySelectorAll('#mimic text.almt')) e.textContent = '1!';
"""

driver, _ = chromium(1500, 1000)
try:
    found, labels = {}, {}
    for path in sys.argv[1:]:
        stem = pathlib.Path(path).stem
        driver.get(pathlib.Path(path).resolve().as_uri())
        driver.execute_script(WORST)
        found[stem] = mimic_clashes(driver)
        labels[stem] = {}
        for lang, html_lang in (("en", "en"), ("zh", "zh-CN")):
            driver.execute_script("document.documentElement.lang = arguments[0]", html_lang)
            if lang == "zh":
                found[stem] += ["zh: " + c for c in mimic_clashes(driver)]
            labels[stem][lang] = driver.execute_script(
                "return [...document.querySelectorAll('#mimic text.etag')].filter(e => e.getClientRects().length).map(e => e.textContent)"
            )
    print(json.dumps({"clashes": found, "labels": labels}))
finally:
    driver.quit()
