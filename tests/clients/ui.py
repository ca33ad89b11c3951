"""What the browser scripts share: headless Chromium (Debian's chromium and chromedriver) and
the check that a page in Chinese leaves none of its own UI text in English."""

import sys
from contextlib import contextmanager

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


def chromium(width, height, lang="en-US"):
    """A headless Chromium window of `width` x `height`, and a 20 s wait on it."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}", f"--lang={lang}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    return driver, WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))


# Names that stay as they are in Chinese.
KEEP = r"^(PLC|Modbus|ATT&CK|Wireshark|pcapng|English|CSV|JSON|xlsx|ID|L|L1\/L2\/L3|t \(s\))$"


def untranslated(driver, elements, exclude=""):
    """The visible texts of `elements` (a selector list), outside `exclude`, with English words
    and no Chinese: what a page left untranslated."""
    return driver.execute_script(r"""
      const [elements, exclude, keep] = [arguments[0], arguments[1], new RegExp(arguments[2])];
      const own = e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join(" ").trim();
      return [...document.querySelectorAll(elements)]
        .filter(e => e.offsetParent !== null && !(exclude && e.closest(exclude)))
        .map(own).filter(t => /[A-Za-z]{3,}/.test(t) && !/[\u4e00-\u9fff]/.test(t) && !keep.test(t));
    """, elements, exclude, KEEP)


AXE = __import__("os").path.join(__import__("os").path.dirname(__file__), "../../target/axe/node_modules/axe-core/axe.min.js")


def accessibility(driver):
    """Serious and critical WCAG 2.1 A/AA violations axe-core (installed by scripts/test) finds
    on the page as it is now: [rule, impact, how many elements, the first element]."""
    with open(AXE) as f:
        driver.execute_script(f.read())
    return driver.execute_async_script("""
      const done = arguments[arguments.length - 1];
      axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
        .then(r => done(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
          .map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].target.join(" ")])))
        .catch(e => done([["axe-error", String(e), 0, ""]]));
    """)


def broken(driver, selector):
    """The texts of the elements `selector` finds that are laid out on more than one line."""
    return driver.execute_script("""
const lines = e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; };
return [...document.querySelectorAll(arguments[0])].filter(e => lines(e) > 1).map(e => e.textContent)""", selector)


def phone(driver, wait, url, ready, shot):
    """The page at `url` on a phone (390 x 844), once `ready(driver)`: its width against the
    window's, its accessibility, a screenshot to `shot`; the window is put back after."""
    size = driver.get_window_size()
    driver.set_window_size(390, 844)
    try:
        driver.get(url)
        wait.until(ready)
        seen = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
        seen["axe"] = accessibility(driver)
        driver.save_screenshot(shot)
        return seen
    finally:
        driver.set_window_size(size["width"], size["height"])


@contextmanager
def failing(driver, screenshot):
    """Runs a script's walk through its pages: should it fail, saves a screenshot to
    `screenshot` and the start of the page to standard error, then fails; quits the browser
    either way."""
    try:
        yield
    except Exception:
        driver.save_screenshot(screenshot)
        sys.stderr.write(driver.page_source[:4000] + "\n")
        raise
    finally:
        driver.quit()


# The process diagram's clashes, in diagram units: a text (with the widest position it can
# show, "100 % 就地", and every alarm indicator lit) over another symbol's text, over a
# vessel, across a pipe, or out of the canvas. The font's line spacing is allowed for (2
# units off each box's top and bottom).
MIMIC_CLASHES = r"""
const svg = document.querySelector('#mimic svg');
if (!svg) return ['no diagram'];
for (const e of svg.querySelectorAll('text.pos')) e.textContent = '100 % 就地';
for (const e of svg.querySelectorAll('rect.alm')) e.setAttribute('visibility', 'visible');
const vb = svg.viewBox.baseVal;
const box = e => { const b = e.getBBox(); return {e, name: e.id || e.textContent, x0: b.x, x1: b.x + b.width, y0: b.y + 2, y1: b.y + b.height - 2}; };
const texts = [...svg.querySelectorAll('text, rect.alm')].filter(e => e.getClientRects().length && (e.tagName !== 'text' || e.textContent.trim())).map(box);
const vessels = [...svg.querySelectorAll('rect.vessel')].map(box);
const meet = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
const group = x => x.e.closest('g');
const out = [];
for (let i = 0; i < texts.length; i++) {
  const a = texts[i];
  if (a.x0 < vb.x || a.x1 > vb.x + vb.width) out.push(`${a.name} leaves the canvas`);
  for (let j = i + 1; j < texts.length; j++)
    if (group(a) !== group(texts[j]) && meet(a, texts[j])) out.push(`${a.name} on ${texts[j].name}`);
  for (const v of vessels) if (group(a) !== group(v) && meet(a, v)) out.push(`${a.name} on a vessel`);
}
// Pipes are drawn with M, H and V only: each H or V a segment.
for (const p of svg.querySelectorAll('path.pipe')) {
  let x = 0, y = 0;
  for (const [, c, n] of p.getAttribute('d').matchAll(/([MHV])\s*([-\d.]+(?:\s+[-\d.]+)?)/g)) {
    const v = n.trim().split(/\s+/).map(Number);
    let seg = null;
    if (c === 'M') { [x, y] = v; continue; }
    if (c === 'H') { seg = {x0: Math.min(x, v[0]), x1: Math.max(x, v[0]), y0: y, y1: y}; x = v[0]; }
    if (c === 'V') { seg = {x0: x, x1: x, y0: Math.min(y, v[0]), y1: Math.max(y, v[0])}; y = v[0]; }
    for (const t of texts) if (t.x0 < seg.x1 + 0.5 && seg.x0 - 0.5 < t.x1 && t.y0 < seg.y1 + 0.5 && seg.y0 - 0.5 < t.y1)
      out.push(`${t.name} across the pipe of ${p.dataset.for}`);
  }
}
return out;
"""


def mimic_clashes(driver):
    """The team console's diagram clashes (see MIMIC_CLASHES); the page reloads after."""
    return driver.execute_script(MIMIC_CLASHES)
