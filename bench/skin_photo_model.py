"""Fit and measure the gateway's "is this skin?" classifier (``skinguard_imaging.skin_photo``).

Skin: photos of ../shared/data (HAM10000, isic2020, kaggle-mvb); a random sample trains, every
other photo measures the false refusals. Not skin: the colour and grey pictures scikit-image and
scikit-learn ship (faces among them: the astronaut, the cat, coffee, a rocket, a page of text,
the moon...) and generated ones (documents, walls, skies, fields), each cut into crops; whole
pictures are held out, so refusals are measured on pictures the fit never saw. Writes the model
(standardisation, coefficients, threshold, the figures below) to
``services/imaging/skinguard_imaging/skin_photo_model.json`` and prints the figures.

    .venv/bin/python bench/skin_photo_model.py [--train-photos 1500] [--target-false-refusal 0.002]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skinguard_imaging import decode_rgb
from skinguard_imaging.skin_photo import skin_photo_features

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODEL = Path(__file__).resolve().parents[1] / "services" / "imaging" / "skinguard_imaging" / "skin_photo_model.json"


def shipped_pictures() -> dict[str, np.ndarray]:
    import skimage.data as data
    from sklearn.datasets import load_sample_images

    names = (
        "astronaut brick camera cat coffee coins colorwheel eagle grass gravel horse hubble_deep_field "
        "immunohistochemistry lily logo moon page retina rocket text"
    ).split()
    pictures = {}
    for name in names:
        try:
            picture = np.asarray(getattr(data, name)())
        except Exception:  # a picture that needs a download (offline here): skip it
            continue
        if picture.dtype == bool:
            picture = picture.astype(np.uint8) * 255
        if picture.ndim == 2:
            picture = np.repeat(picture[:, :, None], 3, axis=2)
        pictures[name] = np.ascontiguousarray(picture[:, :, :3].astype(np.uint8))
    pictures["stereo_motorcycle"] = np.asarray(data.stereo_motorcycle()[0])
    for index, picture in enumerate(load_sample_images().images):
        pictures[f"sklearn-{index}"] = picture
    return pictures


def generated_pictures(count: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    pictures = {}
    for index in range(count):
        kind = ("document", "wall", "sky", "field")[index % 4]
        if kind == "document":
            page = Image.new("RGB", (600, 800), tuple(int(v) for v in rng.integers(225, 256, 3)))
            draw = ImageDraw.Draw(page)
            for line in range(int(rng.integers(10, 40))):
                draw.text(
                    (40, 30 + line * 19),
                    "".join(random.Random(index * 97 + line).choices("abcdefgh ijk", k=60)),
                    fill=(20, 20, 20),
                )
            picture = np.asarray(page)
        elif kind == "wall":
            colour = rng.integers(60, 250, 3)
            picture = np.clip(colour + rng.normal(0, 4, (480, 640, 3)), 0, 255).astype(np.uint8)
        elif kind == "sky":
            top, bottom = np.array([70, 130, 220]) + rng.integers(-30, 30, 3), np.array([180, 210, 240])
            t = np.linspace(0, 1, 480)[:, None, None]
            picture = np.clip(top * (1 - t) + bottom * t + rng.normal(0, 3, (480, 640, 3)), 0, 255).astype(np.uint8)
        else:
            green = np.array([60, 140, 50]) + rng.integers(-25, 25, 3)
            picture = np.clip(green + rng.normal(0, 25, (480, 640, 3)), 0, 255).astype(np.uint8)
        pictures[f"{kind}-{index}"] = picture
    return pictures


def crops(picture: np.ndarray, count: int, rng: random.Random) -> list[np.ndarray]:
    height, width = picture.shape[:2]
    found = [picture]
    for _ in range(count):
        side = rng.uniform(0.4, 1.0)
        h, w = max(16, int(height * side)), max(16, int(width * side))
        y, x = rng.randrange(height - h + 1), rng.randrange(width - w + 1)
        found.append(picture[y : y + h, x : x + w])
    return found


def skin_photos() -> list[Path]:
    return sorted(path for path in DATA.rglob("*") if path.suffix.lower() in (".jpg", ".jpeg", ".png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-photos", type=int, default=1500)
    parser.add_argument("--target-false-refusal", type=float, default=0.002, help="on the training skin photos")
    args = parser.parse_args()
    rng = random.Random(7)
    photos = skin_photos()
    if not photos:
        print(f"no photos under {DATA}", file=sys.stderr)
        return 1
    rng.shuffle(photos)
    train_photos, held_photos = photos[: args.train_photos], photos[args.train_photos :]
    features_of = lambda path: skin_photo_features(decode_rgb(path.read_bytes(), max_side=1024))  # noqa: E731
    skin_train = np.stack([features_of(path) for path in train_photos])

    others = {**shipped_pictures(), **generated_pictures(40, seed=3)}
    names = sorted(others)
    rng.shuffle(names)
    held_names = set(names[: len(names) // 3])
    other_train = np.stack(
        [skin_photo_features(crop) for name in names if name not in held_names for crop in crops(others[name], 12, rng)]
    )
    scaler = StandardScaler().fit(np.concatenate([skin_train, other_train]))
    features = scaler.transform(np.concatenate([skin_train, other_train]))
    labels = np.r_[np.ones(len(skin_train)), np.zeros(len(other_train))]
    classifier = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(features, labels)
    train_scores = classifier.predict_proba(scaler.transform(skin_train))[:, 1]
    threshold = float(np.quantile(train_scores, args.target_false_refusal))

    def score(rows: np.ndarray) -> np.ndarray:
        return classifier.predict_proba(scaler.transform(rows))[:, 1]

    held_skin = score(np.stack([features_of(path) for path in held_photos]))
    per_source: dict[str, list[float]] = {}
    for path, value in zip(held_photos, held_skin, strict=True):
        per_source.setdefault(path.relative_to(DATA).parts[0], []).append(float(value))
    held_other = {name: float(score(skin_photo_features(others[name])[None])[0]) for name in sorted(held_names)}
    figures = {
        "skin photos held out": len(held_photos),
        "false refusals": float((held_skin < threshold).mean()),
        "false refusals per source": {s: float(np.mean(np.asarray(v) < threshold)) for s, v in per_source.items()},
        "non-skin pictures held out": len(held_other),
        "non-skin refused": float(np.mean([value < threshold for value in held_other.values()])),
        "non-skin passed": sorted(name for name, value in held_other.items() if value >= threshold),
    }
    MODEL.write_text(
        json.dumps(
            {
                "mean": scaler.mean_.tolist(),
                "scale": scaler.scale_.tolist(),
                "coefficients": classifier.coef_[0].tolist(),
                "intercept": float(classifier.intercept_[0]),
                "threshold": threshold,
                "measured": figures,
            },
            indent=1,
        )
        + "\n"
    )
    print(json.dumps(figures, indent=1))
    print(f"written: {MODEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
