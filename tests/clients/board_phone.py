"""The scoreboard of a contest on a 390-px phone, in English and in Chinese (`?lang=`), as an
observer opens it: whether it fits the screen, and which headings and team names the
browser broke across lines (a word cut in two: "名/次", "gree/n").

Usage: board_phone.py BASE OBSERVER_TOKEN TEAMS OUT_DIR. Prints one JSON line."""

import json
import sys

from ui import chromium, failing

base, observer, teams, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

# Texts of the board's headings and team names laid out on more than one line.
BROKEN = """
const lines = e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; };
const texts = [...document.querySelectorAll('#board th')].filter(e => e.offsetParent !== null)
  .concat([...document.querySelectorAll('#board td.name .team-name')]);
return texts.filter(e => lines(e) > 1).map(e => e.textContent);
"""

# What a tapped badge shows: whether it took the focus, its tip's text, its title, and whether
# the page still fits the screen with the tip open.
TIP = """
const b = arguments[0];
return {focused: document.activeElement === b, shown: getComputedStyle(b, '::after').content,
        title: b.title, scroll: document.documentElement.scrollWidth};
"""

driver, wait = chromium(1000, 844)
# Sized once started (a window started narrower is widened to 500 px).
driver.set_window_size(390, 844)
seen = {}
with failing(driver, f"{out}/board-phone-failure.png"):
    for lang in ("en", "zh"):
        driver.get(f"{base}/?token={observer}&lang={lang}")
        wait.until(lambda d: len(d.find_elements("css selector", "#board tbody tr .blood")) > 0
                   and len(d.find_elements("css selector", "#board tbody tr")) == teams)
        seen[lang] = driver.execute_script(
            "return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
            " board: Math.round(document.getElementById('board').getBoundingClientRect().right)}")
        seen[lang]["broken"] = driver.execute_script(BROKEN)
        # A phone shows no title: tapping a first-blood badge shows the challenges it names.
        badge = driver.find_element("css selector", "#board tbody tr .blood")
        badge.click()
        seen[lang]["tip"] = driver.execute_script(TIP, badge)
        driver.save_screenshot(f"{out}/board-phone-{lang}-tip.png")
        driver.save_screenshot(f"{out}/board-phone-{lang}.png")
print(json.dumps(seen))
