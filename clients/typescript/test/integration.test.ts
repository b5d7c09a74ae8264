// Against a running gateway: SKINGUARD_GATEWAY_URL=http://127.0.0.1:8002 npm test
// (tests/clients/test_typescript_sdk.py starts the whole system, trains a tiny model and runs
// these). Without the variable every test here is skipped.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as ort from "onnxruntime-node";

import { SkinGuardClient } from "../src/client.js";
import { DeviceClassifier } from "../src/device.js";
import { SkinGuardError } from "../src/errors.js";
import { encodePng, lesionPixels } from "./helpers.js";

const baseUrl = process.env.SKINGUARD_GATEWAY_URL;
const skip = baseUrl ? false : "SKINGUARD_GATEWAY_URL is not set";
/** Largest difference allowed between the device's and the server's probabilities. A PNG makes
 * the device's preprocessing exact, so what is left is ONNX Runtime against TensorFlow Serving
 * (about 1e-6); photos decoded by another JPEG decoder differ more. */
const DEVICE_TOLERANCE = 0.02;

// A 300 x 260 photo: over 4x a small model's input, so the reduction and INTER_AREA both run.
const WIDTH = 300;
const HEIGHT = 260;
const pixels = lesionPixels(WIDTH, HEIGHT, 11, true);
const photo = encodePng(WIDTH, HEIGHT, 3, pixels);

function recording(): { fetch: typeof fetch; statuses: Array<[string, number]> } {
  const statuses: Array<[string, number]> = [];
  return {
    statuses,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      statuses.push([new URL(String(input)).pathname, response.status]);
      return response;
    }) as typeof fetch,
  };
}

describe("against the gateway", { skip }, () => {
  test("health names the served version", async () => {
    const health = await new SkinGuardClient({ baseUrl: baseUrl! }).health();
    assert.equal(health.status, "healthy");
    assert.equal(health.model_loaded, true);
    assert.equal(typeof health.model_version, "number");
  });

  test("predict, the client cache, base64, feedback with its token", async () => {
    const { fetch, statuses } = recording();
    const client = new SkinGuardClient({ baseUrl: baseUrl!, fetch });
    const version = (await client.health()).model_version;
    const first = await client.predict(new Blob([(await photo) as BlobPart], { type: "image/png" }), "lesion.png");
    assert.equal(first.source, "server");
    assert.equal(first.from_client_cache, false);
    assert.equal(first.model.version, version);
    assert.deepEqual(first.image_quality.resolution, [WIDTH, HEIGHT]);
    assert.ok(Math.abs(first.probabilities.benign + first.probabilities.malignant - 1) < 1e-5);
    assert.equal(
      first.confidence,
      first.predicted_class === "Malignant" ? first.probabilities.malignant : first.probabilities.benign,
    );

    const second = await client.predict(await photo);
    assert.equal(second.from_client_cache, true);
    assert.equal(statuses.filter(([path]) => path === "/predict").length, 1, "the second came from the cache");

    const uncached = new SkinGuardClient({ baseUrl: baseUrl!, cache: false });
    const viaBase64 = await uncached.predictBase64(Buffer.from(await photo).toString("base64"));
    assert.equal(viaBase64.cached, true, "the gateway's own cache: the same pixels, the same version");
    assert.deepEqual(viaBase64.probabilities, first.probabilities);

    const recorded = await client.feedback(first, "malignant", "confirmed by biopsy");
    assert.equal(recorded.prediction_id, first.prediction_id);
    assert.equal(recorded.actual_label, "malignant");
    await assert.rejects(client.feedback(first, "benign"), (error: SkinGuardError) => error.status === 409);
    await assert.rejects(
      client.feedback({ prediction_id: viaBase64.prediction_id, feedback_token: first.feedback_token }, "benign"),
      (error: SkinGuardError) => error.status === 403 && typeof error.detail === "string",
    );
  });

  test("an unusable photo is a typed 422 with the gateway's reason", async () => {
    const small = await encodePng(16, 16, 3, lesionPixels(16, 16, 3));
    await assert.rejects(new SkinGuardClient({ baseUrl: baseUrl! }).predict(small), (error: unknown) => {
      assert.ok(error instanceof SkinGuardError);
      assert.equal(error.status, 422);
      assert.equal(error.error, "too_small");
      assert.match(error.detail, /16x16/);
      return true;
    });
  });

  test("currentModel describes the served version and revalidates with its ETag", async () => {
    const { fetch, statuses } = recording();
    const client = new SkinGuardClient({ baseUrl: baseUrl!, fetch });
    const health = await client.health();
    const model = await client.currentModel();
    assert.equal(model.version, health.model_version);
    assert.deepEqual(model.class_names, ["benign", "malignant"]);
    assert.deepEqual(model.preprocessing.input_shape, [1, model.input_size, model.input_size, 3]);
    assert.deepEqual(await client.currentModel(), model);
    assert.deepEqual(
      statuses.filter(([path]) => path === "/models/current").map(([, status]) => status),
      [200, 304],
    );
  });

  test(`the device's ONNX answers match the server's within ${DEVICE_TOLERANCE}`, async (context) => {
    const client = new SkinGuardClient({ baseUrl: baseUrl!, cache: false });
    const model = await client.currentModel();
    if (!model.formats.some((format) => format.format === "onnx")) {
      context.skip(`version ${model.version} has no onnx file`);
      return;
    }
    const device = await DeviceClassifier.load({ client, ort, model, allowOutOfTolerance: true });
    // The dark lesion (RGB), and a lighter one with transparency (RGBA: composited onto white).
    const light = lesionPixels(250, 230, 12, false);
    const rgba = new Uint8Array(250 * 230 * 4);
    for (let i = 0; i < 250 * 230; i++) {
      rgba.set(light.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = 150 + (i % 106);
    }
    const photos = [
      { pixels: { width: WIDTH, height: HEIGHT, data: pixels, channels: 3 as const }, bytes: await photo },
      {
        pixels: { width: 250, height: 230, data: rgba, channels: 4 as const },
        bytes: await encodePng(250, 230, 4, rgba),
      },
    ];
    for (const { pixels: image, bytes } of photos) {
      const local = await device.classify(image);
      const served = await client.predict(bytes);
      assert.equal(local.source, "device");
      assert.equal(served.source, "server");
      assert.deepEqual(local.model, served.model);
      const difference = Math.max(
        Math.abs(local.probabilities.benign - served.probabilities.benign),
        Math.abs(local.probabilities.malignant - served.probabilities.malignant),
      );
      context.diagnostic(
        `${image.channels === 4 ? "RGBA" : "RGB"} ${image.width}x${image.height}: device ` +
          `${JSON.stringify(local.probabilities)}, server ${JSON.stringify(served.probabilities)}, difference ${difference}`,
      );
      assert.ok(difference <= DEVICE_TOLERANCE, `difference ${difference}`);
      if (Math.abs(served.probabilities.malignant - model.decision_threshold) > DEVICE_TOLERANCE) {
        assert.equal(local.predicted_class, served.predicted_class);
        assert.equal(local.risk_level, served.risk_level);
      }
    }
    await device.release();
  });
});
