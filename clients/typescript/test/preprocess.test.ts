import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { reduce, resizeArea, toModelInput, toRgb } from "../src/preprocess.js";
import { seededPixels } from "./helpers.js";

interface Case {
  width: number;
  height: number;
  channels: 3 | 4;
  pattern: "noise" | "gradient";
  seed: number;
  size: number;
  sha256: string;
  expected?: string;
}

const vectorsFile =
  process.env.SKINGUARD_PREPROCESS_VECTORS ?? new URL("../../test/fixtures/preprocess-vectors.json", import.meta.url);
const vectors = JSON.parse(readFileSync(vectorsFile, "utf8")) as { opencv: string; pillow: string; cases: Case[] };

for (const item of vectors.cases) {
  const name = `${item.width}x${item.height}x${item.channels} ${item.pattern} -> ${item.size}`;
  test(`toModelInput matches the server's to_model_input (OpenCV ${vectors.opencv}, Pillow ${vectors.pillow}): ${name}`, () => {
    const data = seededPixels(item.width, item.height, item.channels, item.pattern, item.seed);
    const input = toModelInput({ width: item.width, height: item.height, data, channels: item.channels }, item.size);
    assert.equal(input.length, item.size * item.size * 3);
    if (item.expected !== undefined) {
      const expected = Buffer.from(item.expected, "base64");
      const differing = input.reduce((count, value, i) => count + (value !== expected[i] ? 1 : 0), 0);
      assert.equal(differing, 0, `${differing} of ${input.length} bytes differ`);
    }
    assert.equal(createHash("sha256").update(input).digest("hex"), item.sha256);
  });
}

test("RGBA with opaque alpha is the RGB image; fully transparent pixels are white", () => {
  const rgba = new Uint8Array([10, 20, 30, 255, 40, 50, 60, 0]);
  assert.deepEqual([...toRgb({ width: 2, height: 1, data: rgba }).data], [10, 20, 30, 255, 255, 255]);
});

test("reduce and area resize of a constant image keep the constant", () => {
  const data = new Uint8Array(50 * 30 * 3).fill(77);
  const reduced = reduce({ width: 50, height: 30, data }, 3);
  assert.equal(reduced.width, 17);
  assert.equal(reduced.height, 10);
  assert.ok(reduced.data.every((value) => value === 77));
  assert.ok(resizeArea(reduced, 7, 4).data.every((value) => value === 77));
});

test("pixel buffers of the wrong length are refused", () => {
  assert.throws(() => toModelInput({ width: 4, height: 4, data: new Uint8Array(47) }, 2), RangeError);
});
