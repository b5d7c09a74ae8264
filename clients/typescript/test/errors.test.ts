import assert from "node:assert/strict";
import { test } from "node:test";

import { SkinGuardClient } from "../src/client.js";
import { isSkinGuardError, SkinGuardError } from "../src/errors.js";
import type { ErrorBody } from "../src/types.js";
import { scriptedFetch } from "./helpers.js";

const photo = new Uint8Array([0xff, 0xd8, 0xff]);

async function caught(promise: Promise<unknown>): Promise<SkinGuardError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSkinGuardError(error), `not a SkinGuardError: ${error}`);
    return error;
  }
  assert.fail("resolved");
}

test("a gateway error carries its status, {error, detail}, Retry-After and request id", async () => {
  const body: ErrorBody = { error: "image_too_blurry", detail: "The photo is too blurry to assess." };
  const { fetch } = scriptedFetch([{ status: 422, body, headers: { "X-Request-ID": "req-42" } }]);
  const error = await caught(new SkinGuardClient({ baseUrl: "http://gateway", fetch }).predict(photo));
  assert.ok(error instanceof Error);
  assert.equal(error.name, "SkinGuardError");
  assert.equal(error.status, 422);
  assert.equal(error.error, "image_too_blurry");
  assert.equal(error.detail, "The photo is too blurry to assess.");
  assert.equal(error.requestId, "req-42");
  assert.equal(error.retryAfterSeconds, undefined);
  assert.equal(error.attempts, 1);
  assert.equal(error.message, "image_too_blurry: The photo is too blurry to assess.");
  assert.deepEqual(error.toJSON(), body);
  assert.deepEqual(JSON.parse(JSON.stringify(error)), body);
});

test("a refusal's Retry-After is kept once the retries are spent", async () => {
  const { fetch } = scriptedFetch([
    { status: 503, body: { error: "model_unavailable", detail: "no model" }, headers: { "Retry-After": "5" } },
  ]);
  const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch, maxRetries: 0 });
  const error = await caught(client.health());
  assert.equal(error.retryAfterSeconds, 5);
  assert.equal(error.error, "model_unavailable");
});

test("a body that is not the gateway's JSON still gives a typed error", async () => {
  const { fetch } = scriptedFetch([{ status: 502, body: "<html>Bad Gateway</html>" }]);
  const error = await caught(new SkinGuardClient({ baseUrl: "http://gateway", fetch }).predict(photo));
  assert.equal(error.status, 502);
  assert.equal(error.error, "http_502");
  assert.equal(error.detail, "<html>Bad Gateway</html>");
});

test("no answer at all is status 0, network_error", async () => {
  const { fetch } = scriptedFetch([new TypeError("fetch failed")]);
  const error = await caught(new SkinGuardClient({ baseUrl: "http://gateway", fetch }).predict(photo));
  assert.equal(error.status, 0);
  assert.equal(error.error, "network_error");
  assert.ok(error.cause instanceof TypeError);
});

test("a 200 without JSON is invalid_response", async () => {
  const { fetch } = scriptedFetch([{ status: 200, body: "not json" }]);
  const error = await caught(new SkinGuardClient({ baseUrl: "http://gateway", fetch, cache: false }).predict(photo));
  assert.equal(error.error, "invalid_response");
});

test("feedback quotes the prediction's id and token; a 403 is a typed error", async () => {
  const { fetch, calls } = scriptedFetch([
    { status: 403, body: { error: "forbidden", detail: "the feedback token does not match" } },
  ]);
  const client = new SkinGuardClient({ baseUrl: "http://gateway/api/", fetch });
  const error = await caught(client.feedback({ prediction_id: "p1", feedback_token: "t1" }, "malignant", "biopsy"));
  assert.equal(error.status, 403);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, "http://gateway/api/feedback");
  assert.equal(calls[0].method, "POST");
  assert.equal(calls[0].headers.get("Content-Type"), "application/json");
  assert.deepEqual(JSON.parse(String(calls[0].body)), {
    prediction_id: "p1",
    feedback_token: "t1",
    actual_label: "malignant",
    comment: "biopsy",
  });
});
