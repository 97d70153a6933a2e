/**
 * `Volume.*` (VDSM's API.Volume, `ctorArgs = ['volumeID', 'storagepoolID',
 * 'storagedomainID', 'imageID']`): getInfo and delete here; copy and create
 * come with their job modules.
 */
import type { StorageContext } from '../storage/context.js';
import { copyVolumeVerbs } from '../storage/copy-volume.js';
import { createVolumeVerbs } from '../storage/create-volume.js';
import { deleteVolumes } from '../storage/delete-volumes.js';
import { volumeInfo } from '../storage/volume-info.js';
import { emulate } from './registry.js';
import type { ApiModule } from './registry.js';

/** The `Volume` namespace of the host serving `ctx`. */
export function volumeApi(ctx: StorageContext): ApiModule {
  return {
    namespace: 'Volume',
    verbs: [
      emulate('Volume.getInfo', ({ volumeID, storagedomainID, imageID }) => volumeInfo(ctx, storagedomainID, imageID, volumeID)),
      // API.Volume.delete is HSM.deleteVolume with a one-volume list.
      emulate('Volume.delete', (params) =>
        deleteVolumes(ctx, {
          spUUID: params.storagepoolID,
          sdUUID: params.storagedomainID,
          imgUUID: params.imageID,
          volumes: [params.volumeID],
          postZero: params.postZero,
          force: params.force,
          discard: params.discard,
        }),
      ),
      ...copyVolumeVerbs(ctx),
      ...createVolumeVerbs(ctx),
    ],
  };
}
