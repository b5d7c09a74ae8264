/** When to try a request again: the statuses the gateway marks as temporary, after the wait it
 * asks for (Retry-After), never more often than allowed and never for longer than allowed. */

/** 429 (rate limited), 503 (no model served, model server or a dependency away), 504 (the model
 * server did not answer in time): the gateway sends Retry-After with each. */
export const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

export interface RetryPolicy {
  /** Retries after the first attempt (default 3; 0 never retries). */
  maxRetries: number;
  /** The first wait without Retry-After, doubled at each retry (default 500 ms). */
  baseDelayMs: number;
  /** No wait is longer. A Retry-After above it is not waited for: the error is thrown at once,
   * carrying `retryAfterSeconds` (default 30 s). */
  maxDelayMs: number;
  /** Up to this much random time is added to each wait, so that clients told the same
   * Retry-After do not all come back at once (default 250 ms; never beyond `maxDelayMs`). */
  jitterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 30_000, jitterMs: 250 };

/** Retry-After in seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The wait before retry number `retry` (0 for the first), or undefined to give up now. */
export function retryDelay(
  policy: RetryPolicy,
  retry: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retry >= policy.maxRetries) return undefined;
  const asked = retryAfterSeconds === undefined ? undefined : retryAfterSeconds * 1000;
  if (asked !== undefined && asked > policy.maxDelayMs) return undefined;
  const backoff = Math.min(policy.baseDelayMs * 2 ** retry, policy.maxDelayMs);
  const base = asked ?? backoff;
  return Math.min(base + random() * policy.jitterMs, policy.maxDelayMs);
}
