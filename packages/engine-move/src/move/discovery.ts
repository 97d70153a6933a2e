/**
 * A disk the store has never seen is read from VDSM before it is locked, as
 * the engine would have it in its database: the image's volumes
 * (`Image.getVolumes`), each one's parent and legality (`Volume.getInfo`),
 * ordered base first.
 */
import { BLANK_UUID } from '@vdsm-kit/client';
import type { VdsmApi } from '@vdsm-kit/client';
import type { DiskRecord, VolumeRecord } from '../store/records.js';

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
  constructor(
    readonly code: 'DISK_NOT_FOUND' | 'BROKEN_CHAIN',
    message: string,
  ) {
    super(message);
  }
}

export async function discoverDisk(api: VdsmApi, poolId: string, domainId: string, diskId: string): Promise<DiskRecord> {
  const images = await api.StorageDomain.getImages({ storagedomainID: domainId });
  if (!images.includes(diskId)) {
    throw new DiscoveryError('DISK_NOT_FOUND', `Domain ${domainId} holds no image ${diskId}`);
  }
  const volumeIds = await api.Image.getVolumes({ imageID: diskId, storagepoolID: poolId, storagedomainID: domainId });
  const infos = await Promise.all(
    volumeIds.map((volumeID) => api.Volume.getInfo({ volumeID, imageID: diskId, storagepoolID: poolId, storagedomainID: domainId })),
  );
  const byParent = new Map(infos.map((info) => [info.parent, info]));
  const chain: typeof infos = [];
  // Walk from the base (whose parent is BLANK, or outside the image: a template) up to the leaf.
  let current = infos.find((info) => info.parent === BLANK_UUID || !volumeIds.includes(info.parent));
  while (current && chain.length < infos.length) {
    chain.push(current);
    current = byParent.get(current.uuid);
  }
  if (chain.length !== infos.length) {
    throw new DiscoveryError('BROKEN_CHAIN', `Image ${diskId} on ${domainId}: volumes ${volumeIds.join(', ')} do not form one chain`);
  }
  const volumes: VolumeRecord[] = chain.map((info, position) => ({
    volumeId: info.uuid,
    diskId,
    domainId,
    status: info.legality === 'LEGAL' ? 'OK' : 'ILLEGAL',
    parentId: position === 0 ? null : chain[position - 1]!.uuid,
    position,
  }));
  return { diskId, poolId, volumes };
}
