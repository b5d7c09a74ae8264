/** Hex SHA-256 with the Web Crypto API (browsers, React Native with a polyfill, Node >= 20). */
export async function sha256Hex(data: Uint8Array | ArrayBuffer): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error("crypto.subtle is not available: the SDK needs the Web Crypto API");
  const digest = await subtle.digest("SHA-256", data as BufferSource);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
