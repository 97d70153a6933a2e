import { InvalidParameterError, VdsmError } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import {
  assertUuid,
  backingVolumePath,
  domainDir,
  imageDir,
  parseImageDirName,
  removedImageDir,
  volumePath,
  zeroedImageDir,
} from './layout.js';

const SD = '5bc0a1c0-1d6b-4c5e-8a47-0e0f2f2b9a11';
const IMG = 'c1e5bd84-27bd-4d4c-9b8e-4a1f6b7c0d2e';
const VOL = '9f3d2a10-7e4b-4c8a-b1d2-3e4f5a6b7c8d';

/** The VdsmError `fn` throws (fails the test when it throws nothing or something else). */
function vdsmErrorOf(fn: () => unknown): VdsmError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(VdsmError);
    return error as VdsmError;
  }
  expect.fail('expected a VdsmError');
}

describe('data/layout', () => {
  describe('assertUuid', () => {
    it('returns a UUID as given, either case', () => {
      expect(assertUuid('sdUUID', SD)).to.equal(SD);
      expect(assertUuid('sdUUID', SD.toUpperCase())).to.equal(SD.toUpperCase());
    });

    it("rejects anything else with VDSM's 1000 `Invalid parameter: '<name>=<value>'`", () => {
      const error = vdsmErrorOf(() => assertUuid('imgUUID', '../../etc'));
      expect(error).to.be.instanceOf(InvalidParameterError);
      expect(error.code).to.equal(1000);
      expect(error.message).to.equal("Invalid parameter: 'imgUUID=../../etc'");
    });

    for (const [what, value] of [
      ['a parent path', '..'],
      ['a path with a slash', `${SD.slice(0, 35)}/`],
      ['a NUL byte', `${SD.slice(0, 35)}\0`],
      ['a UUID with a trailing newline', `${SD}\n`],
      ['a UUID without dashes', SD.replaceAll('-', '')],
      ['braces', `{${SD}}`],
      ['a non-hex digit', `${SD.slice(0, 35)}g`],
      ['an empty string', ''],
    ] as const) {
      it(`rejects ${what}`, () => {
        expect(vdsmErrorOf(() => assertUuid('volUUID', value)).code).to.equal(1000);
      });
    }

    it("words non-string values as Python's str() would", () => {
      expect(vdsmErrorOf(() => assertUuid('sdUUID', null)).message).to.equal("Invalid parameter: 'sdUUID=None'");
      expect(vdsmErrorOf(() => assertUuid('sdUUID', 42)).message).to.equal("Invalid parameter: 'sdUUID=42'");
    });

    it('escapes control characters the way Python repr does', () => {
      expect(vdsmErrorOf(() => assertUuid('volUUID', 'a\0b')).message).to.equal("Invalid parameter: 'volUUID=a\\x00b'");
    });
  });

  describe('paths', () => {
    it("follow VDSM's file-domain layout <state>/<sd>/images/<img>/<vol>", () => {
      expect(domainDir('/state', SD)).to.equal(`/state/${SD}`);
      expect(imageDir('/state', SD, IMG)).to.equal(`/state/${SD}/images/${IMG}`);
      expect(volumePath('/state', SD, IMG, VOL)).to.equal(`/state/${SD}/images/${IMG}/${VOL}`);
    });

    it('name removed and zeroing images with _remove_me_ and _remove_me_ZERO_', () => {
      expect(removedImageDir('/state', SD, IMG)).to.equal(`/state/${SD}/images/_remove_me_${IMG}`);
      expect(zeroedImageDir('/state', SD, IMG)).to.equal(`/state/${SD}/images/_remove_me_ZERO_${IMG}`);
    });

    it('validate every id before it becomes a path', () => {
      expect(() => volumePath('/state', '..', IMG, VOL)).to.throw(InvalidParameterError, 'sdUUID=..');
      expect(() => volumePath('/state', SD, '../x', VOL)).to.throw(InvalidParameterError, 'imgUUID=../x');
      expect(() => volumePath('/state', SD, IMG, '/etc/passwd')).to.throw(InvalidParameterError, 'volUUID=/etc/passwd');
      expect(() => removedImageDir('/state', SD, 'x/..')).to.throw(InvalidParameterError);
      expect(() => backingVolumePath(IMG, '..')).to.throw(InvalidParameterError);
    });

    it("give a parent's backing path relative to the volume's folder, as VDSM writes it", () => {
      expect(backingVolumePath(IMG, VOL)).to.equal(`../${IMG}/${VOL}`);
    });
  });

  describe('parseImageDirName', () => {
    it('tells images, removed images and images being zeroed apart', () => {
      expect(parseImageDirName(IMG)).to.deep.equal({ kind: 'image', imgUUID: IMG });
      expect(parseImageDirName(`_remove_me_${IMG}`)).to.deep.equal({ kind: 'removed', imgUUID: IMG });
      expect(parseImageDirName(`_remove_me_ZERO_${IMG}`)).to.deep.equal({ kind: 'zeroing', imgUUID: IMG });
    });

    it('ignores names that are not ours', () => {
      for (const name of ['lost+found', '_remove_me_', '_remove_me_junk', `${IMG}.meta`, '.', '..']) expect(parseImageDirName(name), name).to.equal(undefined);
    });
  });
});
