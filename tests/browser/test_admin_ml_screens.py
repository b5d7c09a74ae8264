"""The admin's machine-learning screens in a real browser: freezing a dataset version and reading
its leakage report, starting and cancelling training jobs, promoting (and rolling back) a version
the gate rejected through the confirmation dialog, and the monitoring screen.

The photos of this file come from their own source (``SOURCE``) and its datasets filter on it, so
other browser tests' photos never enter them; the model has its own registry name (``MODEL``), so
promoting it changes nothing the gateway serves."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from support import images
from support.running_system import TINY_TRAINING

from .conftest import screenshot, unlabelled_controls

SOURCE = "admin-ml-screens"
MODEL = "ml-screens"
FIRST_SEED = 5100
PHOTOS = 16  # half benign, half malignant: 8/4/4 photos over the 0.5/0.25/0.25 splits, both classes in each
SPLITS = {"train": 0.5, "validation": 0.25, "test": 0.25}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TRAINING_SECONDS = 180


def learnable(seed: int, malignant: bool) -> bytes:
    """Benign: light and smooth; malignant: dark and mottled — learnable from 32x32 pixels."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 40 if malignant else 8, size=(224, 224, 3))
    pixels = np.clip((80 if malignant else 200) + noise, 0, 255).astype(np.uint8)
    return images.encode(Image.fromarray(pixels), "PNG")


@pytest.fixture(scope="module")
def labelled_photos(api) -> list[str]:
    """``PHOTOS`` photos of ``SOURCE`` uploaded and labelled by the importer."""
    ids = []
    for index in range(PHOTOS):
        seed = FIRST_SEED + index
        malignant = index % 2 == 1
        files = {"image": (f"ml-{seed}.png", learnable(seed, malignant), "image/png")}
        answer = api.call("importer", "POST", "ingestion", "/api/images/upload", files=files, data={"source": SOURCE})
        assert answer.status_code in (200, 201), answer.text
        ids.append(answer.json()["id"])
        api.label("importer", ids[-1], "malignant" if malignant else "benign")
    return ids


@pytest.fixture(scope="module")
def dataset(api, labelled_photos) -> dict:
    """A version of this file's photos frozen through the API, for the training tests."""
    body = {"name": "ml-screens-training", "seed": 3, "splits": SPLITS, "filters": {"sources": [SOURCE]}}
    answer = api.call("admin", "POST", "annotation", "/api/datasets", json=body)
    assert answer.status_code == 201, answer.text
    frozen = answer.json()
    assert frozen["image_count"] == PHOTOS
    for split, counts in frozen["leakage_report"]["splits"].items():
        assert counts["benign"] and counts["malignant"], (split, counts)
    return frozen


def versions_of_model(api) -> list[dict]:
    answer = api.call("admin", "GET", "annotation", f"/api/models?name={MODEL}")
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def open_screen(page: Page, base: str, path: str, heading: str) -> None:
    page.goto(base + path)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def start_job(page: Page, base: str, dataset: dict, config: dict | None = None) -> str:
    """Start a Quick check job from the Training screen (``config`` replacing the preset's JSON); its id."""
    open_screen(page, base, "/training", "Training")
    page.get_by_label("Dataset version").select_option(value=dataset["id"])
    page.get_by_label("Model name").fill(MODEL)
    page.get_by_label("Recipe preset").select_option(label="Quick check")
    config_box = page.get_by_label("Training config (JSON)")
    expect(config_box).to_have_value(re.compile(r'"model_type": "CNN"'))
    preset = json.loads(config_box.input_value())
    assert preset == TINY_TRAINING  # the "Quick check" preset is the tests' tiny CNN
    if config is not None:
        config_box.fill(json.dumps({**preset, **config}, indent=2))
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(rf"/training/{UUID}$"))
    expect(page.get_by_role("heading", name=re.compile(r"^Training job "))).to_be_visible()
    return page.url.rsplit("/", 1)[1]


