import { expect } from 'chai';
import { VdsmErrorCode } from '@vdsm-kit/client/api';
import { vdsmThrown } from '../test-support/vdsm-rejection.js';
import { parseCopyEndpoint, parseVolumeEndpoint } from './endpoints.js';

const SD = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
const IMG = '0f1e2d3c-4b5a-4697-8877-665544332211';
const VOL = '11111111-2222-4333-8444-555555555555';

describe('jobs/endpoints', () => {
  it('reads a div endpoint, ids normalized as str(uuid.UUID(x)) (case, braces, no dashes)', () => {
    const endpoint = parseCopyEndpoint({ endpoint_type: 'div', sd_id: SD.toUpperCase(), img_id: `{${IMG}}`, vol_id: VOL.replaceAll('-', ''), generation: 3 });
    expect(endpoint).to.deep.equal({ sdId: SD, imgId: IMG, volId: VOL, generation: 3, prepared: false });
    // properties.Boolean takes 0 and 1 (`1 in (True, False)`), a Python bool is an int.
    expect(parseCopyEndpoint({ endpoint_type: 'div', sd_id: SD, img_id: IMG, vol_id: VOL, prepared: 1, generation: true })).to.include({ prepared: true, generation: 1 });
  });

  it("fails with 100 and Python's str(e), in VDSM's order", () => {
    const message = (raw: unknown) => {
      const error = vdsmThrown(() => parseCopyEndpoint(raw));
      expect(error.code).to.equal(VdsmErrorCode.GeneralException);
      return error.message;
    };
    expect(message(null)).to.equal("'NoneType' object has no attribute 'get'");
    expect(message({ sd_id: SD })).to.equal("'endpoint_type'");
    expect(message({ endpoint_type: 'external', url: 'rbd:pool/vol' })).to.equal("Invalid or unsupported endpoint {'url': 'rbd:pool/vol'}");
    expect(message({ endpoint_type: 'div', img_id: 'bad' })).to.equal('Property sd_id is required');
    expect(message({ endpoint_type: 'div', sd_id: SD, img_id: 7 })).to.equal("'int' object has no attribute 'replace'");
    expect(message({ endpoint_type: 'div', sd_id: SD, img_id: IMG, vol_id: `${VOL}0` })).to.equal('badly formed hexadecimal UUID string');
    expect(message({ endpoint_type: 'div', sd_id: SD, img_id: IMG, vol_id: VOL, generation: '1' })).to.equal("Invalid value '1' for integer property generation");
    expect(message({ endpoint_type: 'div', sd_id: SD, img_id: IMG, vol_id: VOL, prepared: 'yes' })).to.equal("Invalid value 'yes' for boolean property prepared");
  });

  it("reads update_volume's vol_info without endpoint_type", () => {
    expect(parseVolumeEndpoint({ sd_id: SD, img_id: IMG, vol_id: VOL })).to.deep.equal({ sdId: SD, imgId: IMG, volId: VOL, generation: undefined, prepared: false });
  });
});
