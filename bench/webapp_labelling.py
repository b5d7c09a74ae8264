"""Labelling speed in the real web app: a scripted keyboard user in headless Chromium.

Starts ingestion, annotation and the web app (``bench_stack``), uploads photos, signs in as the
annotator and labels them by key presses (B / M): first at a person's pace (one label every
``--think`` seconds), then as fast as each next photo appears. Prints labels per minute and the
time from a label key press to the next photo shown (measured in the page: the key's handler to
the frame after the photo is decoded), per phase. Figures, not assertions.

    .venv/bin/python bench/webapp_labelling.py [--paced 30] [--flat-out 60] [--think 0.5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from stack import bench_stack

from support.images import jpeg


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paced", type=int, default=30, help="labels at a person's pace")
    parser.add_argument("--flat-out", type=int, default=60, help="labels as fast as the photos appear")
    parser.add_argument("--think", type=float, default=0.5, help="seconds between labels when paced")
    args = parser.parse_args()
    photos = args.paced + args.flat_out + 1  # the last leaves an empty queue, not a next photo
    chromium = shutil.which("chromium") or sys.exit("Debian's chromium is needed: make browser")
    with bench_stack("sg-bench-webapp-", ["ingestion", "annotation", "webapp"]) as stack:
        ingestion = stack.services["ingestion"].url
        for seed in range(photos):
            answer = httpx.post(
                f"{ingestion}/api/images/upload",
                headers={"Authorization": f"Bearer {stack.keys['uploader']}"},
                files={"image": (f"{seed}.jpg", jpeg(seed=10_000 + seed), "image/jpeg")},
                timeout=30,
            )
            answer.raise_for_status()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(stack.services["webapp"].url + "/sign-in")
            page.get_by_label("API key").fill(stack.keys["annotator"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector(".viewer[aria-label^='Lesion photo']")
            phases = {}
            for phase, count, think in (("paced", args.paced, args.think), ("flat out", args.flat_out, 0.0)):
                started = time.perf_counter()
                for n in range(count):
                    shown = page.locator(".viewer").get_attribute("aria-label")
                    page.keyboard.press("b" if n % 2 else "m")
                    page.wait_for_function(
                        "(before) => document.querySelector('.viewer').getAttribute('aria-label') !== before",
                        arg=shown,
                    )
                    if think:
                        page.wait_for_timeout(think * 1000)
                phases[phase] = (count, time.perf_counter() - started)
            timings = page.evaluate("window.skinguardLabelTimings")
            browser.close()
    print("scripted keyboard user, headless Chromium; services, PostgreSQL, S3 and browser on this machine's cores")
    print(f"{'phase':<9} {'labels':>6} {'labels/min':>10} {'shown p50 ms':>12} {'p95 ms':>7} {'max ms':>7}")
    offset = 0
    for phase, (count, elapsed) in phases.items():
        part = timings[offset : offset + count]
        offset += count
        print(
            f"{phase:<9} {count:>6} {count / elapsed * 60:>10.0f} {statistics.median(part):>12.1f}"
            f" {percentile(part, 0.95):>7.1f} {max(part):>7.1f}"
        )
    print("target: key press -> next photo shown < 150 ms")


if __name__ == "__main__":
    main()