def test_freeze_a_dataset_and_read_its_leakage_report(system, sign_in, labelled_photos):
    page = sign_in("admin")
    page.get_by_role("navigation", name="Screens").get_by_role("link", name="Datasets").click()
    expect(page.get_by_role("heading", name="Freeze a new dataset version")).to_be_visible()

    page.get_by_label("Name").fill("ml-screens-ui")
    page.get_by_label("Description").fill("Frozen from the browser test")
    page.get_by_label("Train", exact=True).fill("0.8")
    page.get_by_label("Validation", exact=True).fill("0.3")
    page.get_by_label("Test", exact=True).fill("0.1")
    page.get_by_role("button", name="Freeze dataset version").click()
    # The server's validation error, as written.
    expect(page.get_by_role("alert")).to_have_text("splits: Value error, split fractions must add up to 1, not 1.2")

    page.get_by_label("Train", exact=True).fill("0.5")
    page.get_by_label("Validation", exact=True).fill("0.25")
    page.get_by_label("Test", exact=True).fill("0.25")
    page.get_by_label("Seed").fill("3")
    page.get_by_label("Sources").fill(SOURCE)
    page.get_by_role("button", name="Freeze dataset version").click()
    page.wait_for_url(re.compile(rf"/datasets/{UUID}$"))
    dataset_id = page.url.rsplit("/", 1)[1]

    expect(page.get_by_role("heading", name=re.compile(r"^Dataset ml-screens-ui v\d+$"))).to_be_visible()
    expect(page.get_by_role("heading", name="Leakage report")).to_be_visible()
    expect(page.get_by_text("No leakage: no lesion, patient, near-duplicate or group is shared")).to_be_visible()
    report = page.locator("table", has=page.get_by_text("Photos and leakage groups per split"))
    rows = report.locator("tbody tr")
    expect(rows).to_have_count(3)
    images_per_split = [int(rows.nth(index).locator("td").nth(1).inner_text()) for index in range(3)]
    assert sum(images_per_split) == PHOTOS and all(images_per_split)
    split_chart = page.get_by_role("img", name=re.compile(r"^Photos per split and class\. train: benign \d+"))
    expect(split_chart).to_be_visible()
    per_source = re.compile(rf"^Photos per source and class\. {SOURCE}: benign 8, malignant 8")
    source_chart = page.get_by_role("img", name=per_source)
    expect(source_chart).to_be_visible()

    export = page.get_by_role("link", name="Export (JSON manifest)")
    assert export.get_attribute("href") == f"/api/annotation/datasets/{dataset_id}/export"
    assert export.get_attribute("download") is not None
    manifest = page.request.get(system.urls["webapp"] + export.get_attribute("href"))  # the session cookie
    assert manifest.ok, manifest.text()
    assert sorted(image["id"] for image in manifest.json()["images"]) == sorted(labelled_photos)
    screenshot(page, "admin-dataset")
    assert unlabelled_controls(page) == []

    page.get_by_role("link", name="← All datasets").click()
    expect(page.get_by_role("link", name="ml-screens-ui").first).to_be_visible()
    screenshot(page, "admin-datasets")
    assert unlabelled_controls(page) == []


def test_start_a_quick_check_and_cancel_it(system, sign_in, api, dataset):
    page = sign_in("admin")
    base = system.urls["webapp"]

    # An invalid config is refused by the server, with its reason shown as written.
    open_screen(page, base, "/training", "Training")
    page.get_by_label("Dataset version").select_option(value=dataset["id"])
    page.get_by_label("Training config (JSON)").fill('{"model_type": "CNN", "epochs": 0}')
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("alert")).to_have_text("config.epochs: Input should be greater than or equal to 1")

    # Many epochs: still training when the cancel arrives. The page follows the job as it runs.
    job_id = start_job(page, base, dataset, {"epochs": 500})
    status = page.locator("[role=status].progress-line")
    expect(status).to_contain_text(re.compile(r"training, epoch \d+ of 500"), timeout=TRAINING_SECONDS * 1000)
    expect(status.locator(".pill")).to_have_text("running")
    assert unlabelled_controls(page) == []
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#status")).to_contain_text(re.compile(r"Cancel requested|cancelled"))
    expect(status.locator(".pill")).to_have_text("cancelled", timeout=60_000)
    expect(page.get_by_role("button", name=re.compile("Cancel"))).to_be_hidden()
    job = api.call("admin", "GET", "annotation", f"/api/training-jobs/{job_id}").json()
    assert job["state"] == "cancelled" and job["cancel_requested"] and job["model_version"] is None
    assert job["error"] == "cancelled while training"
    screenshot(page, "admin-training-cancelled")

    open_screen(page, base, "/training", "Training")
    row = page.locator("tr", has=page.get_by_role("link", name=job_id[:8]))
    expect(row.locator(".pill")).to_have_text("cancelled")
    screenshot(page, "admin-training")
    assert unlabelled_controls(page) == []


