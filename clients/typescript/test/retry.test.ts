import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SkinGuardClient } from "../src/client.js";
import { SkinGuardError } from "../src/errors.js";
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from "../src/retry.js";
import { prediction, type Reply, scriptedFetch } from "./helpers.js";

const photo = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]);
const refused = (status: number, retryAfter?: string): Reply => ({
  status,
  body: { error: status === 429 ? "rate_limited" : "serving_unavailable", detail: "try again" },
  headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter },
});

function client(replies: Reply[], options: { maxRetries?: number; maxDelayMs?: number; random?: () => number } = {}) {
  const { fetch, calls } = scriptedFetch(replies);
  const waits: number[] = [];
  const sdk = new SkinGuardClient({
    baseUrl: "http://gateway",
    fetch,
    cache: false,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    retry: { jitterMs: 100, ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }) },
    sleep: async (ms) => void waits.push(ms),
    random: options.random ?? (() => 0.5),
  });
  return { sdk, calls, waits };
}

describe("retries", () => {
  for (const status of [429, 503, 504]) {
    test(`${status} with Retry-After is retried after the wait it asks for, plus jitter`, async () => {
      const { sdk, calls, waits } = client([
        refused(status, "2"),
        refused(status, "1"),
        { status: 200, body: prediction(1) },
      ]);
      const answer = await sdk.predict(photo);
      assert.equal(answer.model.version, 1);
      assert.equal(calls.length, 3);
      assert.deepEqual(waits, [2050, 1050]);
    });
  }

  test("without Retry-After the waits double from baseDelayMs", async () => {
    const { sdk, waits } = client([refused(503), refused(503), refused(503), { status: 200, body: prediction(1) }], {
      random: () => 0,
    });
    await sdk.predict(photo);
    assert.deepEqual(waits, [500, 1000, 2000]);
  });

  test("attempts are bounded: maxRetries retries, then the last error", async () => {
    const { sdk, calls, waits } = client([refused(429, "1")], { maxRetries: 2 });
    const error = await sdk.predict(photo).then(
      () => assert.fail("resolved"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SkinGuardError);
    assert.equal(error.status, 429);
    assert.equal(error.error, "rate_limited");
    assert.equal(error.attempts, 3);
    assert.equal(calls.length, 3);
    assert.equal(waits.length, 2);
  });

  test("a Retry-After longer than maxDelayMs is not waited for", async () => {
    const { sdk, calls, waits } = client([refused(429, "45"), { status: 200, body: prediction(1) }], {
      maxDelayMs: 10_000,
    });
    await assert.rejects(sdk.predict(photo), (error: SkinGuardError) => error.retryAfterSeconds === 45);
    assert.equal(calls.length, 1);
    assert.deepEqual(waits, []);
  });

  test("no wait exceeds maxDelayMs, jitter included", async () => {
    const { sdk, waits } = client([refused(503, "10"), { status: 200, body: prediction(1) }], {
      maxDelayMs: 10_000,
      random: () => 0.999,
    });
    await sdk.predict(photo);
    assert.deepEqual(waits, [10_000]);
  });

  for (const status of [400, 403, 404, 409, 413, 415, 422, 500, 502]) {
    test(`${status} is never retried`, async () => {
      const { sdk, calls } = client([{ status, body: { error: "x", detail: "y" }, headers: { "Retry-After": "1" } }]);
      await assert.rejects(sdk.predict(photo), (error: SkinGuardError) => error.status === status);
      assert.equal(calls.length, 1);
    });
  }

  test("maxRetries 0 tries once", async () => {
    const { sdk, calls } = client([refused(503, "1"), { status: 200, body: prediction(1) }], { maxRetries: 0 });
    await assert.rejects(sdk.predict(photo));
    assert.equal(calls.length, 1);
  });

  test("network failures are retried for GET, not for POST", async () => {
    const health = { status: "healthy", model_loaded: true, model_version: 1, timestamp: "2026-01-01T00:00:00Z" };
    const get = client([new TypeError("fetch failed"), { status: 200, body: health }]);
    assert.equal((await get.sdk.health()).model_version, 1);
    assert.equal(get.calls.length, 2);
    const post = client([new TypeError("fetch failed"), { status: 200, body: prediction(1) }]);
    await assert.rejects(
      post.sdk.predict(photo),
      (error: SkinGuardError) => error.error === "network_error" && error.status === 0,
    );
    assert.equal(post.calls.length, 1);
  });

  test("the multipart upload is sent again whole on each attempt", async () => {
    const { sdk, calls } = client([refused(503, "1"), { status: 200, body: prediction(1) }]);
    await sdk.predict(photo, "lesion.png");
    for (const call of calls) {
      const form = call.body as FormData;
      const file = form.get("file") as File;
      assert.equal(file.name, "lesion.png");
      assert.deepEqual(new Uint8Array(await file.arrayBuffer()), photo);
    }
  });
});

describe("parseRetryAfter and retryDelay", () => {
  test("reads seconds and HTTP dates", () => {
    assert.equal(parseRetryAfter("7"), 7);
    assert.equal(parseRetryAfter(" 0 "), 0);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  test("gives up after maxRetries", () => {
    assert.equal(retryDelay({ ...DEFAULT_RETRY, maxRetries: 1 }, 1, 1), undefined);
    assert.equal(retryDelay({ ...DEFAULT_RETRY, jitterMs: 0 }, 0, 3), 3000);
  });
});
