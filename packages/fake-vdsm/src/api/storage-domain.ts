/**
 * `StorageDomain.*` (VDSM's API.StorageDomain): the domain getters of
 * storage/domain-getters.ts, bound to the verbs.
 */
import type { StorageContext } from '../storage/context.js';
import { domainImages, domainInfo, domainStats, domainVolumes } from '../storage/domain-getters.js';
import { emulate } from './registry.js';
import type { ApiModule } from './registry.js';

/** The `StorageDomain` namespace of the host serving `ctx`. */
export function storageDomainApi(ctx: StorageContext): ApiModule {
  return {
    namespace: 'StorageDomain',
    verbs: [
      emulate('StorageDomain.getInfo', ({ storagedomainID }) => domainInfo(ctx, storagedomainID)),
      emulate('StorageDomain.getStats', ({ storagedomainID }) => domainStats(ctx, storagedomainID)),
      emulate('StorageDomain.getImages', ({ storagedomainID }) => domainImages(ctx, storagedomainID)),
      emulate('StorageDomain.getVolumes', ({ storagedomainID, imageID }) => domainVolumes(ctx, storagedomainID, imageID)),
    ],
  };
}
