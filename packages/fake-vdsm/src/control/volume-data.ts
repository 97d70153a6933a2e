/**
 * `POST /volumes/:sd/:img/:vol/data`: writes bytes into a volume's real file
 * (through qemu-io for a qcow2 layer), so a test can give a disk content
 * and later check a copy by its checksum.
 */
import { CHECKSUM_ALGORITHM, CHECKSUM_BLOCK_SIZE } from '../data/checksum.js';
import { checksum, writeData } from '../data/volume-files.js';
import type { StorageHost } from '../host/storage-host.js';
import { ControlError } from './control-api.js';
import type { VolumeChecksum, WriteDataRequest, WriteDataResult } from './control-api.js';
import { liveVolumePath, requireVolume } from './inspect.js';

/** Largest single write accepted (a pattern is materialised in memory). */
export const MAX_WRITE_BYTES = 64 * 1024 * 1024;

/**
 * The bytes a request asks for: `hex`, `base64`, or `pattern` (a byte 0-255)
 * repeated `length` times; exactly one.
 *
 * @throws ControlError 'bad_request' for anything else.
 */
export function bytesOf(request: WriteDataRequest): Buffer {
  const given = [request.hex, request.base64, request.pattern].filter((value) => value !== undefined).length;
  if (given !== 1) throw new ControlError('bad_request', 'give exactly one of hex, base64, or pattern with length');
  let bytes: Buffer;
  if (request.hex !== undefined) {
    if (typeof request.hex !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(request.hex)) throw new ControlError('bad_request', 'hex must be an even number of hex digits');
    bytes = Buffer.from(request.hex, 'hex');
  } else if (request.base64 !== undefined) {
    if (typeof request.base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(request.base64)) throw new ControlError('bad_request', 'base64 is not valid base64');
    bytes = Buffer.from(request.base64, 'base64');
  } else {
    const { pattern, length } = request;
    if (!Number.isInteger(pattern) || (pattern as number) < 0 || (pattern as number) > 255) throw new ControlError('bad_request', 'pattern must be a byte, 0-255');
    if (!Number.isSafeInteger(length) || (length as number) < 1) throw new ControlError('bad_request', 'pattern needs a length of at least 1 byte');
    if ((length as number) > MAX_WRITE_BYTES) throw new ControlError('bad_request', `length is limited to ${MAX_WRITE_BYTES} bytes per write`);
    bytes = Buffer.alloc(length as number, pattern as number);
  }
  if (bytes.length === 0) throw new ControlError('bad_request', 'nothing to write');
  if (bytes.length > MAX_WRITE_BYTES) throw new ControlError('bad_request', `at most ${MAX_WRITE_BYTES} bytes per write`);
  return bytes;
}

/**
 * Writes the request's bytes at its guest offset.
 *
 * @throws ControlError 'bad_request' for bad ids, bytes, or a range past the volume's capacity;
 *   'not_found' for no such volume; 'conflict' for a removed one.
 */
export async function writeVolumeData(storage: StorageHost, domainId: unknown, imageId: unknown, volumeId: unknown, request: WriteDataRequest): Promise<WriteDataResult> {
  const volume = requireVolume(storage, domainId, imageId, volumeId);
  const path = liveVolumePath(storage, volume);
  if (!Number.isSafeInteger(request.offset) || request.offset < 0) throw new ControlError('bad_request', 'offset must be a byte offset >= 0');
  const bytes = bytesOf(request);
  if (request.offset + bytes.length > volume.capacity) {
    throw new ControlError('bad_request', `bytes ${request.offset}..${request.offset + bytes.length} run past the volume's capacity ${volume.capacity}`);
  }
  await writeData(path, request.offset, bytes, { format: volume.format });
  return { written: bytes.length };
}

/** The block checksum of a live volume's guest content, with its algorithm and block size. */
export async function volumeChecksum(storage: StorageHost, domainId: unknown, imageId: unknown, volumeId: unknown): Promise<VolumeChecksum> {
  const volume = requireVolume(storage, domainId, imageId, volumeId);
  const sum = await checksum(liveVolumePath(storage, volume), volume.format, { capacity: volume.capacity });
  return { algorithm: CHECKSUM_ALGORITHM, blockSize: CHECKSUM_BLOCK_SIZE, checksum: sum };
}
