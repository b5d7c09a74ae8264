import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import * as ort from "onnxruntime-node";

import { SkinGuardClient } from "../src/client.js";
import { DeviceClassifier, type ModelFileStore } from "../src/device.js";
import { SkinGuardError } from "../src/errors.js";
import { assess } from "../src/risk.js";
import type { CurrentModel } from "../src/types.js";
import { type Call, type Reply, scriptedFetch } from "./helpers.js";

// tests/clients/tiny_onnx.py: softmax(mean RGB / 255 @ WEIGHTS + BIAS), input 8 x 8.
const TINY = new Uint8Array(readFileSync(new URL("../../test/fixtures/tiny.onnx", import.meta.url)));
const WEIGHTS = [
  [-4, 4],
  [2, -2],
  [1, -1],
];
const BIAS = [0.5, -0.5];
const FILE_URL = "/models/skinguard/3/files/model.onnx";

function tinyProbabilities(input: Uint8Array): { benign: number; malignant: number } {
  const mean = [0, 1, 2].map((c) => {
    let sum = 0;
    for (let i = c; i < input.length; i += 3) sum += input[i];
    return sum / (input.length / 3) / 255;
  });
  const logits = [0, 1].map((k) => BIAS[k] + mean.reduce((total, value, c) => total + value * WEIGHTS[c][k], 0));
  const exp = logits.map((logit) => Math.exp(logit - Math.max(...logits)));
  return { benign: exp[0] / (exp[0] + exp[1]), malignant: exp[1] / (exp[0] + exp[1]) };
}

function currentModel(
  overrides: Partial<CurrentModel["formats"][number]> = {},
  formats?: CurrentModel["formats"],
): CurrentModel {
  return {
    model_name: "skinguard",
    version: 3,
    input_size: 8,
    class_names: ["benign", "malignant"],
    decision_threshold: 0.5,
    operating_point: { threshold: 0.5, sensitivity: null, specificity: null, target_sensitivity: null },
    risk_thresholds: { benign_low: 0.9, benign_low_medium: 0.7, malignant_high: 0.8, malignant_medium_high: 0.6 },
    preprocessing: {
      description: "to_model_input",
      input_shape: [1, 8, 8, 3],
      input_dtype: "uint8",
      channel_order: "RGB",
      test_time_augmentation: "none",
    },
    notice: "This is not a diagnosis.",
    card: null,
    formats: formats ?? [
      {
        format: "onnx",
        url: FILE_URL,
        file: "model.onnx",
        bytes: TINY.length,
        sha256: createHash("sha256").update(TINY).digest("hex"),
        runtime: "onnxruntime",
        input_dtype: "uint8",
        test_auc: 0.9,
        test_sensitivity: 0.8,
        test_specificity: 0.8,
        auc_drop: 0,
        within_tolerance: true,
        ...overrides,
      },
    ],
  };
}

function gateway(model: CurrentModel, file: Uint8Array = TINY): { client: SkinGuardClient; calls: Call[] } {
  const { fetch, calls } = scriptedFetch((call): Reply => {
    const path = new URL(call.url).pathname;
    if (path === "/models/current") {
      return call.headers.get("If-None-Match") === '"v3-etag"'
        ? { status: 304, headers: { ETag: '"v3-etag"' } }
        : { status: 200, body: model, headers: { ETag: '"v3-etag"' } };
    }
    if (path === FILE_URL) return { status: 200, body: file };
    return { status: 404, body: { error: "not_found", detail: path } };
  });
  return { client: new SkinGuardClient({ baseUrl: "http://gateway", fetch }), calls };
}

const dark = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).map((_, i) => [70, 45, 40][i % 3]) };

