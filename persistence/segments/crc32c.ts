/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, slicing-by-8.
 * Node 20 has no zlib.crc32, and CRC-32C is what iSCSI, ext4 and Kafka use for records.
 * Known answer: crc32c("123456789") = 0xE3069283.
 */
const POLY = 0x82f63b78;

const T = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = T[(t - 1) * 256 + i]!;
    T[t * 256 + i] = (prev >>> 8) ^ T[prev & 0xff]!;
  }
}

const T0 = T.subarray(0, 256);
const T1 = T.subarray(256, 512);
const T2 = T.subarray(512, 768);
const T3 = T.subarray(768, 1024);
const T4 = T.subarray(1024, 1280);
const T5 = T.subarray(1280, 1536);
const T6 = T.subarray(1536, 1792);
const T7 = T.subarray(1792, 2048);
let lastBuffer: ArrayBufferLike | null = null;
let lastView: Int32Array<ArrayBufferLike> = new Int32Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * CRC-32C of `buf[start, end)`, continuing from `crc` (0 to start a new checksum).
 * Returns an unsigned 32-bit value.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  // Bytes up to a 4-byte boundary of the underlying memory, then 8 bytes per step read as
  // two 32-bit words through an Int32Array view (3-4x faster than byte loads).
  if (LITTLE_ENDIAN && end - start >= 64) {
    while (((buf.byteOffset + i) & 3) !== 0) {
      c = (c >>> 8) ^ T0[(c ^ buf[i]!) & 0xff]!;
      i++;
    }
    const words = (end - i) >>> 3 << 1;
    // One view per underlying ArrayBuffer, reused: write buffers and read buffers are pooled.
    const ab = buf.buffer;
    if (ab !== lastBuffer) {
      lastBuffer = ab;
      lastView = new Int32Array(ab, 0, ab.byteLength >>> 2);
    }
    const w = lastView;
    const j0 = (buf.byteOffset + i) >>> 2;
    for (let j = j0, jEnd = j0 + words; j < jEnd; j += 2) {
      c ^= w[j]!;
      const hi = w[j + 1]!;
      c =
        T7[c & 0xff]! ^
        T6[(c >>> 8) & 0xff]! ^
        T5[(c >>> 16) & 0xff]! ^
        T4[c >>> 24]! ^
        T3[hi & 0xff]! ^
        T2[(hi >>> 8) & 0xff]! ^
        T1[(hi >>> 16) & 0xff]! ^
        T0[hi >>> 24]!;
    }
    i += words << 2;
  }
  const stop8 = end - 8;
  while (i <= stop8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      T[1792 + (c & 0xff)]! ^
      T[1536 + ((c >>> 8) & 0xff)]! ^
      T[1280 + ((c >>> 16) & 0xff)]! ^
      T[1024 + (c >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) {
    c = (c >>> 8) ^ T[(c ^ buf[i]!) & 0xff]!;
    i++;
  }
  return ~c >>> 0;
}
