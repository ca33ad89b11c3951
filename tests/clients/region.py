"""Opens the regional oversight view in headless Chromium as a region official would, in
Chinese, at desk and phone width: the year's drills, the enterprises with their industry,
last score and monitoring alerts, an enterprise's page (drills, scores, findings and their
rectification), no UI text left in English, nothing wider than a phone.
Saves screenshots; prints one JSON line with what it saw."""

import base64
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from ui import accessibility, chromium, failing, phone, untranslated

base, token, out, bundle, trainer = sys.argv[1:6]

driver, wait = chromium(1440, 900, "zh-CN")
# A browser in Xinjiang time: the dates on the charts are still the region's (China Standard
# Time), not a day or a month early.
driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Urumqi"})
seen = {}
with failing(driver, f"{out}/region-failure.png"):
    driver.get(f"{base}/region?token={token}")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ents tbody tr"))
    # The official reads it in Chinese: the switch, as a person would press it.
    if driver.find_element(By.ID, "lang").text == "中文":
        driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.find_element(By.ID, "scope").text == "全区")
    rows = lambda sel: driver.execute_script(f"return [...document.querySelectorAll('{sel} tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    seen["years"] = rows("#years")
    seen["prefs"] = rows("#prefs")
    seen["enterprises"] = rows("#ents")
    seen["scope"] = driver.find_element(By.ID, "scope").text
    seen["export_links"] = driver.execute_script("return [...document.querySelectorAll('a[data-export]')].map(a => a.getAttribute('href'))")
    seen["untranslated"] = untranslated(driver, "h1,h2,h3,label,th,button,a,span,p,td", "#ents td:first-child")
    seen["axe"] = {"region": accessibility(driver)}
    driver.save_screenshot(f"{out}/region.png")
    # Filter by any text shown; sort by a column (again: the other way round).
    ids = lambda d: d.execute_script("return [...document.querySelectorAll('#ents tbody tr')].map(r => r.cells[0].textContent)")
    driver.find_element(By.ID, "ent-filter").send_keys("克拉玛依")
    wait.until(lambda d: len(ids(d)) == 2)
    seen["filtered"] = ids(driver)
    driver.find_element(By.ID, "ent-filter").clear()
    # A value another column shows: a last drill's score.
    driver.find_element(By.ID, "ent-filter").send_keys("273.0")
    wait.until(lambda d: len(ids(d)) == 1)
    seen["filtered_score"] = ids(driver)
    driver.find_element(By.ID, "ent-filter").clear()
    driver.execute_script("document.getElementById('ent-filter').dispatchEvent(new Event('input'))")
    wait.until(lambda d: len(ids(d)) == 3)
    driver.find_element(By.CSS_SELECTOR, "#ents th[data-sort=score] button").click()
    seen["by_score"] = ids(driver)
    driver.find_element(By.CSS_SELECTOR, "#ents th[data-sort=score] button").click()
    seen["by_score_up"] = ids(driver)
    seen["aria_sort"] = driver.find_element(By.CSS_SELECTOR, "#ents th[data-sort=score]").get_attribute("aria-sort")
    seen["year_chart_points"] = driver.find_element(By.ID, "year-chart").get_attribute("data-points")
    # A drill bundle, uploaded as an official would: the verdict in Chinese.
    driver.find_element(By.ID, "bundle-file").send_keys(bundle)
    driver.find_element(By.CSS_SELECTOR, "#bundle-form button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.ID, "bundle-result").get_attribute("data-accepted"))
    seen["bundle"] = driver.find_element(By.ID, "bundle-result").text
    # Drill down to enterprise a's page, as an official clicks its id; then back to the lists.
    driver.find_element(By.CSS_SELECTOR, "#ents a[href='#e=a']").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.enterprise") == "a")
    seen["ent_name"] = driver.find_element(By.ID, "ent-name").text
    seen["ent_facts"] = rows("#ent-facts")
    seen["ent_drills"] = rows("#ent-drills")
    # Each drill over links its after-action report: read in the browser, with this login.
    seen["ent_report"] = driver.execute_script(
        "const a = document.querySelector('#ent-drills tbody tr a[target=_blank]');"
        " return a ? fetch(a.href).then(r => r.text().then(t => [r.status, a.textContent, r.headers.get('content-type'), t.includes('演练')])) : null")
    seen["ent_findings"] = rows("#ent-findings")
    seen["ent_chart_points"] = driver.find_element(By.ID, "ent-chart").get_attribute("data-points")
    seen["ent_chart_xlabels"] = json.loads(driver.find_element(By.ID, "ent-chart").get_attribute("data-xlabels") or "[]")
    # Room for each date label (they ran together: 2026-11-062026-11-09).
    seen["ent_chart_room"] = driver.execute_script(
        "const e = document.getElementById('ent-chart'), l = JSON.parse(e.dataset.xlabels || '[]').filter(Boolean);"
        " return {width: e.clientWidth, labels: l.length, longest: Math.max(0, ...l.map(x => x.length))}")
    ticks = json.loads(driver.find_element(By.ID, "ent-chart").get_attribute("data-xticks") or "[]")
    seen["ent_chart_ticks_cst"] = [datetime.fromtimestamp(t, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") for t in ticks]
    seen["ent_untranslated"] = untranslated(driver, "h1,h2,h3,label,th,button,a,span,p,td", "#ent-name, #ent-drills td:nth-child(2)")
    seen["axe"]["enterprise"] = accessibility(driver)
    driver.save_screenshot(f"{out}/region-enterprise.png")
    driver.find_element(By.CSS_SELECTOR, "#enterprise a[href='#']").click()
    wait.until(lambda d: d.find_element(By.ID, "overview").is_displayed())
    # The trainer view, same login, same language.
    driver.get(f"{base}/trainer")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cohort option"))
    seen["trainer_untranslated"] = untranslated(driver, "h1,h2,h3,label,th,td,button,a,span,p,option")
    seen["validity"] = [s.text for s in driver.find_elements(By.CSS_SELECTOR, "#results .valid")]
    seen["axe"]["trainer"] = accessibility(driver)
    seen["trainer_phone"] = phone(driver, wait, f"{base}/trainer", lambda d: d.find_elements(By.CSS_SELECTOR, "#results tbody tr"), f"{out}/trainer-phone.png")
    # Each certificate (or result notice) the trainer view links, in Chinese, desk and phone.
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#results a:not([download])")]
    seen["certificates"] = []
    for i, href in enumerate(links):
        driver.get(href)
        wait.until(lambda d: d.find_elements(By.TAG_NAME, "h1"))
        cert = {"title": driver.find_element(By.TAG_NAME, "h1").text,
                "issuer": driver.find_element(By.CSS_SELECTOR, "table.issuer").text,
                "qr": bool(driver.find_elements(By.CSS_SELECTOR, ".qr svg")),
                # Names, ids, keys and hashes are data; the rest is the page's own.
                "untranslated": untranslated(driver, "h1,p,td,b", ".small, code")}
        seen["axe"][f"certificate_{i}"] = accessibility(driver)
        driver.save_screenshot(f"{out}/certificate-{i}.png")
        # Printed on A4 and on US Letter, in both languages: one sheet each.
        cert["pages"] = {}
        for lang in ("zh", "en"):
            driver.get(href.replace("lang=zh", f"lang={lang}"))
            wait.until(lambda d: d.find_elements(By.TAG_NAME, "h1"))
            for paper, (w, h) in {"a4": (21.0, 29.7), "letter": (21.59, 27.94)}.items():
                options = PrintOptions()
                options.page_width, options.page_height = w, h
                pdf = base64.b64decode(driver.print_page(options))
                cert["pages"][f"{lang}-{paper}"] = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
        driver.set_window_size(390, 844)
        driver.get(href)
        wait.until(lambda d: d.find_elements(By.TAG_NAME, "h1"))
        cert["phone"] = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
        seen["axe"][f"certificate_{i}_phone"] = accessibility(driver)
        driver.set_window_size(1440, 900)
        seen["certificates"].append(cert)
    driver.set_window_size(390, 844)
    driver.get(f"{base}/region")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ents tbody tr"))
    seen["phone"] = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
    # Every enterprise's next drill is on the screen, said as such, without scrolling sideways.
    seen["next_drill_phone"] = driver.execute_script(
        "const head = document.querySelector('#ents th[data-sort=next]').textContent.trim();"
        " return [...document.querySelectorAll('#ents tbody tr')].map(r => { const c = r.cells[5], b = c.getBoundingClientRect();"
        " return {left: b.left, right: b.right, inner: window.innerWidth, label: c.dataset.label, head: head, shown: b.width > 0 && b.height > 0}; })")
    seen["axe"]["region_phone"] = accessibility(driver)
    # An industry's row under its prefecture is labelled as an industry on a phone.
    seen["industry_labels_phone"] = driver.execute_script("return [...document.querySelectorAll('#prefs tr.sub td:first-child')].map(td => td.dataset.label)")
    driver.save_screenshot(f"{out}/region-phone.png")
    driver.get(f"{base}/region#e=a")
    wait.until(lambda d: d.execute_script("return document.body.dataset.enterprise") == "a")
    # Opened at an enterprise's link, the header still says whose view it is.
    seen["ent_direct_scope"] = driver.find_element(By.ID, "scope").text
    seen["ent_phone"] = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        # A stacked table's headings show only where they sort: a loose row of words above the
        # cards otherwise (each card's cells are labelled).
        " loose_heads: [...document.querySelectorAll('table.stack thead')].filter(h => h.getBoundingClientRect().height > 2 && !h.querySelector('button')).map(h => h.closest('table').id)}")
    seen["axe"]["enterprise_phone"] = accessibility(driver)
    driver.save_screenshot(f"{out}/region-enterprise-phone.png")
    # A link to an enterprise not in the view: said where its page would be, not the list.
    driver.get(f"{base}/region#e=no-such")
    wait.until(lambda d: d.find_element(By.ID, "ent-missing").is_displayed())
    seen["missing"] = driver.execute_script(
        "return {text: document.getElementById('ent-missing').textContent, hash: location.hash,"
        " list: !document.getElementById('overview').hidden,"
        " sections: [...document.querySelectorAll('#enterprise > section')].filter(s => !s.hidden).length}")
    # Read in the other language, it says so in that one; then a real enterprise's link
    # draws its page and nothing of the missing one.
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: "no enterprise" in d.find_element(By.ID, "ent-missing").text)
    seen["missing"]["en"] = driver.find_element(By.ID, "ent-missing").text
    driver.find_element(By.ID, "lang").click()
    driver.execute_script("location.hash = '#e=a'")
    wait.until(lambda d: d.execute_script("return document.body.dataset.enterprise") == "a")
    seen["missing"]["after"] = driver.execute_script(
        "return {shown: !document.getElementById('ent-missing').hidden,"
        " sections: [...document.querySelectorAll('#enterprise > section')].filter(s => !s.hidden).length}")
    # A wrong login link: the page says so in both languages, on a phone too.
    seen["bad_token"] = phone(driver, wait, f"{base}/region?token=wrong", lambda d: d.find_elements(By.TAG_NAME, "h1"), f"{out}/bad-token-phone.png")
    seen["bad_token"]["text"] = driver.find_element(By.TAG_NAME, "h1").text
    # A trainer's login on the roll-up: refused, and the page says so where it stays.
    driver.get(f"{base}/region?token={trainer}")
    wait.until(lambda d: d.find_elements(By.ID, "refused") and d.find_element(By.ID, "refused").is_displayed())
    seen["refused"] = driver.find_element(By.ID, "refused").text
    seen["refused_link"] = driver.execute_script("const a = document.querySelector('#refused a'); return a ? a.getAttribute('href') : null")
    seen["refused_exports"] = driver.execute_script("return [...document.querySelectorAll('a[href^=\"/api/\"]')].filter(a => !a.hidden).length")
    print(json.dumps(seen, ensure_ascii=False))
