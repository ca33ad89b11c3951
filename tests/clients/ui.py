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
KEEP = r"^(PLC|Modbus|ATT&CK|Wireshark|pcapng|English|CSV|xlsx|ID|L|L1\/L2\/L3|t \(s\))$"


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
