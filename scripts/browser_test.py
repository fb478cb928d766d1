#!/usr/bin/env python3
"""The built-in pages in a real browser: Debian's Chromium, driven by Selenium through
Debian's chromedriver (no browser download).

Starts the debug build twice on SQLite with console email (once with VERIFY_CONFIRM_STEP),
registers through the API, takes the links from the printed emails and opens them in the
browser: the verification page (one click), the password prompt (two registrations waiting:
a wrong password, then the right one, typed and submitted with the keyboard only), the
confirm step (Tab to the button, Enter) and the reset form (keyboard only). Each page must
render under the service's strict CSP without console errors or CSP violations, and land on
the expected result. A screenshot of each page is written to --screenshots.
"""
import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "correct horse battery staple"
OTHER = "someone else's passphrase 7"
failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"  {'ok' if ok else 'FAILED'}: {name}" + ("" if ok else f" ({detail})"))
    if not ok:
        failures.append(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str, folder: Path, **extra: str):
        self.port = free_port()
        self.log = folder / f"server-{self.port}.log"
        env = {"PATH": "/usr/bin:/bin", "PORT": str(self.port), "METRICS_PORT": str(free_port()),
               "DATABASE_URL": f"sqlite:{folder}/db-{self.port}.sqlite", "BCRYPT_COST": "4",
               "EMAIL_COOLDOWN": "0", "LOG_LEVEL": "info", **extra}
        self.process = subprocess.Popen([binary, "serve"], env=env, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{self.base}/health/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.log}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: dict) -> int:
        request = urllib.request.Request(f"{self.base}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def links(self, path: str) -> list[str]:
        """Every link to `path` printed so far (the console transport prints each email)."""
        for _ in range(100):
            found = re.findall(rf"http://localhost:{self.port}{re.escape(path)}\?token=[A-Za-z0-9_-]+",
                               self.log.read_text(errors="replace"))
            if found:
                return list(dict.fromkeys(found))
            time.sleep(0.1)
        return []

    def wait_links(self, path: str, count: int) -> list[str]:
        for _ in range(100):
            found = self.links(path)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.links(path)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,700",
                     "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def console_problems(driver: webdriver.Chrome, status: int) -> list[str]:
    """Console errors and CSP violations since the last call. Chrome also logs the page's own
    status when it is not 2xx ("Failed to load resource: … 403"); for a page that answers
    with that status on purpose, that line is the expected answer, not a problem."""
    own_status = f"the server responded with a status of {status}"
    return [entry["message"] for entry in driver.get_log("browser")
            if (entry["level"] in ("SEVERE", "WARNING") or "Content Security Policy" in entry["message"])
            and not (entry.get("source") == "network" and own_status in entry["message"])]


def submit(driver: webdriver.Chrome, *keys: str) -> None:
    """Types `keys` into the focused element (the last one submits the form) and waits until
    the browser has left the page, so the next look is at the answer, not the form."""
    before = driver.find_element(By.TAG_NAME, "html")
    driver.switch_to.active_element.send_keys(*keys)
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(before))
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def page(driver: webdriver.Chrome, name: str, shots: Path, expect_title: str, status: int = 200) -> None:
    """Checks the page now shown and keeps a screenshot of it."""
    title = driver.find_element(By.TAG_NAME, "h1").text
    check(f"{name}: shows \"{expect_title}\"", title == expect_title, f"got \"{title}\"")
    problems = console_problems(driver, status)
    check(f"{name}: no console errors or CSP violations", not problems, "; ".join(problems))
    # The stylesheet applied under the CSP (allowed by its hash): the card has its white background.
    background = driver.find_element(By.TAG_NAME, "main").value_of_css_property("background-color")
    check(f"{name}: the inline style applied under the CSP", background in ("rgba(255, 255, 255, 1)", "rgb(255, 255, 255)"),
          background)
    driver.save_screenshot(str(shots / f"{name}.png"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="browser-test-"))
    server = Server(args.server, folder)
    confirming = Server(args.server, folder, VERIFY_CONFIRM_STEP="true")
    driver = browser()
    try:
        print("-- verification link, one registration: one click")
        server.post("/v1/register", {"email": "ada@example.com", "password": PASSWORD})
        link = server.wait_links("/v1/verify", 1)[0]
        driver.get(link)
        page(driver, "verify-confirmed", shots, "Email address confirmed")

        print("-- two registrations waiting: the link asks for its registration's password")
        server.post("/v1/register", {"email": "grace@example.com", "password": PASSWORD})
        owner_link = server.wait_links("/v1/verify", 2)[-1]
        server.post("/v1/register", {"email": "grace@example.com", "password": OTHER})
        server.wait_links("/v1/verify", 3)
        driver.get(owner_link)
        page(driver, "verify-password-prompt", shots, "Enter your password to confirm")
        focused = driver.switch_to.active_element
        check("the password field has the keyboard focus", focused.get_attribute("name") == "password")
        submit(driver, OTHER, Keys.ENTER)
        page(driver, "verify-password-mismatch", shots, "Enter your password to confirm", status=403)
        check("a wrong password says so and changes nothing",
              "not the password chosen at the registration" in driver.page_source)
        submit(driver, PASSWORD, Keys.ENTER)
        page(driver, "verify-password-confirmed", shots, "Email address confirmed")
        check("the right password activated the account",
              server.post("/v1/login", {"email": "grace@example.com", "password": PASSWORD}) == 200)

        print("-- VERIFY_CONFIRM_STEP=true: opening changes nothing; the button (keyboard) confirms")
        confirming.post("/v1/register", {"email": "lin@example.com", "password": PASSWORD})
        link = confirming.wait_links("/v1/verify", 1)[0]
        driver.get(link)
        page(driver, "verify-confirm-step", shots, "Confirm your email address")
        check("opening the link activated nothing",
              confirming.post("/v1/login", {"email": "lin@example.com", "password": PASSWORD}) == 401)
        driver.switch_to.active_element.send_keys(Keys.TAB)
        check("Tab reaches the confirm button", driver.switch_to.active_element.tag_name == "button")
        submit(driver, Keys.ENTER)
        page(driver, "verify-confirm-step-done", shots, "Email address confirmed")
        check("the button activated the account",
              confirming.post("/v1/login", {"email": "lin@example.com", "password": PASSWORD}) == 200)

        print("-- password reset form, keyboard only")
        server.post("/v1/password/forgot", {"email": "ada@example.com"})
        reset = server.wait_links("/v1/password/reset", 1)[0]
        driver.get(reset)
        page(driver, "reset-form", shots, "Choose a new password")
        driver.switch_to.active_element.send_keys(Keys.TAB)
        field = driver.switch_to.active_element
        check("Tab reaches the new-password field", field.get_attribute("name") == "password")
        submit(driver, "a brand new passphrase", Keys.ENTER)
        page(driver, "reset-done", shots, "Password changed")
        check("the new password works",
              server.post("/v1/login", {"email": "ada@example.com", "password": "a brand new passphrase"}) == 200)
        driver.get(reset)
        page(driver, "reset-used-link", shots, "Reset link already used", status=410)
    finally:
        driver.quit()
        server.stop()
        confirming.stop()
    print(f"browser: {'passed' if not failures else str(len(failures)) + ' failed'}; screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
