"""Drives the web view in headless Chromium (Debian's chromium + chromedriver) like a team and
an observer would: log in with the team's URL, watch live values change, take a defender
action and file an incident report through the forms, then open the scoreboard and see the
team's new score there. Saves screenshots; prints one JSON line with what it saw."""

import json
import sys
import time
import urllib.request

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from ui import accessibility, broken, chromium, failing, mimic_clashes, phone, untranslated

base, team, token, observer, out, instructor = sys.argv[1:7]

driver, wait = chromium(1500, 1400)
seen = {}
with failing(driver, f"{out}/failure.png"):
    driver.get(f"{base}/team/{team}?token={token}")
    assert driver.current_url == f"{base}/team/{team}", driver.current_url  # token dropped from the URL
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    sensor = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "svg text[id^='v-']"))
    first_tick = int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    first_value = sensor.text
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-tick")) > first_tick + 5)
    sensor_id = sensor.get_attribute("id")
    wait.until(lambda d: d.find_element(By.ID, sensor_id).text not in ("–", ""))
    seen["ticks"] = [first_tick, int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))]
    seen["sensor"] = [sensor_id, first_value, driver.find_element(By.ID, sensor_id).text]
    # A contest's challenges on the console, the one the team solved marked with its time.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#challenges li[data-solved]"))
    seen["challenges"] = driver.execute_script("return [...document.querySelectorAll('#challenges li')].map(l => [l.dataset.challenge, l.hasAttribute('data-solved'), l.textContent])")
    # Endpoint PLC ids and addresses on one line each ("plc-/t101" broke at its hyphen).
    seen["endpoints_broken"] = broken(driver, "#endpoints tbody td:nth-child(-n+2)")
    # On a laptop an alert's time, asset and source stay whole too ("802/s", "plc-/t101").
    driver.set_window_size(1366, 768)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ids-alerts tbody tr[data-rule]"))
    seen["alerts_broken"] = broken(driver, "#ids-alerts tbody td:nth-child(1), #ids-alerts tbody td:nth-child(5), #ids-alerts tbody td:nth-child(6)")
    driver.set_window_size(1500, 1400)
    # The commands the team connects with, each a line to copy: nmap for the device
    # identities (the console showed pymodbus alone), pymodbus.
    seen["client_commands"] = driver.execute_script("return [...document.querySelectorAll('#clients code')].map(c => c.textContent)")
    # The defence hints say what they are for (a contestant took them for flag hints).
    seen["hints_heading"] = driver.execute_script("const s = document.getElementById('hints-section'); return [s.querySelector('h2').textContent, s.querySelector('p').innerText]")
    before = float(driver.find_element(By.ID, "total").text)
    # The trends chart what the page received, process variable and score (uPlot, served by
    # the drill itself).
    wait.until(lambda d: int(d.find_element(By.ID, "trend").get_attribute("data-points") or 0) > 5)
    seen["trend"] = driver.execute_script(
        "return {points: +document.getElementById('trend').dataset.points,"
        " canvases: document.querySelectorAll('#trend canvas, #score-trend canvas').length,"
        " scripts: [...document.scripts].map(s => s.src).filter(s => s && !s.startsWith(location.origin)).length}")

    # The diagram's texts clear each other, the vessels and the pipes, whatever they show.
    seen["mimic_clashes"] = mimic_clashes(driver)
    driver.refresh()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    # The process diagram: the tank's level transmitter fills it; a click on LIT-101 opens
    # its faceplate (value, alarm limits and set points read from the PLC's holding
    # registers, a trend), and updates leave it in place.
    wait.until(lambda d: float(d.find_element(By.ID, "f-lit101").get_attribute("height") or 0) > 10)
    tick = lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    faceplate = lambda d: d.execute_script(
        "const fp = document.getElementById('faceplate'); return {shown: !fp.hidden, title: (fp.querySelector('h2') || {}).textContent,"
        " value: (fp.querySelector('[data-fpv=\"0\"]') || {}).textContent, trend: fp.querySelectorAll('canvas').length,"
        " rows: [...fp.querySelectorAll('tr')].map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])}")
    driver.execute_script("return document.getElementById('v-lit101').closest('[data-fp]')").click()
    wait.until(lambda d: faceplate(d)["shown"] and faceplate(d)["trend"] > 0)
    close = driver.find_element(By.CSS_SELECTOR, "#faceplate .close")
    now = tick(driver)
    wait.until(lambda d: tick(d) > now + 5)
    seen["faceplate"] = faceplate(driver)
    try:
        seen["faceplate_kept"] = close.is_displayed()
    except StaleElementReferenceException:
        seen["faceplate_kept"] = False
    close.click()
    wait.until(lambda d: not faceplate(d)["shown"])
    # From the keyboard: the feed pump's faceplate opens with Enter.
    driver.execute_script("document.getElementById('g-p101').focus()")
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait.until(lambda d: faceplate(d)["shown"])
    seen["pump"] = faceplate(driver)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait.until(lambda d: not faceplate(d)["shown"])
    # An interlock's faceplate: its tag and what it guards, its process value by tag.
    driver.execute_script("return document.getElementById('i-il-101').closest('[data-fp]')").click()
    wait.until(lambda d: faceplate(d)["shown"])
    seen["interlock"] = faceplate(driver)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait.until(lambda d: not faceplate(d)["shown"])
    seen["axe"] = {"team": accessibility(driver)}
    # The alarm list has its time column.
    seen["alarm_columns"] = driver.execute_script("return [...document.querySelectorAll('#alarms thead th')].map(t => t.dataset.i18n)")

    # Updates stream in without rebuilding what did not change: the hint button under the
    # pointer is the same element ten updates later (a press is not lost mid-click).
    hint = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#hints button[data-hint]"))
    now = int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-tick")) > now + 10)
    try:
        seen["hint_button_kept"] = hint.is_displayed() and hint.get_attribute("data-hint") != ""
    except StaleElementReferenceException:
        seen["hint_button_kept"] = False
    # Ten slow presses (250 ms between press and release, as a person clicks) on Take while
    # updates stream: each reaches the button. (Counted and stopped before the page acts on
    # it, so the hint stays offered.)
    driver.execute_script("""window.__takes = 0; document.addEventListener('click', e => {
      if (e.target.closest('#hints button[data-hint]')) { window.__takes++; e.stopPropagation(); e.preventDefault(); } }, true);""")
    before = int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick"))
    for _ in range(10):
        ActionChains(driver).move_to_element(hint).click_and_hold().pause(0.25).release().perform()
    seen["slow_clicks"] = [driver.execute_script("return window.__takes"), int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick")) - before]

    # A defender action through the form.
    Select(driver.find_element(By.ID, "kind")).select_by_value("isolate_host")
    Select(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#fields select[name=host]"))).select_by_value("ews-01")
    driver.find_element(By.CSS_SELECTOR, "#action button[type=submit]").click()
    # Said by its name, as the form lists it, and what it acted on.
    wait.until(lambda d: "Isolate a host" in d.find_element(By.ID, "toast").text)
    assert "Isolate a host ews-01" in driver.find_element(By.ID, "toast").text, driver.find_element(By.ID, "toast").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#myactions li[data-kind=isolate_host]"))
    # Said by its name and what it acted on.
    assert "Isolate a host ews-01 ✓" in driver.find_element(By.ID, "myactions").text, driver.find_element(By.ID, "myactions").text
    # The report form offers the techniques by id and name.
    seen["techniques"] = driver.execute_script(
        "const o = [...document.querySelectorAll('#techniques option')]; const t = o.find(x => x.value === 'T0855');"
        " return {count: o.length, t0855: t ? t.label : null}")
    # The forms list conduits by the zones they join and alarms by the tag they watch.
    options = lambda name: driver.execute_script(f"return [...document.querySelectorAll('#fields select[name={name}] option')].map(o => o.textContent)")
    Select(driver.find_element(By.ID, "kind")).select_by_value("block_source")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields select[name=conduit]"))
    seen["conduit_options"] = options("conduit")
    Select(driver.find_element(By.ID, "kind")).select_by_value("acknowledge_alarm")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields select[name=alarm]"))
    seen["alarm_options"] = options("alarm")
    # Bypasses are taken off in the PLCs that run interlocks, the only ones offered.
    Select(driver.find_element(By.ID, "kind")).select_by_value("clear_bypasses")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields select[name=plc]"))
    seen["bypass_plcs"] = driver.execute_script("return [...document.querySelectorAll('#fields select[name=plc] option')].map(o => o.value)")
    # A double click sends one action, not two.
    count = lambda d, k: d.execute_script(f"return document.querySelectorAll('#myactions li[data-kind={k}]').length")
    Select(driver.find_element(By.ID, "kind")).select_by_value("notify")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields select[name=to]"))
    # The notify form offers the addressees response plans name, by name.
    seen["addressees"] = driver.execute_script(
        "return [...document.querySelectorAll('#fields select[name=to] option')].map(o => [o.value, o.textContent])")
    ActionChains(driver).double_click(driver.find_element(By.CSS_SELECTOR, "#action button[type=submit]")).perform()
    wait.until(lambda d: count(d, "notify") >= 1)
    # The toast names the addressee in words, not the form's value.
    wait.until(lambda d: "duty officer" in d.find_element(By.ID, "toast").text)
    seen["notify_toast"] = driver.find_element(By.ID, "toast").text
    ticked = tick(driver)
    wait.until(lambda d: tick(d) > ticked + 10)
    seen["notify_sent"] = count(driver, "notify")
    # An action the range refuses (an addressee past its length, as a crafted page could
    # send) says why, in words.
    driver.execute_script(
        "const s = document.querySelector('#fields select[name=to]'), o = new Option('x', 'x'.repeat(80));"
        " s.add(o); s.value = o.value;")
    driver.find_element(By.CSS_SELECTOR, "#action button[type=submit]").click()
    refused_text = lambda d: d.execute_script(
        "const l = [...document.querySelectorAll('#myactions li[data-kind=notify]')].find(l => l.textContent.includes('✗'));"
        " return l ? l.textContent : ''")
    wait.until(lambda d: refused_text(d))
    seen["refused_action"] = refused_text(driver)
    def said_before_sending(kind, typed, words):
        """Fills `kind`'s form (input name -> text) and sends it: the toast, and how many such
        actions the console lists (none: nothing was sent)."""
        Select(driver.find_element(By.ID, "kind")).select_by_value(kind)
        for name, text in typed.items():
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#fields input[name={name}]"))[0].send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#action button[type=submit]").click()
        wait.until(lambda d: words in d.find_element(By.ID, "toast").text)
        return [driver.find_element(By.ID, "toast").text, count(driver, kind)]
    # A write window that ends before it starts, function codes that are not numbers: said so
    # in words before anything is sent.
    seen["bad_window"] = said_before_sending("restrict_writes", {"start": "10", "end": "5"}, "end address")
    seen["bad_functions"] = said_before_sending("allow_functions", {"functions": "abc"}, "Function codes")
    # A PLC restart is asked first; dismissed, nothing is sent.
    Select(driver.find_element(By.ID, "kind")).select_by_value("restart_plc")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#fields select[name=plc]"))
    driver.find_element(By.CSS_SELECTOR, "#action button[type=submit]").click()
    prompt = wait.until(lambda d: d.switch_to.alert)
    seen["restart_prompt"] = prompt.text
    prompt.dismiss()
    ticked = tick(driver)
    wait.until(lambda d: tick(d) > ticked + 10)
    seen["restarts_sent"] = count(driver, "restart_plc")

    # An incident report through the form.
    form = driver.find_element(By.ID, "report")
    # Typed by its name, as a trainee may: sent as its id (T0886).
    form.find_element(By.NAME, "technique").send_keys("Remote Services")
    seen["kinds"] = driver.execute_script("return [...document.querySelectorAll('#kind option')].map(o => o.value)")
    Select(form.find_element(By.NAME, "asset")).select_by_value("hist-dmz-01")
    form.find_element(By.NAME, "tactic").send_keys("lateral-movement")
    form.find_element(By.NAME, "observed_s").send_keys("40")
    form.find_element(By.NAME, "impact").send_keys("attacker on the DMZ historian replica")
    form.find_element(By.NAME, "actions").send_keys("isolated the engineering workstation")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The page re-renders its tables on every update: read them in one script, never through
    # element handles that go stale.
    parts = lambda d: dict(d.execute_script("return [...document.querySelectorAll('#card tr[data-key]')].map(r => [r.dataset.key, +r.dataset.points])"))
    wait.until(lambda d: parts(d).get("report_quality", 0) > 0 and parts(d).get("detection", 0) > 0)
    seen["parts"] = parts(driver)
    # A contest is blind: the console's card is provisional, its process safety judged at the hot wash.
    seen["withheld"] = driver.execute_script("return [...document.querySelectorAll('#card tr[data-withheld]')].map(r => r.dataset.key)")
    seen["provisional_note"] = driver.execute_script("return !document.getElementById('provisional-note').hidden")
    seen["team_total"] = [before, float(driver.find_element(By.ID, "total").text)]

    # The language switch, with a faceplate open: it follows too.
    driver.execute_script("return document.getElementById('v-lit101').closest('[data-fp]')").click()
    wait.until(lambda d: faceplate(d)["shown"])
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-i18n=report]").text == "事件报告")
    seen["zh"] = driver.find_element(By.CSS_SELECTOR, "[data-i18n=report]").text
    # Chinese punctuation after Chinese words (得分: 0.0 read with an ASCII colon).
    seen["zh_score_head"] = driver.find_element(By.ID, "score-head").text
    # Every visible piece of UI text is Chinese, but for names that stay as they are.
    seen["untranslated"] = untranslated(driver, "h1,h2,h3,label,th,button,a,span,p,legend,figcaption",
                                        "#team,#mimic,#endpoints tbody,#card,#log,.uplot,#myactions,#hints li,#injects")
    seen["faceplate_zh"] = faceplate(driver)["rows"][0][0]
    seen["faceplate_zh_rows"] = [r[0] for r in faceplate(driver)["rows"]]
    # A screen reader names the diagram and its symbols in the page's language too.
    seen["mimic_labels_zh"] = driver.execute_script(
        "return [document.querySelector('#mimic svg'), document.getElementById('v-lit101').closest('[data-fp]'),"
        " ...document.querySelectorAll('#mimic .equip, #mimic .sis')].map(e => e.getAttribute('aria-label'))")
    try:  # Redrawn in Chinese at the language switch or the next update.
        wait.until(lambda d: "✗ 请" in refused_text(d))
    except TimeoutException:
        pass
    seen["refused_action_zh"] = refused_text(driver)
    driver.save_screenshot(f"{out}/team-console.png")
    driver.find_element(By.CSS_SELECTOR, "#faceplate .close").click()
    driver.find_element(By.ID, "lang").click()

    # Another team's console with this team's login: it says why it shows nothing, and stops
    # (it said "connection lost, retrying" for ever).
    driver.get(f"{base}/team/blue")
    told = lambda d: d.execute_script("const l = document.getElementById('login'), c = document.getElementById('conn');"
                                      "return !l.hidden ? 'login' : c && !c.hidden && c.dataset.refused ? 'refused' : null")
    seen["other_console"] = wait.until(told)
    seen["other_console_conn"] = driver.execute_script("const c = document.getElementById('conn'); return c && !c.hidden ? c.textContent : ''")

    # At phone width the console is one column, nothing wider than the screen.
    driver.set_window_size(390, 844)
    driver.get(f"{base}/team/{team}?token={token}")
    # The first update drawn (the score starts as "–") and the historian's minutes in the trend.
    wait.until(lambda d: d.find_element(By.ID, "total").text not in ("", "–") and d.find_element(By.ID, "trend").get_attribute("data-points"))
    # Opened again, the trends show the historian's last minutes at once.
    seen["reopened_trend"] = {"points": int(driver.find_element(By.ID, "trend").get_attribute("data-points")),
                              "at_s": float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-tick")) / 10}
    seen["phone"] = driver.execute_script(
        "return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " narrowest: Math.min(...[...document.querySelectorAll('main > *')].map(e => e.getBoundingClientRect().width)),"
        # What scrolls sideways inside the page: the process diagram pans at a size it can be
        # read at; tables are cards a row (the alerts and endpoints scrolled).
        " sideways: [...document.querySelectorAll('main *')].filter(e => e.id !== 'mimic' && e.scrollWidth > e.clientWidth + 1"
        " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => e.tagName + '#' + e.id + ' ' + e.textContent.slice(0, 30))}")
    seen["axe"]["team_phone"] = accessibility(driver)
    # A score part's points on one line ("0.0 /" over "100"; one judged at the hot wash says so
    # in words, which may wrap).
    seen["card_broken_phone"] = broken(driver, "#card tr:not([data-withheld]) td.num")
    driver.save_screenshot(f"{out}/team-console-phone.png")
    driver.set_window_size(1500, 1400)

    # The scoreboard, as an observer. A contest is blind: until the hot wash it shows no team's
    # score, and says so; the clock runs.
    # The drill's plant time as the board opens: its chart starts before, at the drill's start.
    opened = json.loads(urllib.request.urlopen(urllib.request.Request(f"{base}/api/drill", headers={"Authorization": f"Bearer {observer}"}), timeout=20).read())["at_s"]
    driver.get(f"{base}/?token={observer}")
    cells = lambda d: d.execute_script("return [...document.querySelectorAll('#board tbody tr')].map(r => [r.dataset.team, r.querySelector('.total').textContent])")
    wait.until(lambda d: len(cells(d)) == 2)
    seen["hidden_totals"] = sorted(set(t for _, t in cells(driver)))
    seen["ties_hidden_blind"] = driver.execute_script("return document.querySelector('#board + p.ties').hidden")
    seen["provisional_badge"] = driver.execute_script("return !document.getElementById('provisional').hidden")
    chart_shown = "return !document.getElementById('history').closest('section').hidden"
    seen["chart_shown_blind"] = driver.execute_script(chart_shown)
    clock = driver.find_element(By.ID, "clock").text
    wait.until(lambda d: d.find_element(By.ID, "clock").text != clock)
    seen["clock"] = driver.find_element(By.ID, "clock").text
    seq = int(wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-seq")))
    # The hot wash (the white cell's control): the open board shows the scores without a
    # reload, the team that acted ahead.
    request = urllib.request.Request(
        f"{base}/api/drill/control",
        data=json.dumps({"action": "hot_wash"}).encode(),
        headers={"Authorization": f"Bearer {instructor}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=20).read()
    board = lambda d: d.execute_script("return [...document.querySelectorAll('#board tbody tr')].map(r => [r.dataset.team, +r.querySelector('.total').textContent])")
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-seq")) > seq and board(d)[0][0] == team)
    seen["board"] = dict(board(driver))
    bloods = "return Object.fromEntries([...document.querySelectorAll('#board tbody tr')].filter(r => r.querySelector('.blood')).map(r => [r.dataset.team, r.querySelector('.blood').textContent]))"
    seen["first_blood"] = driver.execute_script(bloods)
    blood_titles = "return [...document.querySelectorAll('#board .blood')].map(b => b.title)"
    seen["first_blood_title"] = driver.execute_script(blood_titles)
    seen["brackets"] = driver.execute_script("return Object.fromEntries([...document.querySelectorAll('#board tbody tr')].filter(r => r.querySelector('.bracket').offsetParent !== null).map(r => [r.dataset.team, r.querySelector('.bracket').textContent]))")
    seen["provisional_badge_after"] = driver.execute_script("return !document.getElementById('provisional').hidden")
    seen["chart_shown_after"] = driver.execute_script(chart_shown)
    # The scoreboard in Chinese: nothing of its own UI left in English.
    driver.find_element(By.ID, "lang").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-i18n=rank]").text == "名次")
    seen["board_untranslated"] = untranslated(driver, "h1,h2,th,td,button,span,p", "#board td.name, #board td.bracket, .uplot")
    seen["first_blood_zh"] = driver.execute_script(bloods)
    seen["first_blood_title_zh"] = driver.execute_script(blood_titles)
    seen["axe"]["scoreboard"] = accessibility(driver)
    seen["history"] = driver.execute_script("return {points: +(document.getElementById('history').dataset.points || 0), canvases: document.querySelectorAll('#history canvas').length, from: +document.getElementById('history').dataset.from}")
    seen["history"]["opened"] = opened
    # One denominator serves every team.
    seen["ties_note"] = driver.find_element(By.CSS_SELECTOR, "#board + p.ties").text
    seen["denominators"] = driver.execute_script("return [...new Set([...document.querySelectorAll('#board td.detected')].map(t => t.textContent.split('/')[1].split(/[ (（]/)[0]))]")
    # Where fewer steps fired against a team than the attack has, how many did (its report's
    # denominator), in Chinese here.
    seen["fired"] = driver.execute_script("return [...document.querySelectorAll('#board tbody tr')].map(r => [r.querySelector('td.detected').textContent, r.querySelector('td.detected .fired') ? r.querySelector('td.detected .fired').textContent : null])")
    driver.save_screenshot(f"{out}/scoreboard.png")
    seen["board_phone"] = phone(driver, wait, driver.current_url, lambda d: d.find_elements(By.CSS_SELECTOR, "#board tbody tr"), f"{out}/scoreboard-phone.png")
    # A flat series (a frozen reading: the historian's f32 samples and the live f64 value) gets
    # a value scale around it: uPlot's own scaled the rounding between them (no axis ticks, no
    # visible line on the trend). Built with the pages' scales, and with uPlot's alone.
    seen["flat_chart"] = driver.execute_async_script("""
      const done = arguments[arguments.length - 1];
      const el = document.createElement('div'); document.body.appendChild(el);
      const make = scales => new uPlot({width: 300, height: 120, scales, series: [{}, {stroke: 'red'}]}, [[1, 2, 3], [1.100000023841858, 1.100000023841858, 1.1000000000000227]], el);
      const charts = {pages: make(valueScales()), uplot: make({x: {time: false}})};
      // Each chart sets its scales as it first draws: read them once the pages' has (a bound
      // of 120 frames).
      let frames = 0;
      const look = () => {
        if (charts.pages.scales.y.min == null && ++frames < 120) return requestAnimationFrame(look);
        const r = Object.fromEntries(Object.entries(charts).map(([k, u]) => [k, [u.scales.y.min, u.scales.y.max]]));
        Object.values(charts).forEach(u => u.destroy()); el.remove(); done(r);
      };
      look();""")
    # The white cell's console says each team's flags (solved, and other teams' submitted).
    driver.get(f"{base}/instructor?token={instructor}")
    wait.until(lambda d: "挑战" in d.execute_script("return document.querySelector('#teams [data-status]')?.textContent || ''"))
    seen["white_cell_flags"] = driver.execute_script("return document.querySelector('#teams [data-status]').textContent")
    seen["white_cell_sent"] = driver.execute_script("return document.querySelector('#teams [data-flags]').textContent")
    print(json.dumps(seen))
