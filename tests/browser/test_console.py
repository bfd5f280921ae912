"""What a support person does with the console, in headless Chromium against the local stack."""

from __future__ import annotations

import csv
import json
import time
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import WAIT, Console, origin, requests_seen, screenshot_path


def wait(driver: Any, condition: Any, message: str = "") -> Any:
    """Poll until the condition holds. The page re-renders its table on every answer, so an element
    found a moment ago may be gone by the time its text is read: that is "not yet", not a failure."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, WAIT, ignored_exceptions=ignored).until(condition, message)


def visible(driver: Any, css: str) -> Any:
    return wait(driver, seen.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} never showed")


def sign_in(driver: Any, console: Console, url: str | None = None) -> None:
    """Keyboard only: the page puts the focus in the user name field; Tab, then Enter submits."""
    driver.get(url or console.url)
    visible(driver, "#username")
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "username"
    active.send_keys(console.user, Keys.TAB)
    driver.switch_to.active_element.send_keys(console.password, Keys.ENTER)
    visible(driver, "#app")
    assert driver.find_element(By.ID, "who-name").text == console.user


def search(driver: Any, text: str, kind: str = "auto") -> None:
    """Type into the focused search box and press Enter, as a person would."""
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    Select(driver.find_element(By.ID, "kind")).select_by_value(kind)
    box.send_keys(Keys.ENTER)


def settled(driver: Any) -> None:
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("ready", "signed-out"))


def heading(driver: Any) -> str:
    return visible(driver, "#view-title").text


def shown_message_ids(driver: Any) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(\"table.results td[data-label='Message ID'] button\")].map(b => b.textContent)"
    )


def bulk_of(console: Console, size: int) -> str:
    bulks: dict[str, int] = {}
    for report in console.reports:
        bulks[report["bulkId"]] = bulks.get(report["bulkId"], 0) + 1
    return next(b for b, n in bulks.items() if n > size)


def test_sign_in_with_the_keyboard_and_find_a_message_by_its_id(page, console):
    report = console.reports[4]
    expected = console.lookup("/sms/3/reports", messageId=report["messageId"])["results"][0]
    sign_in(page, console)
    assert page.switch_to.active_element.get_attribute("id") == "q"
    search(page, report["messageId"])
    assert heading(page) == f"Message {report['messageId']}"
    assert page.switch_to.active_element.get_attribute("id") == "view-title"  # focus follows the answer

    badge = page.find_element(By.CSS_SELECTOR, ".facts .status")
    group = expected["status"]["groupName"]
    assert badge.text == group and f"s-{group.lower()}" in badge.get_attribute("class")  # colour and words
    sent = page.find_element(By.CSS_SELECTOR, ".timeline li:first-child time")
    local = page.execute_script(
        "return new Date(arguments[0]).toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'medium'})",
        sent.get_attribute("datetime"),
    )
    assert sent.text == local
    assert page.execute_script("return new Date(arguments[0]).getTime()", sent.get_attribute("datetime")) == page.execute_script(
        "return new Date(arguments[0].replace(/([+-]\\d\\d)(\\d\\d)$/, '$1:$2')).getTime()", expected["sentAt"]
    )
    assert json.loads(page.find_element(By.CSS_SELECTOR, "pre.raw").text) == expected

    number = page.find_element(By.CSS_SELECTOR, ".facts .phone .number")
    assert number.text != expected["to"] and number.text.endswith(expected["to"][-3:]) and "•" in number.text
    page.find_element(By.CSS_SELECTOR, ".facts .phone button").send_keys(Keys.ENTER)
    assert number.text == expected["to"]

    assert f"q={report['messageId']}" in page.current_url  # the URL holds the query: a link shows the same
    link = page.current_url
    page.get("about:blank")
    page.get(link)
    assert heading(page) == f"Message {report['messageId']}"


def test_a_bulk_draws_its_chart_pages_with_the_cursor_and_exports_what_is_shown(page, console, downloads):
    bulk = bulk_of(console, 20)
    summary = console.lookup(f"/bulks/{bulk}/summary")
    first = console.lookup("/sms/3/reports", bulkId=bulk, limit="20")
    second = console.lookup("/sms/3/reports", bulkId=bulk, limit="20", cursor=first["nextCursor"])
    sign_in(page, console)
    search(page, bulk)
    assert heading(page) == f"Bulk {bulk}"
    rects = page.find_elements(By.CSS_SELECTOR, "#bulk-chart rect")
    bars = {b.get_attribute("data-group"): int(b.get_attribute("data-count")) for b in rects}
    assert bars == summary["byStatusGroup"]
    labels = [t.text for t in page.find_elements(By.CSS_SELECTOR, "#bulk-chart text")]
    assert set(summary["byStatusGroup"]) <= set(labels)  # each bar is named, not only coloured
    assert page.find_element(By.ID, "bulk-messages").text == str(summary["messages"])
    assert page.find_element(By.ID, "bulk-rate").text == f"{summary['deliveryRate'] * 100:.1f} %"
    assert shown_message_ids(page) == [r["messageId"] for r in first["results"]]
    page.save_screenshot(str(screenshot_path()))

    page.find_element(By.XPATH, "//button[text()='Next page']").click()
    wait(page, lambda d: shown_message_ids(d) == [r["messageId"] for r in second["results"]], "page 2 never showed")
    page.find_element(By.XPATH, "//button[text()='Download this page as CSV']").click()
    wait(page, lambda _: any(p.suffix == ".csv" for p in downloads.iterdir()), "no CSV was downloaded")
    (saved,) = [p for p in downloads.iterdir() if p.suffix == ".csv"]
    rows = list(csv.DictReader(saved.read_text(encoding="utf-8").splitlines()))
    assert [r["messageId"] for r in rows] == [r["messageId"] for r in second["results"]]
    assert [r["statusGroup"] for r in rows] == [r["status"]["groupName"] for r in second["results"]]
    assert all("•" in r["to"] for r in rows)  # numbers stay masked in the file, as on the screen

    page.find_element(By.XPATH, "//button[text()='Previous page']").click()
    wait(page, lambda d: shown_message_ids(d) == [r["messageId"] for r in first["results"]], "page 1 never came back")


def test_a_phone_number_finds_the_messages_sent_to_it(page, console):
    """Through GET /sms/3/logs?destination=: the page lists every message sent to the number."""
    report = console.reports[7]
    sent_to = [r["messageId"] for r in console.reports if r["to"] == report["to"]]
    sign_in(page, console)
    search(page, "+" + report["to"])
    settled(page)
    assert not page.find_element(By.ID, "problem").is_displayed(), page.find_element(By.ID, "problem").text
    assert heading(page).startswith("Messages to ")
    assert set(sent_to) <= set(shown_message_ids(page))


def test_an_unknown_id_is_a_plain_404_message(page, console):
    sign_in(page, console)
    search(page, "no-such-message-or-bulk")
    problem = visible(page, "#problem")
    assert problem.text.startswith("Not found (404): No message and no bulk has the ID “no-such-message-or-bulk”")
    search(page, "no-such-bulk", kind="bulk")
    wait(page, lambda _: "No bulk has the ID “no-such-bulk”" in problem.text)


def test_a_wrong_password_is_said_in_plain_words(page, console):
    page.get(console.url)
    visible(page, "#username").send_keys(console.user)
    page.find_element(By.ID, "password").send_keys("not-the-password", Keys.ENTER)
    assert visible(page, "#sign-in-problem").text == "The user name or the password is not right."
    assert not page.find_element(By.ID, "app").is_displayed()


def test_an_expired_token_sends_the_user_back_to_sign_in_and_the_query_survives(page, console):
    message = console.reports[0]["messageId"]
    sign_in(page, console)
    search(page, message)
    assert heading(page) == f"Message {message}"
    console.authorizer.now = lambda: time.time() + 2 * 3600  # the ID token (1 hour) is now expired at the API
    search(page, console.reports[1]["messageId"])
    note = visible(page, "#sign-in-note")
    assert note.text == "Your session has expired. Please sign in again."
    assert page.execute_script("return sessionStorage.length") == 0
    assert not page.find_elements(By.CSS_SELECTOR, "#view *")  # nothing read before stays on screen
    console.authorizer.now = time.time
    active = page.switch_to.active_element  # the user name is kept: the focus waits in the password field
    assert active.get_attribute("id") == "password" and page.find_element(By.ID, "username").get_attribute("value") == console.user
    active.send_keys(console.password, Keys.ENTER)
    assert heading(page) == f"Message {console.reports[1]['messageId']}"


def test_sign_out_forgets_the_token(page, console):
    sign_in(page, console)
    assert "idToken" in page.execute_script("return sessionStorage.getItem('dlr-vault.console.session')")
    page.find_element(By.ID, "sign-out").click()
    assert visible(page, "#sign-in-note").text == "You have signed out."
    assert page.execute_script("return sessionStorage.length") == 0
    page.refresh()
    visible(page, "#username")
    assert not page.find_element(By.ID, "app").is_displayed()


def test_the_page_talks_to_its_own_origin_and_cognito_only_and_never_sends_an_api_key(page, console):
    bulk = bulk_of(console, 20)
    sign_in(page, console)
    search(page, console.reports[2]["messageId"])
    heading(page)
    search(page, bulk)
    wait(page, lambda d: heading(d) == f"Bulk {bulk}")
    page.find_element(By.XPATH, "//button[text()='Next page']").click()
    wait(page, lambda d: "page 2" in d.find_element(By.CSS_SELECTOR, "table.results caption").text)
    search(page, "missing-id")
    visible(page, "#problem")
    sent = requests_seen(page)
    origins = {origin(r["url"]) for r in sent if r["url"].startswith("http")}
    assert origins == {console.origin, origin(console.cognito)}, origins
    assert not [r["url"] for r in sent if not r["url"].startswith(("http", "blob:", "data:"))]
    assert not [r for r in sent if any(h.lower() == "x-api-key" for h in r.get("headers", {}))]
    refused = [e["message"] for e in page.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []


def test_a_first_sign_in_sets_a_new_password(page, console, aws):
    pool = console.authorizer.user_pool_id
    cognito = aws("cognito-idp")
    cognito.admin_create_user(UserPoolId=pool, Username="newcomer", TemporaryPassword="Temporary-pass-1", MessageAction="SUPPRESS")
    page.get(console.url)
    visible(page, "#username").send_keys("newcomer")
    page.find_element(By.ID, "password").send_keys("Temporary-pass-1", Keys.ENTER)
    visible(page, "#new-password").send_keys("Chosen-by-me-2026", Keys.ENTER)
    visible(page, "#app")
    assert page.find_element(By.ID, "who-name").text == "newcomer"


def test_phone_sized_screens_keep_everything_reachable_and_labelled(page, console):
    page.set_window_size(390, 844)
    try:
        sign_in(page, console)
        search(page, bulk_of(console, 20))
        heading(page)
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        header = page.execute_script("return document.querySelector('table.results thead').getBoundingClientRect().width")
        assert header <= 1  # one card per message, each cell named by its column
        label = page.execute_script("return getComputedStyle(document.querySelector('table.results td'), '::before').content")
        assert label == '"Status"'
        unlabelled = page.execute_script(
            "return [...document.querySelectorAll('input, select')]"
            ".filter(e => !document.querySelector(`label[for='${e.id}']`)).map(e => e.id)"
        )
        assert unlabelled == []
    finally:
        page.set_window_size(1280, 1000)


def test_the_page_is_served_with_a_strict_policy(console):
    import requests

    answer = requests.get(console.url, timeout=10)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy and f"connect-src 'self' {origin(console.cognito)};" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    html = answer.text
    assert "<script>" not in html and "style=" not in html and "<style" not in html  # nothing inline
    assert "api key" not in html.lower()


@pytest.mark.parametrize("path", ["/console/api/sms/3/reports?messageId=msg-5-0000001", "/console/api/bulks/BULK-000-5/summary"])
def test_the_console_api_answers_nobody_without_a_token(console, path):
    import requests

    assert requests.get(console.api_url + path, timeout=10).status_code == 401
    forged = "eyJhbGciOiJub25lIn0.eyJ0b2tlbl91c2UiOiJpZCJ9."
    assert requests.get(console.api_url + path, headers={"Authorization": forged}, timeout=10).status_code == 401
    with_key = requests.get(console.api_url + path, headers={"x-api-key": "local-api-key"}, timeout=10)
    assert with_key.status_code == 401  # an API key opens the machine routes, not the people's
