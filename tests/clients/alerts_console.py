"""The team console shows the monitoring platform's alerts, as a SOC trainee expects them: a
table with time, severity, the ATT&CK technique, the rule in words, the PLC and the source,
newest first, and a count; in English and in Chinese.

Usage: alerts_console.py BASE TEAM TOKEN RULE INSTRUCTOR_TOKEN DOWNLOADS. Opens the console in the
briefing and starts the drill from the page (as the white cell would, elsewhere): the capture
clock's t = 0 it said before and after. Waits for an alert of RULE, then prints what the
table shows in both languages, which host the console says the team's client acts as, and
how the plant looks once the team isolated its operator station, and the log line of a
connection its isolated workstation tried (in Chinese), as JSON, last. Downloads a capture
of t = 10 s to 120 s into DOWNLOADS from the console's capture window, after one too long.
"""

import json
import os
import socket
import sys

from selenium.webdriver.common.by import By

from ui import accessibility, chromium

base, team, token, rule, instructor, downloads = sys.argv[1:7]
driver, wait = chromium(1366, 768)
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
ROWS = ("[...document.querySelectorAll('#ids-alerts tbody tr')].map(r => ({rule: r.dataset.rule || null, "
        "cells: [...r.cells].map(c => c.textContent), severity_class: r.cells[1] ? r.cells[1].className : ''}))")
rows = lambda d: d.execute_script(f"return {ROWS}")
try:
    driver.get(f"{base}/team/{team}?token={token}")
    wait.until(lambda d: d.find_element(By.ID, "lang"))
    # English first, whatever the browser's language.
    if driver.execute_script("return lang") != "en":
        driver.find_element(By.ID, "lang").click()
    # The briefing: the console shows the plant; its capture clock reads the drill's creation.
    wait.until(lambda d: "t = 0 at" in d.find_element(By.ID, "decode-as").text)
    decode_as_briefing = driver.find_element(By.ID, "decode-as").text
    driver.execute_script(
        "fetch('/api/drill/control', {method: 'POST', headers: {'Authorization': 'Bearer ' + arguments[0],"
        " 'Content-Type': 'application/json'}, body: JSON.stringify({action: 'start'})})", instructor)
    try:
        wait.until(lambda d: any(r["rule"] == rule for r in rows(d)))
    except Exception:
        raise SystemExit(f"no alert of {rule}: {rows(driver)[:5]}")
    # The rows and the count at one moment (another alert may come between two reads).
    en, count = driver.execute_script(f"return [{ROWS}, document.getElementById('alert-count').textContent]")
    heading = driver.find_element(By.ID, "h-ids").text
    as_hosts = driver.find_element(By.ID, "as-hosts").text
    decode_as = driver.find_element(By.ID, "decode-as").text
    brief = driver.find_element(By.ID, "brief").text
    # The team isolates its own operator station: the console shows every PLC as an HMI shows
    # one it cannot read (a COMM FAIL alarm row, the label, no values).
    driver.execute_script("api(location.pathname.replace('/team/', '/api/teams/') + '/actions', {kind: 'isolate_host', host: 'hmi-01'})")
    COMM = ("({rows: [...document.querySelectorAll('#alarms tr[data-comm]')].map(r => r.dataset.comm), "
            "label: document.getElementById('m-plc-t101').textContent, level: document.getElementById('v-lit101').textContent})")
    comm = lambda d: d.execute_script(f"return {COMM}")
    wait.until(lambda d: "plc-t101" in comm(d)["rows"])
    comm_en = comm(driver)
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.execute_script("return lang") == "zh")
    # The team isolates its engineering workstation too, the host its client acts as (from
    # 127.0.0.1): the range refuses the client's next connection, and the Chinese log says so,
    # and why, in Chinese.
    driver.execute_async_script(
        "api(location.pathname.replace('/team/', '/api/teams/') + '/actions', {kind: 'isolate_host', host: 'ews-01'})"
        ".then(() => arguments[0](), () => arguments[0]())")
    address, port = driver.find_element(By.CSS_SELECTOR, "#endpoints tbody tr td:nth-child(2)").text.rsplit(":", 1)
    try:
        with socket.create_connection((address, int(port)), timeout=10) as conn:
            conn.recv(1)
    except OSError:
        pass  # the range resets it, before or after the handshake completes here
    log = lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#log div")]
    try:
        wait.until(lambda d: any("ews-01 连接" in t and "拒绝" in t for t in log(d)))
    except Exception:
        raise SystemExit(f"no refused connection in the log: {log(driver)[-10:]}")
    # A capture of a window of the drill: one longer than the range builds is refused on the
    # page, with why; then t = 10 s to 120 s downloads.
    def capture(start, end):
        form = driver.find_element(By.ID, "pcap-window")
        for name, value in (("from", start), ("to", end)):
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(str(value))
        form.find_element(By.CSS_SELECTOR, "button").click()
    capture(0, 700)
    wait.until(lambda d: d.find_element(By.ID, "toast").is_displayed())
    too_long = driver.find_element(By.ID, "toast").text
    capture(10, 120)
    done = lambda _: [f for f in os.listdir(downloads) if f.endswith(".pcapng")]
    try:
        wait.until(done)
    except Exception:
        raise SystemExit(f"no capture downloaded: {os.listdir(downloads)}, {driver.find_element(By.ID, 'toast').text}")
    # The link's last 5 minutes download the same way, the console staying where it is (it
    # went to the capture's address, an error page when the record held nothing yet).
    first, page = done(None), driver.current_url
    driver.find_element(By.ID, "pcap").click()
    try:
        wait.until(lambda d: len(done(d)) > len(first))
    except Exception:
        raise SystemExit(f"the link downloaded nothing: {os.listdir(downloads)}, {driver.find_element(By.ID, 'toast').text}")
    link_download = [sorted(set(done(None)) - set(first)), driver.current_url == page]
    seen = {
        "link_download": link_download,
        "en": en,
        "count": count,
        "heading": heading,
        "as_hosts": as_hosts,
        "decode_as": decode_as,
        "decode_as_briefing": decode_as_briefing,
        "brief": brief,
        "zh": rows(driver),
        "heading_zh": driver.find_element(By.ID, "h-ids").text,
        "as_hosts_zh": driver.find_element(By.ID, "as-hosts").text,
        "brief_zh": driver.find_element(By.ID, "brief").text,
        "comm": comm_en,
        "comm_zh": comm(driver),
        "refused_zh": [t for t in log(driver) if "拒绝" in t],
        "too_long_zh": too_long,
        "captures": done(driver),
        "axe": accessibility(driver),
    }
    # Back to English: the log is written again in it, the lines already shown too.
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.execute_script("return lang") == "en")
    seen["refused_en"] = [t for t in log(driver) if "REFUSED" in t]
finally:
    driver.quit()
print(json.dumps(seen))
