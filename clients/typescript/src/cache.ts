/**
 * The client's prediction cache: the same photo bytes classified by the same served model
 * version give the same answer, so it is kept, under the SHA-256 of the bytes and the version.
 *
 * - keyed by `<version>:<sha256 of the image bytes>` (the bytes, not a file name or URI: a photo
 *   edited in place under the same name is a new photo);
 * - at most `maxEntries` entries, the least recently used out first;
 * - an entry is used for `ttlMs` after it was stored (24 hours by default), then dropped;
 * - when the served version changes (learnt from every answer, `/health` and `/models/current`),
 *   every entry of another version is dropped.
 *
 * Entries live in a `CacheStorage`: `MemoryStorage` by default; an app may pass one over
 * IndexedDB, AsyncStorage or a file to keep them across restarts.
 */
import type { PredictionOut } from "./types.js";

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface CacheEntry {
  /** The served model version that answered. */
  version: number;
  /** When it was stored (the clock's milliseconds). */
  storedAt: number;
  /** Last used (the clock's milliseconds), for the least-recently-used order. */
  usedAt: number;
  /** Breaks ties between uses in the same millisecond. */
  sequence: number;
  prediction: PredictionOut;
}

type MaybePromise<T> = T | Promise<T>;

/** Where entries are kept. Keys are opaque strings; values are plain JSON-serialisable objects. */
export interface CacheStorage {
  get(key: string): MaybePromise<CacheEntry | undefined>;
  set(key: string, entry: CacheEntry): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  keys(): MaybePromise<Iterable<string>>;
}

/** Entries in a `Map`, gone with the process. */
export class MemoryStorage implements CacheStorage {
  private readonly entries = new Map<string, CacheEntry>();

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: CacheEntry): void {
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface PredictionCacheOptions {
  /** At most this many entries (default 100). */
  maxEntries?: number;
  /** An entry is used for this long after it was stored (default 24 hours). */
  ttlMs?: number;
  storage?: CacheStorage;
  /** Milliseconds (default `Date.now`); tests pass their own. */
  clock?: () => number;
}

export class PredictionCache {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly storage: CacheStorage;
  private readonly clock: () => number;
  private servedVersion: number | undefined;
  private uses = 0;

  constructor(options: PredictionCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100;
    this.ttlMs = options.ttlMs ?? DAY_MS;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, not ${this.maxEntries}`);
    }
    if (!(this.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, not ${this.ttlMs}`);
    this.storage = options.storage ?? new MemoryStorage();
    this.clock = options.clock ?? Date.now;
  }

  static key(version: number, sha256: string): string {
    return `${version}:${sha256}`;
  }

  /** The served version the cache last learnt; undefined until an answer told it. */
  get version(): number | undefined {
    return this.servedVersion;
  }

  /** The served version is `version` now: entries of any other version are dropped. */
  async noteVersion(version: number): Promise<void> {
    if (version === this.servedVersion) return;
    this.servedVersion = version;
    const prefix = `${version}:`;
    for (const key of [...(await this.storage.keys())]) {
      if (!key.startsWith(prefix)) await this.storage.delete(key);
    }
  }

  /** The answer of `version` for the photo with this SHA-256, if stored and not expired. */
  async get(version: number, sha256: string): Promise<PredictionOut | undefined> {
    const key = PredictionCache.key(version, sha256);
    const entry = await this.storage.get(key);
    if (entry === undefined) return undefined;
    const now = this.clock();
    if (now - entry.storedAt >= this.ttlMs || entry.version !== version) {
      await this.storage.delete(key);
      return undefined;
    }
    await this.storage.set(key, { ...entry, usedAt: now, sequence: ++this.uses });
    return entry.prediction;
  }

  async put(sha256: string, prediction: PredictionOut): Promise<void> {
    const version = prediction.model.version;
    await this.noteVersion(version);
    const now = this.clock();
    await this.storage.set(PredictionCache.key(version, sha256), {
      version,
      storedAt: now,
      usedAt: now,
      sequence: ++this.uses,
      prediction,
    });
    await this.evict(now);
  }

  /** Drops expired entries, then the least recently used ones beyond `maxEntries`. */
  async evict(now: number = this.clock()): Promise<void> {
    const live: Array<[string, CacheEntry]> = [];
    for (const key of [...(await this.storage.keys())]) {
      const entry = await this.storage.get(key);
      if (entry === undefined) continue;
      if (now - entry.storedAt >= this.ttlMs) await this.storage.delete(key);
      else live.push([key, entry]);
    }
    if (live.length <= this.maxEntries) return;
    live.sort(([, a], [, b]) => a.usedAt - b.usedAt || a.sequence - b.sequence);
    for (const [key] of live.slice(0, live.length - this.maxEntries)) await this.storage.delete(key);
  }

  async clear(): Promise<void> {
    for (const key of [...(await this.storage.keys())]) await this.storage.delete(key);
  }
}