describe("DeviceClassifier", () => {
  test("downloads the served ONNX file, checks it and classifies like the server would", async () => {
    const { client, calls } = gateway(currentModel());
    const device = await DeviceClassifier.load({ client, ort });
    assert.equal(device.inputSize, 8);
    assert.deepEqual(
      calls.map((call) => new URL(call.url).pathname),
      ["/models/current", FILE_URL],
    );
    const result = await device.classify(dark);
    const expected = tinyProbabilities(new Uint8Array(8 * 8 * 3).map((_, i) => [70, 45, 40][i % 3]));
    assert.ok(Math.abs(result.probabilities.malignant - expected.malignant) < 1e-6);
    assert.ok(Math.abs(result.probabilities.benign - expected.benign) < 1e-6);
    assert.equal(result.source, "device");
    assert.deepEqual(result.model, { name: "skinguard", version: 3 });
    const rule = assess(result.probabilities, 0.5, currentModel().risk_thresholds);
    assert.equal(result.predicted_class, rule.predicted_class);
    assert.equal(result.risk_level, rule.risk_level);
    assert.equal(result.confidence, rule.confidence);
    assert.equal(result.notice, "This is not a diagnosis.");
    await device.release();
  });

  test("follows the class order the model publishes", async () => {
    const model = { ...currentModel(), class_names: ["malignant", "benign"] };
    const device = await DeviceClassifier.load({ client: gateway(model).client, ort, model });
    const swapped = await device.classify(dark);
    const expected = tinyProbabilities(new Uint8Array(8 * 8 * 3).map((_, i) => [70, 45, 40][i % 3]));
    assert.ok(Math.abs(swapped.probabilities.benign - expected.malignant) < 1e-6);
  });

  test("a file that does not match its published SHA-256 is refused", async () => {
    const tampered = TINY.slice();
    tampered[tampered.length - 1] ^= 1;
    const { client } = gateway(currentModel(), tampered);
    await assert.rejects(
      DeviceClassifier.load({ client, ort }),
      (error: SkinGuardError) => error.error === "model_integrity",
    );
  });

  test("a version without an ONNX file says so", async () => {
    const { client } = gateway(currentModel({}, []));
    await assert.rejects(
      DeviceClassifier.load({ client, ort }),
      (error: SkinGuardError) => error.error === "no_device_model",
    );
  });

  test("a file beyond the AUC tolerance is refused unless allowed", async () => {
    const model = currentModel({ auc_drop: 0.05, within_tolerance: false });
    await assert.rejects(DeviceClassifier.load({ client: gateway(model).client, ort }), SkinGuardError);
    const device = await DeviceClassifier.load({ client: gateway(model).client, ort, allowOutOfTolerance: true });
    assert.equal(device.format.within_tolerance, false);
  });

  test("a file store saves the download", async () => {
    const kept = new Map<string, Uint8Array>();
    const store: ModelFileStore = { get: (sha) => kept.get(sha), set: (sha, bytes) => void kept.set(sha, bytes) };
    const first = gateway(currentModel());
    await DeviceClassifier.load({ client: first.client, ort, fileStore: store });
    const second = gateway(currentModel());
    await DeviceClassifier.load({ client: second.client, ort, fileStore: store });
    assert.deepEqual(
      second.calls.map((call) => new URL(call.url).pathname),
      ["/models/current"],
    );
  });

  test("the model input must have the input size", async () => {
    const device = await DeviceClassifier.load({ client: gateway(currentModel()).client, ort });
    await assert.rejects(device.classifyModelInput(new Uint8Array(10)), RangeError);
  });

  test("isCurrent revalidates /models/current with its ETag", async () => {
    const { client, calls } = gateway(currentModel());
    const device = await DeviceClassifier.load({ client, ort });
    assert.equal(await device.isCurrent(), true);
    const last = calls.at(-1)!;
    assert.equal(last.headers.get("If-None-Match"), '"v3-etag"');
  });

  test("needs onnxruntime passed in", async () => {
    await assert.rejects(
      DeviceClassifier.load({ client: gateway(currentModel()).client, ort: {} as never }),
      TypeError,
    );
  });
});

describe("assess: the gateway's rule", () => {
  const thresholds = { benign_low: 0.9, benign_low_medium: 0.7, malignant_high: 0.8, malignant_medium_high: 0.6 };
  const cases: Array<[number, number, string, string]> = [
    // malignant, decision threshold -> class, risk (>= the decision threshold; > each risk bound)
    [0.5, 0.5, "Malignant", "medium"],
    [0.4999, 0.5, "Benign", "medium"],
    [0.6, 0.5, "Malignant", "medium"],
    [0.6001, 0.5, "Malignant", "medium-high"],
    [0.8, 0.5, "Malignant", "medium-high"],
    [0.81, 0.5, "Malignant", "high"],
    [0.3, 0.5, "Benign", "medium"],
    [0.29, 0.5, "Benign", "low-medium"],
    [0.1, 0.5, "Benign", "low-medium"],
    [0.05, 0.5, "Benign", "low"],
    [0.2, 0.15, "Malignant", "medium"],
  ];
  for (const [malignant, threshold, predicted, risk] of cases) {
    test(`malignant ${malignant} at threshold ${threshold}: ${predicted}, ${risk}`, () => {
      const result = assess({ benign: 1 - malignant, malignant }, threshold, thresholds);
      assert.equal(result.predicted_class, predicted);
      assert.equal(result.risk_level, risk);
      assert.equal(result.confidence, predicted === "Malignant" ? malignant : 1 - malignant);
    });
  }
});
