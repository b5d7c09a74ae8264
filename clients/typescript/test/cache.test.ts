import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DAY_MS, MemoryStorage, PredictionCache } from "../src/cache.js";
import { SkinGuardClient } from "../src/client.js";
import { sha256Hex } from "../src/hash.js";
import type { PredictionOut } from "../src/types.js";
import { manualClock, prediction, scriptedFetch } from "./helpers.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const answer = (version: number, id = `pred-${version}`): PredictionOut => prediction(version, { prediction_id: id });

describe("PredictionCache", () => {
  test("is keyed by the image's SHA-256 and the model version", async () => {
    const storage = new MemoryStorage();
    const cache = new PredictionCache({ storage });
    await cache.put(A, answer(3));
    assert.deepEqual(storage.keys(), [`3:${A}`]);
    assert.equal((await cache.get(3, A))?.prediction_id, "pred-3");
    assert.equal(await cache.get(3, B), undefined, "other bytes");
    assert.equal(await cache.get(4, A), undefined, "another version");
  });

  test("keeps at most maxEntries, dropping the least recently used", async () => {
    const clock = manualClock();
    const cache = new PredictionCache({ maxEntries: 2, clock: clock.now });
    await cache.put("1".repeat(64), answer(1, "first"));
    clock.advance(1);
    await cache.put("2".repeat(64), answer(1, "second"));
    clock.advance(1);
    assert.ok(await cache.get(1, "1".repeat(64)), "used: now the most recent");
    clock.advance(1);
    await cache.put("3".repeat(64), answer(1, "third"));
    assert.equal(await cache.get(1, "2".repeat(64)), undefined, "the least recently used went");
    assert.equal((await cache.get(1, "1".repeat(64)))?.prediction_id, "first");
    assert.equal((await cache.get(1, "3".repeat(64)))?.prediction_id, "third");
    assert.equal([...(await cache.storage.keys())].length, 2);
  });

  test("uses in the same millisecond keep their order", async () => {
    const cache = new PredictionCache({ maxEntries: 2, clock: () => 5 });
    await cache.put(A, answer(1, "a"));
    await cache.put(B, answer(1, "b"));
    await cache.get(1, A);
    await cache.put("c".repeat(64), answer(1, "c"));
    assert.equal(await cache.get(1, B), undefined);
    assert.ok(await cache.get(1, A));
  });

  test("entries expire 24 hours after they were stored, used or not", async () => {
    const clock = manualClock();
    const cache = new PredictionCache({ clock: clock.now });
    assert.equal(cache.ttlMs, DAY_MS);
    await cache.put(A, answer(2));
    clock.advance(DAY_MS - 1);
    assert.ok(await cache.get(2, A), "just under a day");
    clock.advance(1);
    assert.equal(await cache.get(2, A), undefined, "a day old");
    assert.deepEqual([...(await cache.storage.keys())], [], "and removed");
  });

  test("expired entries are dropped when others are stored", async () => {
    const clock = manualClock();
    const cache = new PredictionCache({ clock: clock.now, ttlMs: 1000 });
    await cache.put(A, answer(2));
    clock.advance(1000);
    await cache.put(B, answer(2));
    assert.deepEqual([...(await cache.storage.keys())], [`2:${B}`]);
  });

  test("a new served version clears the entries of every other version", async () => {
    const cache = new PredictionCache();
    await cache.put(A, answer(1));
    await cache.put(B, answer(1));
    assert.equal(cache.version, 1);
    await cache.put(A, answer(2)); // an answer of version 2: version 1 is no longer served
    assert.equal(cache.version, 2);
    assert.deepEqual([...(await cache.storage.keys())], [`2:${A}`]);
    await cache.noteVersion(3);
    assert.deepEqual([...(await cache.storage.keys())], []);
  });

  test("works over an asynchronous storage", async () => {
    const map = new Map<string, unknown>();
    const cache = new PredictionCache({
      storage: {
        get: async (key) => structuredClone(map.get(key)) as never,
        set: async (key, entry) => void map.set(key, structuredClone(entry)),
        delete: async (key) => void map.delete(key),
        keys: async () => [...map.keys()],
      },
    });
    await cache.put(A, answer(7));
    assert.equal((await cache.get(7, A))?.model.version, 7);
  });

  test("refuses a cap below one", () => {
    assert.throws(() => new PredictionCache({ maxEntries: 0 }), RangeError);
  });
});

