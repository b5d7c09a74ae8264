/**
 * `SkinGuardClient`: the gateway's public API for apps, typed with the generated OpenAPI types.
 *
 * Temporary refusals (429, 503, 504) are retried after the server's Retry-After, a bounded
 * number of times and never for longer than `maxDelayMs` a wait; other errors are thrown at
 * once as `SkinGuardError` carrying the server's `{error, detail}`. Predictions are kept in a
 * `PredictionCache` under the SHA-256 of the photo's bytes and the served version.
 */
import { PredictionCache, type PredictionCacheOptions } from "./cache.js";
import { SkinGuardError } from "./errors.js";
import { sha256Hex } from "./hash.js";
import { DEFAULT_RETRY, parseRetryAfter, RETRIED_STATUSES, retryDelay, type RetryPolicy } from "./retry.js";
import type {
  CurrentModel,
  DeviceFormat,
  FeedbackIn,
  FeedbackLabel,
  FeedbackOut,
  HealthOut,
  ModelCardOut,
  PredictForm,
  PredictionOut,
  ServerPrediction,
} from "./types.js";

/** The multipart field of `POST /predict` (checked against the generated form type). */
export const PREDICT_FIELD: keyof PredictForm = "file";

export interface SkinGuardClientOptions {
  /** The gateway, e.g. `https://api.skinguard.example` (a path prefix is kept). */
  baseUrl: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** The prediction cache: an instance, options for a new one (the default: 100 entries in
   * memory, 24 hours), or `false` for none. */
  cache?: PredictionCache | PredictionCacheOptions | false;
  /** Retries of a refused request (429, 503, 504); default 3. */
  maxRetries?: number;
  /** The rest of the retry policy (waits, jitter); see `RetryPolicy`. */
  retry?: Partial<RetryPolicy>;
  /** Each attempt is abandoned after this long (default 30 s)... */
  timeoutMs?: number;
  /** ...except a model file's download, body included (default 5 minutes). */
  downloadTimeoutMs?: number;
  /** Before answering from the cache, the served version is asked again (`GET /health`) when it
   * was last learnt longer ago than this (default 60 s), so a new version is not missed. */
  versionMaxAgeMs?: number;
  /** Sent with every request (e.g. `X-Request-ID` is made by the gateway when absent). */
  headers?: Record<string, string>;
  /** Injected for tests: the wait between attempts, randomness for the jitter, the clock. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  clock?: () => number;
}

interface RequestOptions {
  body?: () => BodyInit;
  headers?: Record<string, string>;
  /** Network failures are retried only for requests that change nothing (GET). */
  idempotent?: boolean;
  /** 304 answers are returned rather than thrown. */
  allowNotModified?: boolean;
  timeoutMs?: number;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class SkinGuardClient {
  readonly baseUrl: string;
  readonly cache: PredictionCache | undefined;
  readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly downloadTimeoutMs: number;
  private readonly versionMaxAgeMs: number;
  private readonly headers: Record<string, string>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly clock: () => number;
  private versionLearntAt: number | undefined;
  private current: { etag: string; model: CurrentModel } | undefined;

  constructor(options: SkinGuardClientOptions) {
    if (!options?.baseUrl) throw new TypeError("baseUrl is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("no fetch: pass options.fetch");
    this.fetchImpl = fetchImpl;
    this.clock = options.clock ?? Date.now;
    const cache = options.cache;
    this.cache =
      cache === false
        ? undefined
        : cache instanceof PredictionCache
          ? cache
          : new PredictionCache({ clock: this.clock, ...cache });
    this.retry = {
      ...DEFAULT_RETRY,
      ...options.retry,
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    };
    if (!Number.isInteger(this.retry.maxRetries) || this.retry.maxRetries < 0) {
      throw new RangeError(`maxRetries must be a non-negative integer, not ${this.retry.maxRetries}`);
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? 300_000;
    this.versionMaxAgeMs = options.versionMaxAgeMs ?? 60_000;
    this.headers = { ...options.headers };
    this.sleep = options.sleep ?? sleepFor;
    this.random = options.random ?? Math.random;
  }

  /** Classify a photo (JPEG or PNG bytes) with the served model: `POST /predict`. */
  async predict(file: Blob | Uint8Array | ArrayBuffer, filename = "photo.jpg"): Promise<ServerPrediction> {
    const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : toUint8Array(file);
    const type = file instanceof Blob && file.type ? file.type : sniffType(bytes);
    return this.classify(bytes, () => {
      const form = new FormData();
      form.append(PREDICT_FIELD, new Blob([bytes as BlobPart], { type }), filename);
      return { path: "/predict", body: form };
    });
  }

  /** Classify a photo sent as base64 (a `data:` URL prefix is accepted): `POST /predict_base64`. */
  async predictBase64(base64: string): Promise<ServerPrediction> {
    const bytes = decodeBase64(base64);
    return this.classify(bytes, () => ({
      path: "/predict_base64",
      body: JSON.stringify({ image: base64 }),
      headers: { "Content-Type": "application/json" },
    }));
  }

  /** Record the confirmed diagnosis of a server prediction: `POST /feedback` with the
   * prediction's `prediction_id` and `feedback_token` (403 when they do not match, 409 for a
   * second feedback on the same prediction). */
  async feedback(
    prediction: Pick<PredictionOut, "prediction_id" | "feedback_token">,
    actualLabel: FeedbackLabel,
    comment?: string,
  ): Promise<FeedbackOut> {
    const body: FeedbackIn = {
      prediction_id: prediction.prediction_id,
      feedback_token: prediction.feedback_token,
      actual_label: actualLabel,
      ...(comment === undefined ? {} : { comment }),
    };
    const response = await this.send("POST", "/feedback", {
      body: () => JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    });
    return this.json<FeedbackOut>(response);
  }

  /** Is a model version served: `GET /health` (its version is learnt). */
  async health(): Promise<HealthOut> {
    const health = await this.json<HealthOut>(await this.send("GET", "/health", { idempotent: true }));
    if (health.model_version != null) await this.learnVersion(health.model_version);
    return health;
  }

  /** The served version for on-device use: `GET /models/current`, revalidated with its ETag
   * (a 304 answers the copy kept from the last call). */
  async currentModel(): Promise<CurrentModel> {
    const headers: Record<string, string> = this.current ? { "If-None-Match": this.current.etag } : {};
    const response = await this.send("GET", "/models/current", { idempotent: true, headers, allowNotModified: true });
    let model: CurrentModel;
    if (response.status === 304 && this.current) {
      model = this.current.model;
    } else {
      model = await this.json<CurrentModel>(response);
      const etag = response.headers.get("ETag");
      this.current = etag ? { etag, model } : undefined;
    }
    await this.learnVersion(model.version);
    return model;
  }

  /** The served model's public card: `GET /model`. */
  async modelCard(): Promise<ModelCardOut> {
    return this.json<ModelCardOut>(await this.send("GET", "/model", { idempotent: true }));
  }

  /** An on-device file of the served version, checked against its published size and SHA-256
   * (`model_integrity` error otherwise). */
  async downloadModelFile(format: Pick<DeviceFormat, "url" | "sha256" | "bytes" | "file">): Promise<Uint8Array> {
    const response = await this.send("GET", format.url, {
      idempotent: true,
      headers: { Accept: "application/octet-stream" },
      timeoutMs: this.downloadTimeoutMs,
    });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw new SkinGuardError({
        status: 0,
        error: "network_error",
        detail: `the download of ${format.file} broke off: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      });
    }
    const digest = await sha256Hex(bytes);
    if (bytes.length !== format.bytes || digest !== format.sha256) {
      throw new SkinGuardError({
        status: 0,
        error: "model_integrity",
        detail:
          `${format.file} is ${bytes.length} bytes with SHA-256 ${digest}; the gateway published ` +
          `${format.bytes} bytes with SHA-256 ${format.sha256}. It is not used.`,
      });
    }
    return bytes;
  }

  private async classify(
    bytes: Uint8Array,
    request: () => { path: string; body: BodyInit; headers?: Record<string, string> },
  ): Promise<ServerPrediction> {
    const cache = bytes.length > 0 ? this.cache : undefined; // not base64: the gateway says why
    const sha256 = cache ? await sha256Hex(bytes) : "";
    if (cache) {
      const version = await this.servedVersionForCache();
      const cached = version === undefined ? undefined : await cache.get(version, sha256);
      if (cached) return { ...cached, source: "server", from_client_cache: true };
    }
    const { path, body, headers } = request();
    const response = await this.send("POST", path, { body: () => body, ...(headers ? { headers } : {}) });
    const prediction = await this.json<PredictionOut>(response);
    this.versionLearntAt = this.clock();
    if (cache) await cache.put(sha256, prediction);
    return { ...prediction, source: "server", from_client_cache: false };
  }

  /** The version to look up in the cache: the last one learnt, asked again when it is old. */
  private async servedVersionForCache(): Promise<number | undefined> {
    const cache = this.cache;
    if (!cache || cache.version === undefined) return undefined;
    const age = this.versionLearntAt === undefined ? Infinity : this.clock() - this.versionLearntAt;
    if (age <= this.versionMaxAgeMs) return cache.version;
    try {
      await this.health();
    } catch {
      return undefined; // unknown: ask the server itself
    }
    return cache.version;
  }

  private async learnVersion(version: number): Promise<void> {
    this.versionLearntAt = this.clock();
    await this.cache?.noteVersion(version);
  }

  private url(path: string): string {
    return /^https?:\/\//i.test(path) ? path : `${this.baseUrl}${path.startsWith("/") ? "" : "/"}${path}`;
  }

  /** One request with the retry policy; resolves with a 2xx (or an allowed 304) answer. */
  private async send(method: "GET" | "POST", path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers: { Accept: "application/json", ...this.headers, ...options.headers },
          ...(options.body ? { body: options.body() } : {}),
          ...timeoutSignal(timeoutMs),
        });
      } catch (cause) {
        const timedOut = cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
        const error = new SkinGuardError({
          status: 0,
          error: timedOut ? "timeout" : "network_error",
          detail: timedOut
            ? `${method} ${url} got no answer within ${timeoutMs} ms`
            : `${method} ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          attempts: attempt,
          cause,
        });
        const wait = options.idempotent ? retryDelay(this.retry, attempt - 1, undefined, this.random) : undefined;
        if (wait === undefined) throw error;
        await this.sleep(wait);
        continue;
      }
      if (response.ok || (options.allowNotModified && response.status === 304)) return response;
      const error = await errorOf(response, attempt);
      const wait = RETRIED_STATUSES.has(response.status)
        ? retryDelay(this.retry, attempt - 1, error.retryAfterSeconds, this.random)
        : undefined;
      if (wait === undefined) throw error;
      await this.sleep(wait);
    }
  }

  private async json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new SkinGuardError({
        status: response.status,
        error: "invalid_response",
        detail: `${response.url || "the gateway"} answered ${response.status} without a JSON body`,
        requestId: response.headers.get("X-Request-ID") ?? undefined,
        cause,
      });
    }
  }
}

