"""Upload by the file picker (drag and drop uses the same path), the gallery and a record's page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from support import images

from .conftest import screenshot, unlabelled_controls


def test_an_uploader_uploads_sees_refusals_as_written_and_finds_the_photo(system, api, sign_in, tmp_path):
    page = sign_in("uploader")
    expect(page).to_have_url(re.compile(r"/images$"))
    photo = tmp_path / "mole.jpg"
    photo.write_bytes(images.jpeg(seed=3000))
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_bytes(b"these are notes, not a photo")
    expected = api.call(
        "uploader", "POST", "ingestion", "/api/images/upload", files={"image": ("x.jpg", not_an_image.read_bytes())}
    ).json()["detail"]

    page.get_by_label("Body site").fill("back")
    page.get_by_label("Or choose files").set_input_files([str(photo), str(not_an_image)])
    results = page.get_by_role("list", name="Upload results")
    expect(results).to_contain_text(f"notes.jpg: refused — {expected}")
    expect(results).to_contain_text(re.compile(r"mole\.jpg: stored as [0-9a-f]{8}"))
    screenshot(page, "images")
    assert unlabelled_controls(page) == []

    short = re.search(r"mole\.jpg: stored as ([0-9a-f]{8})", results.inner_text()).group(1)
    page.get_by_role("link", name=f"Photo {short}").click()
    expect(page.get_by_role("heading", name=f"Image {short}")).to_be_visible()
    expect(page.locator("dl.meta")).to_contain_text("back")
    screenshot(page, "image-record")


def test_an_admin_filters_the_gallery_by_consensus_and_resolution(system, api, sign_in):
    labelled = api.upload("importer", seed=3100, source="clinic-gallery")
    api.label("importer", labelled["id"], "malignant")
    api.upload("importer", seed=3101, source="clinic-gallery")
    page = sign_in("admin")
    page.goto(system.urls["webapp"] + "/images")
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Source").fill("clinic-gallery")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("list", name="Images").get_by_role("listitem")).to_have_count(2)
    filters.get_by_label("Consensus label").select_option("malignant")
    filters.get_by_role("button", name="Apply filters").click()
    gallery = page.get_by_role("list", name="Images")
    expect(gallery.get_by_role("listitem")).to_have_count(1)
    expect(gallery).to_contain_text(labelled["id"][:8])
    expect(gallery).to_contain_text("malignant")
