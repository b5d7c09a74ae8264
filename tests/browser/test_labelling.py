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
