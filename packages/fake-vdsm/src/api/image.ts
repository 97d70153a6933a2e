/**
 * `Image.*` (VDSM's API.Image, `ctorArgs = ['imageID', 'storagepoolID',
 * 'storagedomainID']`): getVolumes, delete and deleteVolumes here; move,
 * cloneStructure and syncData come with their job modules.
 */
import { cloneStructureVerbs } from '../storage/clone-structure.js';
import type { StorageContext } from '../storage/context.js';
import { deleteImage } from '../storage/delete-image.js';
import { deleteVolumes } from '../storage/delete-volumes.js';
import { imageVolumes } from '../storage/domain-getters.js';
import { moveImageVerbs } from '../storage/move-image.js';
import { syncDataVerbs } from '../storage/sync-data.js';
import { emulate } from './registry.js';
import type { ApiModule } from './registry.js';

/** The `Image` namespace of the host serving `ctx`. */
export function imageApi(ctx: StorageContext): ApiModule {
  return {
    namespace: 'Image',
    verbs: [
      emulate('Image.getVolumes', ({ imageID, storagedomainID }) => imageVolumes(ctx, storagedomainID, imageID)),
      emulate('Image.delete', (params) => deleteImage(ctx, params)),
      emulate('Image.deleteVolumes', (params) =>
        deleteVolumes(ctx, {
          spUUID: params.storagepoolID,
          sdUUID: params.storagedomainID,
          imgUUID: params.imageID,
          volumes: params.volumeList,
          postZero: params.postZero,
          force: params.force,
          discard: params.discard,
        }),
      ),
      ...moveImageVerbs(ctx),
      ...cloneStructureVerbs(ctx),
      ...syncDataVerbs(ctx),
    ],
  };
}
