/**
 * zlib's CRC-32 (about 5 GB/s), for any length: `zlib.crc32` counts its input's length in 32 bits, so a
 * buffer of 4 GiB or more (an entry of a model's weights) is summed in slices.
 *
 * @since 0.1.0
 */
import { crc32 } from "node:zlib"

const SLICE = 2 ** 30

/**
 * The CRC-32 of `bytes` continued from `crc` (0 to start).
 *
 * @since 0.1.0
 * @category getters
 */
export const update = (crc: number, bytes: Uint8Array): number => {
  if (bytes.byteLength <= SLICE) return crc32(bytes, crc)
  for (let at = 0; at < bytes.byteLength; at += SLICE) crc = crc32(bytes.subarray(at, Math.min(at + SLICE, bytes.byteLength)), crc)
  return crc
}
