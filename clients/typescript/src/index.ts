export { SkinGuardClient, PREDICT_FIELD, type SkinGuardClientOptions } from "./client.js";
export { SkinGuardError, isSkinGuardError, type SkinGuardErrorInit } from "./errors.js";
export {
  PredictionCache,
  MemoryStorage,
  DAY_MS,
  type CacheEntry,
  type CacheStorage,
  type PredictionCacheOptions,
} from "./cache.js";
export { DEFAULT_RETRY, RETRIED_STATUSES, parseRetryAfter, retryDelay, type RetryPolicy } from "./retry.js";
export {
  DeviceClassifier,
  DEVICE_FORMAT,
  type DeviceClassifierOptions,
  type ModelFileStore,
  type OrtModule,
  type OrtSession,
} from "./device.js";
export {
  toModelInput,
  toRgb,
  reduce,
  premultiply,
  unpremultiply,
  resizeArea,
  resizeLinear,
  OVERSAMPLING,
  type Pixels,
  type RgbPixels,
} from "./preprocess.js";
export { assess, type Assessment } from "./risk.js";
export { sha256Hex } from "./hash.js";
export type * from "./types.js";
export type { paths, components, operations } from "./generated/gateway.js";
