"""Opens each process diagram given (HTML files holding `<div id="mimic"><svg …>`) in
headless Chromium, with the widest values its texts can show filled in, and prints one JSON
line: each file's clashes (`ui.MIMIC_CLASHES`)."""

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
    found = {}
    for path in sys.argv[1:]:
        driver.get(pathlib.Path(path).resolve().as_uri())
        driver.execute_script(WORST)
        found[pathlib.Path(path).stem] = mimic_clashes(driver)
    print(json.dumps(found))
finally:
    driver.quit()