def test_train_a_version_and_promote_it_through_the_dialog(system, sign_in, api, dataset):
    page = sign_in("admin")
    base = system.urls["webapp"]
    job_id = start_job(page, base, dataset)

    status = page.locator("[role=status].progress-line")
    expect(status.locator(".pill")).to_have_text("succeeded", timeout=TRAINING_SECONDS * 1000)
    job = api.call("admin", "GET", "annotation", f"/api/training-jobs/{job_id}").json()
    version = job["model_version"]
    assert job["state"] == "succeeded" and version
    # Both epochs drawn from progress.history. The gate (AUC >= 1, ECE <= 0 here) rejects nearly
    # every version; a tiny test split can still reach both, so a promoted one is withdrawn first.
    expect(page.get_by_role("img", name=re.compile(r"^Loss per epoch\. training loss: 2 points"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^AUC per epoch\. training AUC: 2 points"))).to_be_visible()
    expect(page.get_by_role("cell", name="loss", exact=True)).to_be_visible()
    gate_promoted = versions_of_model(api)[0]["gate"]["promote"]
    expect(page.locator("dd .pill")).to_have_text("passed" if gate_promoted else "rejected")
    screenshot(page, "admin-training-job")
    assert unlabelled_controls(page) == []
    if gate_promoted:
        withdrawn = api.call("admin", "POST", "annotation", f"/api/models/{MODEL}/{version}/rollback")
        assert withdrawn.status_code == 200, withdrawn.text

    open_screen(page, base, "/models", "Models")
    row = page.locator("tr", has=page.get_by_role("link", name=f"v{version}")).filter(has_text=MODEL)
    expect(row.locator(".pill").first).to_have_text("rejected")
    expect(row).to_contain_text("promoted: " if gate_promoted else "rejected: ")
    screenshot(page, "admin-models")
    assert unlabelled_controls(page) == []

    row.get_by_role("link", name=f"v{version}").click()
    page.wait_for_url(re.compile(rf"/models/{MODEL}/{version}$"))
    heading = page.get_by_role("heading", name=re.compile(rf"^Model {MODEL} version {version}"))
    expect(heading.locator(".pill")).to_have_text("rejected")
    expect(page.get_by_role("heading", name="Not a diagnosis")).to_be_visible()
    expect(page.get_by_role("heading", name="Limitations")).to_be_visible()
    plot = page.get_by_role("img", name=f"Training curves of {MODEL} version {version}")
    plot.scroll_into_view_if_needed()
    expect(plot).to_be_visible()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=plot.element_handle())

    # The dialog names what will be served; Cancel changes nothing.
    page.get_by_role("button", name=f"Promote version {version}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Serve {MODEL} version {version}? No version of {MODEL} is served now.")
    if not gate_promoted:
        expect(dialog).to_contain_text("The gate rejected it")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert versions_of_model(api)[0]["status"] == "rejected"

    page.get_by_role("button", name=f"Promote version {version}").click()
    dialog.get_by_role("button", name=f"Serve version {version}").click()
    expect(page.get_by_role("status").filter(has_text="is promoted: it is served now").first).to_be_visible()
    expect(heading.locator(".pill")).to_have_text("promoted")
    (served,) = versions_of_model(api)
    assert served["version"] == version and served["status"] == "promoted"
    assert served["gate"]["override"] == "promoted by a person"
    screenshot(page, "admin-model-version")
    assert unlabelled_controls(page) == []

    # Rolling it back: nothing was promoted before it, so nothing of this model is served.
    page.get_by_role("button", name=f"Roll back version {version}").click()
    expect(dialog).to_contain_text(
        f"Stop serving {MODEL} version {version}? "
        f"No earlier version was promoted, so no version of {MODEL} will be served."
    )
    dialog.get_by_role("button", name=f"Stop serving version {version}").click()
    expect(page.get_by_role("status").filter(has_text=f"no version of {MODEL} is served now").first).to_be_visible()
    expect(heading.locator(".pill")).to_have_text("rejected")
    assert versions_of_model(api)[0]["status"] == "rejected"


def test_monitoring_screen_renders(system, sign_in):
    page = sign_in("admin")
    open_screen(page, system.urls["webapp"], "/monitoring", "Monitoring")
    predictions = page.locator("section", has=page.get_by_role("heading", name="Predictions", exact=True))
    performance = page.locator("section", has=page.get_by_role("heading", name="Live performance (from feedback)"))
    with page.expect_response(lambda response: "window_hours=168" in response.url):
        page.get_by_label("Time window").select_option(label="Last 7 days")
    for section in (predictions, performance):
        expect(section.locator("[aria-busy]")).to_have_count(0)
        expect(section.get_by_role("alert")).to_have_count(0)
    # Other tests may or may not have asked for predictions: an empty state or the charts.
    expect(predictions.locator("p.empty, figure").first).to_be_visible()
    expect(performance.locator("p.empty, table.matrix").first).to_be_visible()
    expect(predictions.get_by_text("Predictions", exact=True).first).to_be_visible()
    screenshot(page, "admin-monitoring")
    assert unlabelled_controls(page) == []
