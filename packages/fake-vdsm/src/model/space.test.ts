import { BLANK_UUID } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import type { VolumeRecord } from './records.js';
import { blockFreeSpace, blockUsedBytes, domainFreeSpace, fileFreeSpace } from './space.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const EXTENT = 128 * MiB;

function volume(id: string, capacity: number, removed = false): VolumeRecord {
  return {
    domainId: 'sd',
    id,
    imageId: 'img',
    parentId: BLANK_UUID,
    format: 5,
    allocation: 2,
    role: 8,
    diskType: 'DATA',
    capacity,
    legality: 'LEGAL',
    generation: 0,
    description: '',
    ctime: 0,
    removed,
  };
}

describe('model/space', () => {
  describe('block domains', () => {
    it('charges each volume whole 128 MiB extents of its capacity', () => {
      expect(blockUsedBytes([{ capacity: 1 }])).to.equal(EXTENT);
      expect(blockUsedBytes([{ capacity: EXTENT }])).to.equal(EXTENT);
      expect(blockUsedBytes([{ capacity: EXTENT + 1 }])).to.equal(2 * EXTENT);
      expect(blockUsedBytes([{ capacity: GiB }, { capacity: 4096 }])).to.equal(GiB + EXTENT);
      expect(blockUsedBytes([])).to.equal(0);
    });

    it('rounds per volume, not over the sum', () => {
      // Two 64 MiB volumes are two LVs of one extent each, not one extent together.
      expect(blockUsedBytes([{ capacity: 64 * MiB }, { capacity: 64 * MiB }])).to.equal(2 * EXTENT);
    });

    it('derives free space from the capacity, never below 0', () => {
      expect(blockFreeSpace({ capacity: 10 * GiB }, [{ capacity: GiB }, { capacity: 100 * MiB }])).to.equal(10 * GiB - GiB - EXTENT);
      expect(blockFreeSpace({ capacity: GiB }, [{ capacity: 2 * GiB }])).to.equal(0);
    });
  });

  describe('file domains', () => {
    it('subtracts the true size of every volume, removed ones included', async () => {
      const trueSizes = new Map([
        ['a', 5 * MiB],
        ['b', 0],
        ['gone', 3 * MiB],
      ]);
      const asked: string[] = [];
      const free = await fileFreeSpace({ capacity: GiB }, [volume('a', GiB), volume('b', GiB), volume('gone', GiB, true)], (v) => {
        asked.push(v.id);
        return trueSizes.get(v.id) ?? Number.NaN;
      });
      expect(free).to.equal(GiB - 8 * MiB);
      expect(asked).to.deep.equal(['a', 'b', 'gone']);
    });

    it('takes an async size function and never goes below 0', async () => {
      expect(await fileFreeSpace({ capacity: MiB }, [volume('a', GiB)], async () => 2 * MiB)).to.equal(0);
    });
  });

  it('picks the rule by the domain kind', async () => {
    const volumes = [volume('a', GiB)];
    const trueSize = (): number => MiB;
    expect(await domainFreeSpace({ kind: 'block', capacity: 2 * GiB }, volumes, trueSize)).to.equal(GiB);
    expect(await domainFreeSpace({ kind: 'file', capacity: 2 * GiB }, volumes, trueSize)).to.equal(2 * GiB - MiB);
  });
});
