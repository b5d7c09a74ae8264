// The one way the screens talk to the server: same-origin JSON calls through this app's API
// front, the CSRF token on every write, and the server's errors shown as written.

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `request failed (${status})`);
    this.status = status;
    this.code = code;
  }
}

export const annotation = (path) => `/api/annotation/${path}`;
export const ingestion = (path) => `/api/ingestion/${path}`;
export const monitoring = (path) => `/api/monitoring/${path}`;

export function query(params) {
  const kept = Object.entries(params).filter(([, value]) => value !== "" && value !== null && value !== undefined);
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}

async function send(url, { method = "GET", json, body } = {}) {
  const headers = { accept: "application/json" };
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  if (!response.ok) {
    let code = "error";
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      code = problem.error || code;
      detail = problem.detail || detail;
    } catch { /* not JSON */ }
    if (response.status === 401 && !url.startsWith("/session")) {
      location.assign(`/sign-in?next=${encodeURIComponent(location.pathname)}`);
    }
    throw new ApiError(response.status, code, detail);
  }
  return response;
}

export async function api(url, options) {
  const response = await send(url, options);
  return response.status === 204 ? null : response.json();
}

export async function blobOf(url) {
  return (await send(url)).blob();
}

export function imageUrl(imageId) {
  return ingestion(`images/${imageId}/content`);
}
