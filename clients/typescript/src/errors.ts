/** Every failure the SDK reports: the gateway's `{"error", "detail"}` with the HTTP status. */
import type { ErrorBody } from "./types.js";

export interface SkinGuardErrorInit {
  status: number;
  error: string;
  detail: string;
  retryAfterSeconds?: number;
  requestId?: string;
  attempts?: number;
  cause?: unknown;
}

export class SkinGuardError extends Error implements ErrorBody {
  /** The HTTP status; 0 when no answer came (network failure, timeout) or the device failed. */
  readonly status: number;
  /** The gateway's stable code (`rate_limited`, `too_blurry`, `serving_unavailable`, ...), or the
   * SDK's own: `network_error`, `timeout`, `invalid_response`, `http_<status>` for a body
   * without one, `model_integrity`, `no_device_model`. */
  readonly error: string;
  /** The gateway's readable reason, meant for the user. */
  readonly detail: string;
  /** The server's Retry-After, in seconds, when it sent one. */
  readonly retryAfterSeconds: number | undefined;
  /** The answer's X-Request-ID, for tracing. */
  readonly requestId: string | undefined;
  /** Requests made, retries included. */
  readonly attempts: number;

  constructor(init: SkinGuardErrorInit) {
    super(`${init.error}: ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "SkinGuardError";
    this.status = init.status;
    this.error = init.error;
    this.detail = init.detail;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
    this.attempts = init.attempts ?? 1;
  }

  /** The server's body, as it sent it. */
  toJSON(): ErrorBody {
    return { error: this.error, detail: this.detail };
  }
}

export function isSkinGuardError(value: unknown): value is SkinGuardError {
  return value instanceof SkinGuardError;
}
