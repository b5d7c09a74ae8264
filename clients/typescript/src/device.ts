/**
 * On-device classification with the served version's ONNX file, for apps offline.
 *
 * The gateway publishes the served version for devices (`GET /models/current`): its input size,
 * class order, decision and risk thresholds, and its on-device files with their SHA-256. The
 * ONNX file (tf2onnx from the served SavedModel, test-time augmentation and calibration inside)
 * takes what the server's model takes: uint8 RGB pixels, shape (1, size, size, 3), from the
 * shared preprocessing (`toModelInput`), and answers the class probabilities.
 *
 * onnxruntime is injected, never imported, so the SDK depends on no runtime:
 *
 *     import * as ort from "onnxruntime-web";   // apps and browsers
 *     import * as ort from "onnxruntime-node";  // Node
 *     const device = await DeviceClassifier.load({ client, ort });
 *     const result = await device.classify(imageData);   // { source: "device", ... }
 */
import type { SkinGuardClient } from "./client.js";
import { SkinGuardError } from "./errors.js";
import { sha256Hex } from "./hash.js";
import { type Pixels, toModelInput } from "./preprocess.js";
import { assess } from "./risk.js";
import type { CurrentModel, DeviceFormat, DevicePrediction } from "./types.js";

/** The part of onnxruntime's API (`onnxruntime-web`, `onnxruntime-node`) the classifier uses. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: never): Promise<OrtSession> };
  Tensor: new (type: "uint8", data: Uint8Array, dims: readonly number[]) => unknown;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { readonly data: unknown }>>;
  release?(): Promise<void>;
}

/** Keeps downloaded model files across restarts (IndexedDB, the file system), by SHA-256. */
export interface ModelFileStore {
  get(sha256: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  set(sha256: string, bytes: Uint8Array): void | Promise<void>;
}

export interface DeviceClassifierOptions {
  client: SkinGuardClient;
  /** `import * as ort from "onnxruntime-web"` (or `-node`), passed in. */
  ort: OrtModule;
  /** The served version as `client.currentModel()` answered it; asked when absent. */
  model?: CurrentModel;
  /** Handed to `ort.InferenceSession.create` (execution providers, threads). */
  sessionOptions?: unknown;
  fileStore?: ModelFileStore;
  /** A file whose measured AUC fell more than the tolerance below the server model's is
   * refused unless this is true. */
  allowOutOfTolerance?: boolean;
}

export const INPUT_NAME = "image";
export const OUTPUT_NAME = "probabilities";
export const DEVICE_FORMAT = "onnx";

export class DeviceClassifier {
  readonly model: CurrentModel;
  readonly format: DeviceFormat;
  private readonly session: OrtSession;
  private readonly ort: OrtModule;
  private readonly client: SkinGuardClient;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly benignIndex: number;
  private readonly malignantIndex: number;

  private constructor(
    client: SkinGuardClient,
    ort: OrtModule,
    model: CurrentModel,
    format: DeviceFormat,
    session: OrtSession,
  ) {
    this.client = client;
    this.ort = ort;
    this.model = model;
    this.format = format;
    this.session = session;
    this.inputName = session.inputNames.includes(INPUT_NAME) ? INPUT_NAME : session.inputNames[0];
    this.outputName = session.outputNames.includes(OUTPUT_NAME) ? OUTPUT_NAME : session.outputNames[0];
    const names = model.class_names.map((name) => name.toLowerCase());
    this.benignIndex = names.includes("benign") ? names.indexOf("benign") : 0;
    this.malignantIndex = names.includes("malignant") ? names.indexOf("malignant") : 1;
  }

  /** Downloads (or takes from `fileStore`) the served version's ONNX file, checks its SHA-256
   * and opens it with the injected onnxruntime. */
  static async load(options: DeviceClassifierOptions): Promise<DeviceClassifier> {
    const ort = options.ort;
    if (!ort?.InferenceSession?.create || typeof ort.Tensor !== "function") {
      throw new TypeError("options.ort must be onnxruntime (import * as ort from 'onnxruntime-web')");
    }
    const model = options.model ?? (await options.client.currentModel());
    const format = model.formats.find((entry) => entry.format === DEVICE_FORMAT);
    if (!format) {
      throw new SkinGuardError({
        status: 0,
        error: "no_device_model",
        detail: `version ${model.version} of ${model.model_name} has no ${DEVICE_FORMAT} file; classify on the server`,
      });
    }
    if (!format.within_tolerance && !options.allowOutOfTolerance) {
      throw new SkinGuardError({
        status: 0,
        error: "no_device_model",
        detail:
          `the ${DEVICE_FORMAT} file of version ${model.version} measured an AUC ${format.auc_drop} below the ` +
          "server model's on the test split (beyond the tolerance); classify on the server",
      });
    }
    const bytes = await modelBytes(options.client, format, options.fileStore);
    const session = await ort.InferenceSession.create(bytes, options.sessionOptions as never);
    return new DeviceClassifier(options.client, ort, model, format, session);
  }

  /** The side of the square input, pixels. */
  get inputSize(): number {
    return this.model.input_size;
  }

  /** Classify decoded, upright pixels (RGB or RGBA, e.g. a canvas's ImageData): preprocessed
   * exactly as the server does after decoding (see `toModelInput`). */
  async classify(pixels: Pixels): Promise<DevicePrediction> {
    return this.classifyModelInput(toModelInput(pixels, this.inputSize));
  }

  /** Classify the model input itself: uint8 RGB, `inputSize * inputSize * 3` bytes (for pixels
   * already preprocessed elsewhere). */
  async classifyModelInput(input: Uint8Array): Promise<DevicePrediction> {
    const probabilities = await this.probabilities(input);
    const { name, version } = { name: this.model.model_name, version: this.model.version };
    return {
      ...assess(probabilities, this.model.decision_threshold, this.model.risk_thresholds),
      probabilities,
      model: { name, version },
      notice: this.model.notice,
      source: "device",
    };
  }

  /** The model's class probabilities for one model input. */
  async probabilities(input: Uint8Array): Promise<{ benign: number; malignant: number }> {
    const size = this.inputSize;
    if (input.length !== size * size * 3) {
      throw new RangeError(`the model input is ${size}x${size}x3 = ${size * size * 3} bytes, not ${input.length}`);
    }
    const tensor = new this.ort.Tensor("uint8", input, [1, size, size, 3]);
    const outputs = await this.session.run({ [this.inputName]: tensor });
    const data = outputs[this.outputName]?.data as ArrayLike<number> | undefined;
    if (!data || data.length < 2) {
      throw new SkinGuardError({ status: 0, error: "invalid_response", detail: "the model answered no probabilities" });
    }
    return { benign: Number(data[this.benignIndex]), malignant: Number(data[this.malignantIndex]) };
  }

  /** Whether the gateway still serves this version (false: load a new classifier). */
  async isCurrent(): Promise<boolean> {
    return (await this.client.currentModel()).version === this.model.version;
  }

  async release(): Promise<void> {
    await this.session.release?.();
  }
}

async function modelBytes(client: SkinGuardClient, format: DeviceFormat, store?: ModelFileStore): Promise<Uint8Array> {
  const kept = await store?.get(format.sha256);
  if (kept && kept.length === format.bytes && (await sha256Hex(kept)) === format.sha256) return kept;
  const bytes = await client.downloadModelFile(format);
  await store?.set(format.sha256, bytes);
  return bytes;
}