describe("SkinGuardClient's prediction cache", () => {
  const photo = new Uint8Array([0xff, 0xd8, 1, 2, 3, 4]);

  test("the same bytes under the same served version are answered by the cache", async () => {
    const { fetch, calls } = scriptedFetch([{ status: 200, body: answer(5) }]);
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch });
    const first = await client.predict(photo);
    const second = await client.predict(new Blob([photo]));
    assert.equal(calls.length, 1);
    assert.equal(first.source, "server");
    assert.equal(first.from_client_cache, false);
    assert.equal(second.from_client_cache, true);
    assert.equal(second.prediction_id, first.prediction_id);
    const key = `5:${await sha256Hex(photo)}`;
    assert.deepEqual([...(await client.cache!.storage.keys())], [key]);
  });

  test("other bytes go to the server", async () => {
    const { fetch, calls } = scriptedFetch([{ status: 200, body: answer(5) }]);
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch });
    await client.predict(photo);
    await client.predict(new Uint8Array([0xff, 0xd8, 9]));
    assert.equal(calls.length, 2);
  });

  test("a new version learnt from /health clears the cache", async () => {
    let served = 5;
    const { fetch } = scriptedFetch((call) =>
      call.url.endsWith("/health")
        ? {
            status: 200,
            body: { status: "healthy", model_loaded: true, model_version: served, timestamp: "2026-01-01T00:00:00Z" },
          }
        : { status: 200, body: answer(served) },
    );
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch });
    await client.predict(photo);
    assert.equal(client.cache!.version, 5);
    served = 6;
    await client.health();
    assert.equal(client.cache!.version, 6);
    assert.deepEqual([...(await client.cache!.storage.keys())], []);
    const again = await client.predict(photo);
    assert.equal(again.from_client_cache, false);
    assert.equal(again.model.version, 6);
  });

  test("an old served version is checked with /health before the cache answers", async () => {
    const clock = manualClock();
    let served = 5;
    const { fetch, calls } = scriptedFetch((call) =>
      call.url.endsWith("/health")
        ? {
            status: 200,
            body: { status: "healthy", model_loaded: true, model_version: served, timestamp: "2026-01-01T00:00:00Z" },
          }
        : { status: 200, body: answer(served) },
    );
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch, clock: clock.now, versionMaxAgeMs: 60_000 });
    await client.predict(photo);
    clock.advance(30_000);
    assert.equal((await client.predict(photo)).from_client_cache, true, "version learnt 30 s ago");
    assert.equal(calls.length, 1);
    clock.advance(60_001);
    served = 6;
    const third = await client.predict(photo);
    assert.deepEqual(
      calls.map((call) => new URL(call.url).pathname),
      ["/predict", "/health", "/predict"],
    );
    assert.equal(third.from_client_cache, false);
    assert.equal(third.model.version, 6);
  });

  test("cache: false sends every request", async () => {
    const { fetch, calls } = scriptedFetch([{ status: 200, body: answer(5) }]);
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch, cache: false });
    await client.predict(photo);
    await client.predict(photo);
    assert.equal(calls.length, 2);
    assert.equal(client.cache, undefined);
  });

  test("predictBase64 shares the cache of the decoded bytes", async () => {
    const { fetch, calls } = scriptedFetch([{ status: 200, body: answer(5) }]);
    const client = new SkinGuardClient({ baseUrl: "http://gateway", fetch });
    await client.predict(photo);
    const base64 = `data:image/jpeg;base64,${Buffer.from(photo).toString("base64")}`;
    assert.equal((await client.predictBase64(base64)).from_client_cache, true);
    assert.equal(calls.length, 1);
  });
});
