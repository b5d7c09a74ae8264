// Shared by the tests: seeded pixels (the same generator as tests/clients/preprocess_vectors.py),
// a scripted fetch, a clock.

/** mulberry32: 32-bit state, one uint32 a call (tests/clients/preprocess_vectors.py has its twin). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ (t + (Math.imul(t ^ (t >>> 7), t | 61) >>> 0))) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function seededPixels(
  width: number,
  height: number,
  channels: number,
  pattern: "noise" | "gradient",
  seed: number,
): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(width * height * channels);
  let index = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        if (pattern === "noise" || c === 3) {
          out[index++] = next() & 0xff;
        } else {
          const ramp =
            Math.floor((x * (c + 1) * 255) / Math.max(1, width - 1)) + Math.floor((y * 255) / Math.max(1, height - 1));
          out[index++] = (ramp + (next() & 7)) & 0xff;
        }
      }
    }
  }
  return out;
}

/** A PNG (8-bit RGB or RGBA, no interlace) of the pixels, with node:zlib. */
export async function encodePng(
  width: number,
  height: number,
  channels: 3 | 4,
  pixels: Uint8Array,
): Promise<Uint8Array> {
  const { deflateSync } = await import("node:zlib");
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const chunks = [
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const typed = concat([new TextEncoder().encode(type), data]);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(typed, 4);
  view.setUint32(8 + data.length, crc32(typed));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A photo-like picture: skin tone with noise and a darker round "lesion", RGB. */
export function lesionPixels(width: number, height: number, seed: number, malignant = false): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(width * height * 3);
  const skin = [205, 160, 140];
  const lesion = malignant ? [70, 45, 40] : [150, 105, 85];
  const radius = Math.min(width, height) / 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = Math.hypot(x - width / 2, y - height / 2) < radius;
      const base = inside ? lesion : skin;
      const noise = ((next() & 0xff) + (next() & 0xff) - 255) / 8; // about +-32, centred
      for (let c = 0; c < 3; c++)
        out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + noise)));
    }
  }
  return out;
}

export interface Call {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A fetch that answers the scripted replies in order (the last one again once they run out)
 * and records every call. */
export function scriptedFetch(replies: Reply[] | ((call: Call, index: number) => Reply)): {
  fetch: typeof fetch;
  calls: Call[];
} {
  const calls: Call[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: init?.body,
    };
    calls.push(call);
    const index = calls.length - 1;
    const reply = typeof replies === "function" ? replies(call, index) : replies[Math.min(index, replies.length - 1)];
    if (reply instanceof Error) throw reply;
    const binary = reply.body instanceof Uint8Array;
    const text =
      reply.body === undefined || binary
        ? null
        : typeof reply.body === "string"
          ? reply.body
          : JSON.stringify(reply.body);
    const contentType = binary
      ? "application/octet-stream"
      : typeof reply.body === "string"
        ? "text/plain"
        : "application/json";
    const payload = binary ? (reply.body as Uint8Array) : text;
    return new Response(reply.status === 304 ? null : (payload as BodyInit | null), {
      status: reply.status,
      headers: { ...(payload === null ? {} : { "Content-Type": contentType }), ...reply.headers },
    });
  };
  return { fetch: fake as typeof fetch, calls };
}

/** A clock the test moves. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

/** A server prediction for the given version (the fields the gateway answers). */
export function prediction(version: number, overrides: Record<string, unknown> = {}) {
  return {
    predicted_class: "Benign" as const,
    confidence: 0.8,
    probabilities: { benign: 0.8, malignant: 0.2 },
    risk_level: "low-medium" as const,
    image_quality: {
      resolution: [300, 260] as [number, number],
      file_size: 1000,
      blur_score: 500,
      brightness_score: 160,
      contrast_score: 30,
    },
    model: { name: "skinguard", version },
    cached: false,
    request_id: "req-1",
    prediction_id: `pred-${version}`,
    feedback_token: "token",
    notice: "This is not a diagnosis.",
    ...overrides,
  };
}