async function errorOf(response: Response, attempts: number): Promise<SkinGuardError> {
  const text = await response.text().catch(() => "");
  let code = `http_${response.status}`;
  let detail = text.slice(0, 1000) || response.statusText || `HTTP ${response.status}`;
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object") {
      const { error, detail: reason } = body as Record<string, unknown>;
      if (typeof error === "string") code = error;
      if (typeof reason === "string") detail = reason;
    }
  } catch {
    // not JSON (a proxy's page): the text is the detail
  }
  return new SkinGuardError({
    status: response.status,
    error: code,
    detail,
    retryAfterSeconds: parseRetryAfter(response.headers.get("Retry-After")),
    requestId: response.headers.get("X-Request-ID") ?? undefined,
    attempts,
  });
}

/** A signal that aborts after `ms` where the platform has `AbortSignal.timeout` (browsers, Node). */
function timeoutSignal(ms: number): { signal?: AbortSignal } {
  return typeof AbortSignal !== "undefined" && typeof AbortSignal.timeout === "function"
    ? { signal: AbortSignal.timeout(ms) }
    : {};
}

function toUint8Array(data: Uint8Array | ArrayBuffer): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("the photo must be a Blob, a Uint8Array or an ArrayBuffer");
}

/** The media type from the bytes (the gateway sniffs them too; this only labels the upload). */
function sniffType(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png";
  return "application/octet-stream";
}

/** The bytes of base64 text, with or without a `data:` prefix and line breaks (as the gateway
 * reads it); an empty array when it is not base64 (the gateway then answers 422). */
function decodeBase64(text: string): Uint8Array {
  const payload = text.startsWith("data:") ? text.slice(text.indexOf(",") + 1) : text;
  try {
    const binary = atob(payload.replace(/\s+/g, ""));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return new Uint8Array(0);
  }
}
