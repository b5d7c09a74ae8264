/**
 * The model input from decoded pixels, as the server makes it (`skinguard_imaging.to_model_input`).
 *
 * The server decodes the uploaded JPEG or PNG with Pillow, applies the EXIF orientation,
 * composites transparency onto white, reduces a photo whose longer side exceeds 4x the input
 * size by a whole factor (Pillow's `Image.reduce`, a box filter), and resizes the whole picture
 * to the square input with OpenCV: `cv2.INTER_AREA` when both sides shrink, else
 * `cv2.INTER_LINEAR`. This module replicates the steps after decoding, bit for bit (checked
 * against OpenCV and Pillow on committed vectors, see test/preprocess.test.ts):
 *
 *   - the box reduction: Pillow's `reduce` fixed-point averages, edge boxes included (RGBA
 *     reduced premultiplied, as Pillow does);
 *   - alpha compositing onto white: Pillow's `Image.alpha_composite` integer arithmetic;
 *   - `INTER_AREA`: OpenCV's area decimation (its float32 weights and sums, round half to even;
 *     its integer fast path for whole-number factors, `(sum + 2) >> 2` for 2x2);
 *   - `INTER_LINEAR`: OpenCV's 11-bit fixed-point coefficients and its SIMD vertical pass.
 *
 * What it cannot replicate is decoding: give it pixels that are already upright (browsers'
 * `createImageBitmap` and `<img>` apply the EXIF orientation by default) and decoded by any
 * decoder. PNG decoders agree exactly, so an 8-bit RGB or RGBA PNG gives the server's input
 * exactly (16-bit, palette and tRNS PNGs are reduced by Pillow in their own modes). JPEG
 * decoders differ by a level or two (IDCT, chroma upsampling), and for a JPEG larger than 4x
 * the input size the server decodes at a reduced DCT scale first, which no pixel-level step
 * can reproduce: expect probabilities close to, not identical with, the server's. A canvas's
 * `getImageData` also rounds semi-transparent pixels (premultiplied storage).
 */

/** Decoded pixels, row-major, 8 bits a channel: RGB (3 channels) or RGBA (4, e.g. ImageData). */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
  /** 3 (RGB) or 4 (RGBA); inferred from the data's length when absent. */
  channels?: 3 | 4;
}

/** RGB pixels, 3 channels. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A photo is reduced before resizing when its longer side is over this many times the input size. */
export const OVERSAMPLING = 4;

