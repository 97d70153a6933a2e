/**
 * Read-only views of the fake's state for the control plane (`GET /hosts`,
 * `/domains`, `/images`, `/volumes`, `/tasks`, `/locks`). Every id is
 * checked to be a UUID before it reaches the store or a path.
 */
import { checksum, sizeOf } from '../data/volume-files.js';
import { UUID_PATTERN, volumePath } from '../data/layout.js';
import type { StorageHost } from '../host/storage-host.js';
import type { VolumeRecord } from '../model/records.js';
import { ControlError } from './control-api.js';
import type { DomainView, HostView, ImageView, LockView, TaskView, VolumeView } from './control-api.js';

/** Throws ControlError 'bad_request' unless `value` is a UUID; returns it lower-cased (the store's form). */
export function requireUuid(name: string, value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) throw new ControlError('bad_request', `${name} must be a UUID, not ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** Every host with its pool and whether it is that pool's SPM. */
export function listHostViews(storage: StorageHost, isUp: (hostId: number) => boolean): HostView[] {
  const spmOf = new Map(storage.store.listPools().map((pool) => [pool.id, pool.spmHostId]));
  return storage.store.listHosts().map((host) => ({
    id: host.id,
    uuid: host.uuid,
    name: host.name,
    poolId: host.poolId,
    spm: host.poolId !== null && spmOf.get(host.poolId) === host.id,
    up: isUp(host.id),
  }));
}

/** Every domain. */
export function listDomainViews(storage: StorageHost): DomainView[] {
  return storage.store.listDomains().map((domain) => ({
    id: domain.id,
    poolId: domain.poolId,
    name: domain.name,
    kind: domain.kind,
    type: domain.type,
    role: domain.role,
    status: domain.status,
    capacity: domain.capacity,
    reachable: domain.reachable,
  }));
}

/** The live images of a domain (ControlError 'not_found' for an unknown domain). */
export function listImageViews(storage: StorageHost, domainId: unknown): ImageView[] {
  const sd = requireDomain(storage, domainId);
  return storage.store.listImages(sd).map((id) => ({ domainId: sd, id, volumes: storage.store.listVolumes(sd, id).map((volume) => volume.id) }));
}

/** The live volumes of a domain, or of one image on it, with their file sizes. */
export async function listVolumeViews(storage: StorageHost, domainId: unknown, imageId?: unknown): Promise<VolumeView[]> {
  const sd = requireDomain(storage, domainId);
  const img = imageId === undefined ? undefined : requireUuid('image', imageId);
  return Promise.all(storage.store.listVolumes(sd, img).map((volume) => volumeView(storage, volume, false)));
}

/** One volume (removed ones too), its sizes and, when asked, its checksum. */
export async function getVolumeView(storage: StorageHost, domainId: unknown, imageId: unknown, volumeId: unknown, withChecksum: boolean): Promise<VolumeView> {
  return volumeView(storage, requireVolume(storage, domainId, imageId, volumeId), withChecksum);
}

/**
 * The row of a volume, checked to belong to the image named.
 *
 * @throws ControlError 'bad_request' for a non-UUID id, 'not_found' for no such volume.
 */
export function requireVolume(storage: StorageHost, domainId: unknown, imageId: unknown, volumeId: unknown): VolumeRecord {
  const sd = requireDomain(storage, domainId);
  const img = requireUuid('image', imageId);
  const vol = requireUuid('volume', volumeId);
  const volume = storage.store.getVolume(sd, vol);
  if (volume === undefined || volume.imageId !== img) throw new ControlError('not_found', `no volume ${vol} of image ${img} on domain ${sd}`);
  return volume;
}

/** The path of a live volume's file (a removed one lives in a `_remove_me_` folder and is not writable here). */
export function liveVolumePath(storage: StorageHost, volume: VolumeRecord): string {
  if (volume.removed) throw new ControlError('conflict', `volume ${volume.id} is removed (its image was deleted)`);
  return volumePath(storage.stateDir, volume.domainId, volume.imageId, volume.id);
}

/** Every stored task, newest last. */
export function listTaskViews(storage: StorageHost): TaskView[] {
  // One query for all rows, rather than the wire view of every task and then each row again.
  return storage.tasks
    .listRecords()
    .sort((a, b) => a.created - b.created)
    .map((row) => ({
      id: row.id,
      poolId: row.poolId,
      verb: row.verb,
      tag: row.tag,
      state: row.state,
      code: row.code,
      message: row.message,
      kind: row.job.kind,
      progress: row.progress,
    }));
}

/** Every held lock. */
export function listLockViews(storage: StorageHost): LockView[] {
  return storage.locks.held();
}

function requireDomain(storage: StorageHost, domainId: unknown): string {
  const sd = requireUuid('domain', domainId);
  if (storage.store.getDomain(sd) === undefined) throw new ControlError('not_found', `no domain ${sd}`);
  return sd;
}

async function volumeView(storage: StorageHost, volume: VolumeRecord, withChecksum: boolean): Promise<VolumeView> {
  const path = volumePath(storage.stateDir, volume.domainId, volume.imageId, volume.id);
  // A removed volume's file sits in a `_remove_me_` folder: sizes are those of the live path only.
  const sizes = volume.removed ? null : await sizeOf(path).catch(() => null);
  const view: VolumeView = {
    domainId: volume.domainId,
    imageId: volume.imageId,
    id: volume.id,
    parentId: volume.parentId,
    format: volume.format,
    allocation: volume.allocation,
    capacity: volume.capacity,
    legality: volume.legality,
    generation: volume.generation,
    removed: volume.removed,
    sizes,
  };
  if (!withChecksum || sizes === null) return view;
  return { ...view, checksum: await checksum(path, volume.format) };
}
