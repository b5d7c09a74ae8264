"""An admin settles a dispute side by side; agreement shows kappas."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import screenshot, unlabelled_controls


def test_an_admin_adjudicates_a_dispute(system, api, sign_in):
    image = api.upload("importer", seed=2000)
    api.label("importer", image["id"], "benign", 0.8)
    api.label("annotator", image["id"], "malignant", 0.6)
    page = sign_in("admin")
    page.goto(system.urls["webapp"] + "/adjudication")
    page.get_by_role("button", name=f"Open dispute {image['id'][:8]}").click()
    labels = page.get_by_role("table", name="Current labels, side by side")
    expect(labels).to_contain_text("benign")
    expect(labels).to_contain_text("malignant")
    expect(labels).to_contain_text("0.8")
    expect(labels).to_contain_text("0.6")
    screenshot(page, "adjudication")
    assert unlabelled_controls(page) == []

    page.get_by_label("Note (kept with the decision)").fill("asymmetric, several colours")
    page.get_by_role("button", name="Decide malignant").click()
    expect(page.locator("#status")).to_contain_text(f"Decided malignant for {image['id'][:8]}")
    expect(page.get_by_role("button", name=f"Open dispute {image['id'][:8]}")).to_have_count(0)

    decided = api.call("admin", "GET", "annotation", f"/api/images/{image['id']}/annotations").json()
    assert decided["consensus"]["label"] == "malignant" and decided["consensus"]["adjudicated"] is True
    assert decided["consensus"]["disputed"] is False
    [decision] = decided["adjudications"]
    assert decision["note"] == "asymmetric, several colours" and decision["current"] is True


def test_agreement_shows_the_pairs_kappa(system, api, sign_in):
    for seed, (first, second) in zip(
        range(2100, 2104),
        [("benign", "benign"), ("malignant", "malignant"), ("benign", "malignant"), ("malignant", "malignant")],
        strict=True,
    ):
        image = api.upload("importer", seed=seed)
        api.label("importer", image["id"], first)
        api.label("annotator", image["id"], second)
    expected = api.call("admin", "GET", "annotation", "/api/annotations/agreement").json()
    page = sign_in("admin")
    page.goto(system.urls["webapp"] + "/agreement")
    expect(page.locator("#fleiss-kappa")).to_have_text(f"{expected['fleiss_kappa']:.3f}")
    heatmap = page.get_by_role("table", name="Cohen's kappa per pair of annotators")
    [pair] = expected["pairs"]
    expect(heatmap).to_contain_text(f"{pair['cohen_kappa']:.2f} ({pair['images']})")
    screenshot(page, "agreement")
    assert unlabelled_controls(page) == []
