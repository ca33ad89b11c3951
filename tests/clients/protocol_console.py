"""The team console's transaction log shows IEC 104 and OPC UA traffic as a trainee who knows
Wireshark reads it: IEC 104 requests by type mnemonic and object, the executes marked; OPC UA
requests by service and variable, the writes marked.

Usage: protocol_console.py BASE TEAM TOKEN NEEDLE... Waits for a log line that holds every
NEEDLE, then prints the IEC 104 and OPC UA lines seen and the endpoint table, as JSON, last.
"""

import json
import sys

from selenium.webdriver.common.by import By

from ui import accessibility, chromium

base, team, token = sys.argv[1:4]
needles = sys.argv[4:]
driver, wait = chromium(1400, 1200)
try:
    driver.get(f"{base}/team/{team}?token={token}")
    lines = lambda d: [(e.text, e.get_attribute("class") or "") for e in d.find_elements(By.CSS_SELECTOR, "#log div")]
    try:
        wait.until(lambda d: any(all(n in t for n in needles) for t, _ in lines(d)))
    except Exception:
        raise SystemExit(f"no log line with {needles}: {lines(driver)[-20:]}")
    seen = {
        "lines": [[t, c] for t, c in lines(driver) if "IEC 104" in t or "OPC UA" in t],
        "endpoints": driver.execute_script(
            "return [...document.querySelectorAll('#endpoints tbody tr')].map(r => [...r.cells].map(c => c.textContent))"),
        "axe": accessibility(driver),
        "decode_as": driver.find_element(By.ID, "decode-as").text,
    }
finally:
    driver.quit()
print(json.dumps(seen))