/** The model's uint8 RGB input (`size * size * 3` bytes, shape (size, size, 3)) from decoded pixels. */
export function toModelInput(image: Pixels, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, not ${size}`);
  const channels = channelsOf(image);
  const longer = Math.max(image.width, image.height);
  let rgb: RgbPixels;
  if (longer > size * OVERSAMPLING) {
    // decode_rgb reduces first, then composites: RGBA is reduced premultiplied (Pillow's "RGBa").
    const factor = Math.ceil(longer / (size * OVERSAMPLING));
    const pixels = { width: image.width, height: image.height, data: image.data, channels };
    rgb = toRgb(channels === 4 ? unpremultiply(reduce(premultiply(pixels), factor)) : reduce(pixels, factor));
  } else {
    rgb = toRgb(image);
  }
  const shrinks = size <= rgb.height && size <= rgb.width;
  return (shrinks ? resizeArea(rgb, size, size) : resizeLinear(rgb, size, size)).data;
}

function channelsOf(image: Pixels): 3 | 4 {
  const pixels = image.width * image.height;
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1) {
    throw new RangeError(`invalid image size ${image.width}x${image.height}`);
  }
  const channels = image.channels ?? image.data.length / pixels;
  if ((channels !== 3 && channels !== 4) || image.data.length !== pixels * channels) {
    throw new RangeError(
      `expected ${image.width}x${image.height} RGB or RGBA pixels (${pixels * 3} or ${pixels * 4} bytes), ` +
        `got ${image.data.length} bytes`,
    );
  }
  return channels;
}

/** RGB pixels; RGBA is composited onto opaque white exactly as Pillow's `alpha_composite` does. */
export function toRgb(image: Pixels): RgbPixels {
  const channels = channelsOf(image);
  const count = image.width * image.height;
  const out = new Uint8Array(count * 3);
  if (channels === 3) {
    out.set(image.data);
    return { width: image.width, height: image.height, data: out };
  }
  const data = image.data;
  for (let i = 0; i < count; i++) {
    const alpha = data[i * 4 + 3];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = alpha === 0 ? 255 : overWhite(data[i * 4 + c], alpha);
  }
  return { width: image.width, height: image.height, data: out };
}

// Pillow's AlphaComposite.c with an opaque white destination (PRECISION_BITS = 7).
function overWhite(value: number, alpha: number): number {
  const blend = 255 * (255 - alpha);
  const outa255 = alpha * 255 + blend;
  const coef1 = Math.floor((alpha * 255 * 255 * 128) / outa255);
  const coef2 = 255 * 128 - coef1;
  const tmp = value * coef1 + 255 * coef2 + (0x80 << 7);
  return (((tmp >>> 8) + tmp) >>> 8) >>> 7;
}

/** Pillow's `Image.reduce(factor)` of 8-bit RGB or RGBA (premultiplied for RGBA, as Pillow does:
 * see `premultiply`): box averages over factor x factor, smaller boxes at the right and bottom. */
export function reduce(image: Pixels, factor: number): Pixels & { channels: 3 | 4; data: Uint8Array } {
  const channels = channelsOf(image);
  if (factor <= 1) return { width: image.width, height: image.height, data: Uint8Array.from(image.data), channels };
  const { width, height, data } = image;
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const out = new Uint8Array(outWidth * outHeight * channels);
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = oy * factor;
    const y1 = Math.min(y0 + factor, height);
    for (let ox = 0; ox < outWidth; ox++) {
      const x0 = ox * factor;
      const x1 = Math.min(x0 + factor, width);
      const scale = (x1 - x0) * (y1 - y0);
      // division_UINT32(scale, 8): 2^32 / (256 * scale) truncated; amend: scale / 2 truncated.
      const multiplier = Math.floor(2 ** 24 / scale);
      const amend = Math.floor(scale / 2);
      for (let c = 0; c < channels; c++) {
        let sum = amend;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) sum += data[(y * width + x) * channels + c];
        }
        out[(oy * outWidth + ox) * channels + c] = Math.floor((sum * multiplier) / 2 ** 24);
      }
    }
  }
  return { width: outWidth, height: outHeight, data: out, channels };
}

/** RGBA to premultiplied RGBa, as Pillow converts before reducing: round(c * a / 255). */
export function premultiply(image: Pixels): Pixels & { channels: 4 } {
  const data = image.data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3];
    for (let c = 0; c < 3; c++) {
      const tmp = data[i + c] * alpha + 128;
      out[i + c] = ((tmp >> 8) + tmp) >> 8;
    }
    out[i + 3] = alpha;
  }
  return { width: image.width, height: image.height, data: out, channels: 4 };
}

/** Premultiplied RGBa back to RGBA, as Pillow does: 255 * c / a truncated (alpha 0 or 255 kept). */
export function unpremultiply(image: Pixels): Pixels & { channels: 4 } {
  const data = image.data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3];
    for (let c = 0; c < 3; c++) {
      out[i + c] = alpha === 0 || alpha === 255 ? data[i + c] : Math.min(255, Math.floor((255 * data[i + c]) / alpha));
    }
    out[i + 3] = alpha;
  }
  return { width: image.width, height: image.height, data: out, channels: 4 };
}

const f32 = Math.fround;

/** cvRound: to the nearest integer, half to even (the SSE conversion's default mode). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
}

/** OpenCV's saturate_cast<uchar>(float): round half to even, then clamp. */
function saturateRound(value: number): number {
  const rounded = roundHalfEven(value);
  return rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
}

interface AreaWeight {
  di: number;
  si: number;
  alpha: number;
}

// computeResizeAreaTab (imgproc/src/resize.cpp), in pixels rather than channel offsets.
function areaTable(sourceSize: number, destinationSize: number, scale: number): AreaWeight[] {
  const table: AreaWeight[] = [];
  for (let dx = 0; dx < destinationSize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, sourceSize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, sourceSize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) table.push({ di: dx, si: sx1 - 1, alpha: f32((sx1 - fsx1) / cellWidth) });
    for (let sx = sx1; sx < sx2; sx++) table.push({ di: dx, si: sx, alpha: f32(1.0 / cellWidth) });
    if (fsx2 - sx2 > 1e-3) {
      table.push({ di: dx, si: sx2, alpha: f32(Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth) });
    }
  }
  return table;
}

/** `cv2.resize(..., interpolation=cv2.INTER_AREA)` of uint8 RGB when neither side grows. */
export function resizeArea(image: RgbPixels, outWidth: number, outHeight: number): RgbPixels {
  const { width, height } = image;
  if (outWidth > width || outHeight > height) throw new RangeError("resizeArea only shrinks (INTER_AREA decimation)");
  const scaleX = 1 / (outWidth / width); // hal::resize: scale = 1 / inv_scale, inv_scale = dsize / ssize
  const scaleY = 1 / (outHeight / height);
  const integerX = Math.round(scaleX);
  const integerY = Math.round(scaleY);
  if (Math.abs(scaleX - integerX) < Number.EPSILON && Math.abs(scaleY - integerY) < Number.EPSILON) {
    return areaFast(image, outWidth, outHeight, integerX, integerY);
  }
  const xtab = areaTable(width, outWidth, scaleX);
  const ytab = areaTable(height, outHeight, scaleY);
  const out = new Uint8Array(outWidth * outHeight * 3);
  const rowWidth = outWidth * 3;
  const buffer = new Float32Array(rowWidth);
  const sum = new Float32Array(rowWidth);
  let previous = ytab[0].di;
  for (const { di: dy, si: sy, alpha: beta } of ytab) {
    buffer.fill(0);
    const row = sy * width * 3;
    for (const { di, si, alpha } of xtab) {
      const d = di * 3;
      const s = row + si * 3;
      for (let c = 0; c < 3; c++) buffer[d + c] = f32(buffer[d + c] + f32(image.data[s + c] * alpha));
    }
    if (dy !== previous) {
      const target = previous * rowWidth;
      for (let x = 0; x < rowWidth; x++) {
        out[target + x] = saturateRound(sum[x]);
        sum[x] = f32(beta * buffer[x]);
      }
      previous = dy;
    } else {
      for (let x = 0; x < rowWidth; x++) sum[x] = f32(sum[x] + f32(beta * buffer[x]));
    }
  }
  const target = previous * rowWidth;
  for (let x = 0; x < rowWidth; x++) out[target + x] = saturateRound(sum[x]);
  return { width: outWidth, height: outHeight, data: out };
}

// resizeAreaFast_: whole-number factors. 2x2 rounds half up with integers (its vector path);
// any other factor multiplies the integer sum by the float 1/area and rounds half to even.
function areaFast(image: RgbPixels, outWidth: number, outHeight: number, sx: number, sy: number): RgbPixels {
  const { width, data } = image;
  const out = new Uint8Array(outWidth * outHeight * 3);
  const area = sx * sy;
  const scale = f32(1 / area);
  const halves = sx === 2 && sy === 2;
  for (let dy = 0; dy < outHeight; dy++) {
    for (let dx = 0; dx < outWidth; dx++) {
      for (let c = 0; c < 3; c++) {
        let total = 0;
        for (let y = dy * sy; y < dy * sy + sy; y++) {
          for (let x = dx * sx; x < dx * sx + sx; x++) total += data[(y * width + x) * 3 + c];
        }
        out[(dy * outWidth + dx) * 3 + c] = halves ? (total + 2) >> 2 : saturateRound(f32(total * scale));
      }
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

interface LinearTaps {
  offsets: Int32Array; // the first source pixel of each destination pixel
  weights: Int16Array; // two fixed-point weights per destination pixel, summing to 2048
  max: number; // columns from here on copy their one source pixel (the right border)
}

// The coordinate tables of resize.cpp for INTER_LINEAR (fixed point, ksize 2). Columns outside
// the image take their border pixel whole; rows keep their fraction and read the border row twice
// (OpenCV clamps only the row index), which its vector pass rounds differently.
function linearTaps(sourceSize: number, destinationSize: number, scale: number, columns: boolean): LinearTaps {
  const offsets = new Int32Array(destinationSize);
  const weights = new Int16Array(destinationSize * 2);
  let max = destinationSize;
  for (let d = 0; d < destinationSize; d++) {
    let f = f32((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = f32(f - s);
    if (columns && s < 0) {
      f = 0;
      s = 0;
    }
    if (columns && s + 1 >= sourceSize) {
      max = Math.min(max, d);
      if (s >= sourceSize - 1) {
        f = 0;
        s = sourceSize - 1;
      }
    }
    offsets[d] = s;
    weights[d * 2] = saturateShort(f32(f32(1 - f) * COEF_SCALE));
    weights[d * 2 + 1] = saturateShort(f32(f * COEF_SCALE));
  }
  return { offsets, weights, max };
}

function saturateShort(value: number): number {
  return Math.max(-32768, Math.min(32767, roundHalfEven(value)));
}

const clip = (index: number, size: number): number => (index < 0 ? 0 : index >= size ? size - 1 : index);
const int16 = (value: number): number => Math.max(-32768, Math.min(32767, value));
const mulHi = (a: number, b: number): number => (a * b) >> 16;

/** `cv2.resize(..., interpolation=cv2.INTER_LINEAR)` of uint8 RGB (OpenCV's fixed-point path). */
export function resizeLinear(image: RgbPixels, outWidth: number, outHeight: number): RgbPixels {
  const { width, height, data } = image;
  const scaleX = 1 / (outWidth / width);
  const scaleY = 1 / (outHeight / height);
  const xt = linearTaps(width, outWidth, scaleX, true);
  const yt = linearTaps(height, outHeight, scaleY, false);
  const rowWidth = outWidth * 3;
  // Horizontal pass of every source row a destination row needs: source * weight, integers.
  const rows = new Map<number, Int32Array>();
  const horizontal = (sy: number): Int32Array => {
    let row = rows.get(sy);
    if (row) return row;
    row = new Int32Array(rowWidth);
    const base = sy * width * 3;
    for (let dx = 0; dx < outWidth; dx++) {
      const s = base + xt.offsets[dx] * 3;
      for (let c = 0; c < 3; c++) {
        row[dx * 3 + c] =
          dx < xt.max
            ? data[s + c] * xt.weights[dx * 2] + data[s + 3 + c] * xt.weights[dx * 2 + 1]
            : data[s + c] * COEF_SCALE;
      }
    }
    rows.set(sy, row);
    return row;
  };
  const out = new Uint8Array(outWidth * outHeight * 3);
  // VResizeLinearVec_32s8u: 16 outputs at a time, then 8 while more than 8 remain (128-bit
  // vectors); the rest in scalar code. The vector path drops 4 bits and rounds differently.
  let vectorEnd = 0;
  while (vectorEnd <= rowWidth - 16) vectorEnd += 16;
  while (vectorEnd < rowWidth - 8) vectorEnd += 8;
  for (let dy = 0; dy < outHeight; dy++) {
    const sy = yt.offsets[dy];
    const s0 = horizontal(clip(sy, height));
    const s1 = horizontal(clip(sy + 1, height));
    const b0 = yt.weights[dy * 2];
    const b1 = yt.weights[dy * 2 + 1];
    const target = dy * rowWidth;
    for (let x = 0; x < rowWidth; x++) {
      let value: number;
      if (x < vectorEnd) {
        const sum = int16(mulHi(int16(s0[x] >> 4), b0) + mulHi(int16(s1[x] >> 4), b1));
        value = (sum + 2) >> 2;
      } else {
        value = (s0[x] * b0 + s1[x] * b1 + (1 << (COEF_BITS * 2 - 1))) >> (COEF_BITS * 2);
      }
      out[target + x] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}
