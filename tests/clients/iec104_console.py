"""The team console's transaction log shows IEC 104 traffic as a trainee who knows Wireshark
reads it: the Industroyer-style attacker's interrogations and its select-before-operate
breaker commands, by type mnemonic and object, the executes marked.

Usage: iec104_console.py BASE TEAM TOKEN. Prints the log lines seen, as JSON, last.
"""

import json
import sys

from selenium.webdriver.common.by import By

from ui import accessibility, chromium

base, team, token = sys.argv[1:4]
driver, wait = chromium(1400, 1200)
try:
    driver.get(f"{base}/team/{team}?token={token}")
    lines = lambda d: [(e.text, e.get_attribute("class") or "") for e in d.find_elements(By.CSS_SELECTOR, "#log div")]
    try:
        wait.until(lambda d: any("C_DC_NA_1 ioa=2001" in t and "execute" in t for t, _ in lines(d)))
    except Exception:
        raise SystemExit(f"no IEC 104 execute in the log: {lines(driver)[-20:]}")
    seen = {
        "lines": [[t, c] for t, c in lines(driver) if "IEC 104" in t],
        "stations": driver.execute_script(
            "return [...document.querySelectorAll('#endpoints tbody tr')].map(r => [r.cells[0].textContent, r.cells[3].textContent])"),
        "axe": accessibility(driver),
    }
finally:
    driver.quit()
print(json.dumps(seen))
