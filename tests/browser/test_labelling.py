"""An annotator labels ten photos by keyboard in the blind queue, with confidence and undo."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import screenshot, unlabelled_controls


def shown_image_id(page) -> str:
    label = page.locator(".viewer").get_attribute("aria-label") or ""
    match = re.search(r"[0-9a-f-]{36}", label)
    assert match, label
    return match.group(0)


def test_an_annotator_labels_ten_photos_by_keyboard(system, api, sign_in):
    for seed in range(1000, 1012):
        api.upload("uploader", seed=seed)
    page = sign_in("annotator")
    expect(page).to_have_url(re.compile(r"/label$"))
    progress = page.locator("#label-progress")
    expect(progress).to_contain_text("0 labelled")
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile("Lesion photo"))
    screenshot(page, "label")
    assert unlabelled_controls(page) == []

    chosen: dict[str, tuple[str, float]] = {}
    for n in range(10):
        image_id = shown_image_id(page)
        level, label = n % 5 + 1, ("malignant" if n % 2 else "benign")
        page.keyboard.press(str(level))
        page.keyboard.press(label[0])
        chosen[image_id] = (label, level / 5)
        expect(progress).to_contain_text(f"{n + 1} labelled")
        expect(page.locator(".viewer")).not_to_have_attribute("aria-label", re.compile(image_id))

    # U brings the last photo back; its new label supersedes the first (history keeps both).
    last = list(chosen)[-1]
    page.keyboard.press("u")
    expect(progress).to_contain_text("9 labelled")
    assert shown_image_id(page) == last
    page.keyboard.press("3")
    page.keyboard.press("b")
    chosen[last] = ("benign", 0.6)
    expect(progress).to_contain_text("10 labelled")

    def saved() -> dict[str, tuple[str, float]]:
        found = {}
        for image_id in chosen:
            history = api.call("annotator", "GET", "annotation", f"/api/images/{image_id}/annotations").json()
            current = [(a["label"], a["confidence"]) for a in history["annotations"] if a["current"]]
            if current:
                found[image_id] = current[0]
        return found

    expect(progress).to_contain_text("10 labelled")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Labelled')")
    for _ in range(50):  # the last label is sent in the background
        if saved() == {key: (label, round(confidence, 1)) for key, (label, confidence) in chosen.items()}:
            break
        page.wait_for_timeout(100)
    assert saved() == {key: (label, round(confidence, 1)) for key, (label, confidence) in chosen.items()}
    history = api.call("annotator", "GET", "annotation", f"/api/images/{last}/annotations").json()["annotations"]
    assert [a["current"] for a in history] == [True, False]

    timings = page.evaluate("window.skinguardLabelTimings")
    assert len(timings) >= 10  # key press -> next photo shown, measured by the page (bench prints them)


def test_a_label_given_after_undo_is_current_even_when_the_first_is_slow(system, api, sign_in):
    api.upload("uploader", seed=1050)
    page = sign_in("annotator")
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile("Lesion photo"))
    image_id = shown_image_id(page)
    held, sent = [], []
    page.on("request", lambda request: sent.append(request) if f"/images/{image_id}/annotate" in request.url else None)

    def hold_the_first(route):  # the first label's request waits until the test lets it go
        if held or image_id not in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route("**/annotate", hold_the_first)
    page.keyboard.press("5")
    page.keyboard.press("m")
    page.keyboard.press("u")
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile(image_id))
    page.keyboard.press("3")
    page.keyboard.press("b")
    page.wait_for_timeout(500)
    assert len(held) == 1 and len(sent) == 1  # the second label waits for the first
    held[0].continue_()
    for _ in range(50):
        history = api.call("annotator", "GET", "annotation", f"/api/images/{image_id}/annotations").json()[
            "annotations"
        ]
        if len(history) == 2:
            break
        page.wait_for_timeout(100)
    assert [(a["label"], a["confidence"], a["current"]) for a in history] == [
        ("benign", 0.6, True),
        ("malignant", 1.0, False),
    ]


def test_a_key_pressed_while_the_next_photo_loads_labels_nothing(system, api, sign_in):
    for seed in range(1060, 1062):
        api.upload("uploader", seed=seed)
    page = sign_in("annotator")
    held, labels = [], []
    page.on("request", lambda request: labels.append(request.url) if request.url.endswith("/annotate") else None)

    first: list[str] = []

    def hold_all_but_the_first(route):  # only the first photo of the queue reaches the page
        if first and route.request.url not in first:
            held.append(route)
        else:
            first.append(route.request.url)
            route.continue_()

    page.route("**/images/*/content", hold_all_but_the_first)
    page.reload()
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile("Lesion photo"))
    shown = shown_image_id(page)
    page.keyboard.press("b")
    # Wait for that label's answer: arriving after the next key, its status would replace the one
    # asserted below (seen on a loaded machine).
    expect(page.locator("#status")).to_contain_text("Labelled benign")
    page.keyboard.press("m")  # the next photo has not arrived: this must not label it
    expect(page.locator("#status")).to_contain_text("still loading")
    page.wait_for_timeout(300)
    assert len(labels) == 1 and f"/images/{shown}/annotate" in labels[0]
    for route in held:
        route.continue_()
    expect(page.locator(".viewer")).not_to_have_attribute("aria-label", re.compile(shown))
    assert len(labels) == 1


def test_skipping_and_going_back_by_arrow_keys(system, api, sign_in):
    for seed in range(1100, 1103):
        api.upload("uploader", seed=seed)
    page = sign_in("annotator")
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile("Lesion photo"))
    first = shown_image_id(page)
    page.keyboard.press("ArrowRight")
    expect(page.locator(".viewer")).not_to_have_attribute("aria-label", re.compile(first))
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".viewer")).to_have_attribute("aria-label", re.compile(first))
    # Zoom keys change the view, not the queue.
    page.keyboard.press("+")
    assert "scale(1.25)" in (page.locator(".viewer img").get_attribute("style") or "")
    page.keyboard.press("0")
    assert shown_image_id(page) == first
