"""Sign-in, roles, sign-out and the web app's security rules, in the browser and on the wire."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from redis import Redis

from .conftest import DESKTOP, screenshot, unlabelled_controls


def test_a_wrong_key_is_refused_with_the_reason(system, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(system.urls["webapp"] + "/label")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/label$"))
    page.get_by_label("API key").fill("sg_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("this API key is unknown or revoked")
    assert context.cookies() == []
    screenshot(page, "sign-in-refused")
    assert unlabelled_controls(page) == []
    context.close()


def test_an_annotator_sees_only_labelling_and_is_refused_admin_urls(system, sign_in):
    page = sign_in("annotator")
    expect(page.get_by_role("navigation", name="Screens").get_by_role("link")).to_have_text(["Label"])
    answer = page.goto(system.urls["webapp"] + "/datasets")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="Not available to you")).to_be_visible()
    screenshot(page, "forbidden")
    api = page.request.get(system.urls["webapp"] + "/api/annotation/datasets")
    assert api.status == 403 and api.json()["error"] == "forbidden"


def test_the_session_is_an_httponly_cookie_and_sign_out_revokes_it(system, sign_in):
    page = sign_in("admin")
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (
        "sg_session", True, True, "Strict"
    )  # fmt: skip
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    # Redis keeps neither the session id nor the API key in a usable form.
    redis = Redis(port=system.ports["redis"])
    stored = b"".join(redis.get(key) or b"" for key in redis.scan_iter("webapp:session:*"))
    assert stored and system.keys["admin"].encode() not in stored and cookie["value"].encode() not in stored

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    replay = httpx.get(system.urls["webapp"] + "/session", cookies={"sg_session": cookie["value"]})
    assert replay.status_code == 401 and replay.json()["error"] == "no_session"


def test_cookie_writes_need_the_csrf_token_and_this_origin(system, sign_in):
    page = sign_in("annotator")
    [cookie] = page.context.cookies()
    token = page.request.get(system.urls["webapp"] + "/session").json()["csrf_token"]
    url = system.urls["webapp"] + "/api/annotation/images/00000000-0000-0000-0000-000000000000/annotate"
    cookies = {"sg_session": cookie["value"]}
    missing = httpx.post(url, cookies=cookies, json={"label": "benign"})
    assert missing.status_code == 403 and missing.json()["error"] == "csrf_failed"
    foreign = httpx.post(
        url,
        cookies=cookies,
        json={"label": "benign"},
        headers={"x-csrf-token": token, "origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["error"] == "cross_origin"
    allowed = httpx.post(url, cookies=cookies, json={"label": "benign"}, headers={"x-csrf-token": token})
    assert allowed.status_code == 404  # through to the annotation service: no such image
    unknown = httpx.get(system.urls["webapp"] + "/api/metrics/x", cookies=cookies)
    assert unknown.status_code == 404


def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(system, sign_in):
    page = sign_in("admin")
    origin = system.urls["webapp"]
    requested: list[str] = []
    violations: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    answer = page.goto(origin + "/images")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    expect(page.get_by_role("heading", name="Images")).to_be_visible()
    assert requested and all(url.startswith((origin, "blob:", "data:")) for url in requested), requested
    assert violations == []
    inline = page.evaluate("[...document.scripts].filter((s) => !s.src).length")
    assert inline == 0
