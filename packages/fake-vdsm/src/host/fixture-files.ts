/**
 * The data plane behind `applyFixture` (model/fixture.ts `FixtureFiles`) in a
 * running fake: each seeded volume becomes a real file at VDSM's path under
 * the state folder, and the fixture's data is written into it.
 */
import { VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { backingVolumePath, volumePath } from '../data/layout.js';
import { createVolumeFile, removeVolumeFile, roundUpToExtents, writeData } from '../data/volume-files.js';
import type { FixtureFiles } from '../model/fixture.js';
import { DomainKind } from '../model/records.js';

/**
 * `FixtureFiles` over `stateDir`: RAW volumes as sparse (or, PREALLOCATED,
 * allocated) files, COW volumes as qcow2 on their parent (`../<img>/<vol>`,
 * as VDSM records backing files; a plain sparse file when qemu-img is
 * missing). A RAW volume on a block domain stands in for an LV, so its file
 * is sized in whole 128 MiB extents. A file already at the path is replaced
 * first: a fixture applied again after a crash mid-seeding must give the
 * same result, not EEXIST.
 */
export function fixtureFiles(stateDir: string): FixtureFiles {
  return {
    async createVolume(domain, volume, parent) {
      const path = volumePath(stateDir, domain.id, volume.imageId, volume.id);
      await removeVolumeFile(path);
      const raw = volume.format === VolumeFormat.RAW;
      const size = domain.kind === DomainKind.Block && raw ? roundUpToExtents(volume.capacity) : volume.capacity;
      await createVolumeFile(path, {
        format: volume.format,
        capacity: size,
        // A block volume's space is its whole extents, accounted in the model; its
        // file stays sparse (as target-volumes.ts and the copier make them).
        preallocate: domain.kind === DomainKind.File && volume.allocation === VolumeAllocation.Preallocated,
        ...(parent === undefined ? {} : { backing: { path: backingVolumePath(parent.imageId, parent.id), format: parent.format } }),
      });
    },
    async writeData(domain, volume, offset, bytes) {
      await writeData(volumePath(stateDir, domain.id, volume.imageId, volume.id), offset, bytes, { format: volume.format });
    },
  };
}
