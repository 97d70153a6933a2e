import { expect } from 'chai';
import { VDSM_ERRORS, VDSM_SUCCESS_CODE, VdsmErrorCode, vdsmErrorInfo } from './error-codes.js';

// The codes of vdsm-wire.md §9 (0 is the success status, kept out of the table),
// plus the ones the fake raises from lib/vdsm/storage/exception.py: 204 (deleting
// a volume with children) and 324 (connecting with the wrong master), and the SDM
// job codes of vdsm-sdm.md: 227, 235, 911, 2009.
const SECTION_9_CODES = [
  7, 13, 16, 44, 99, 100, 200, 201, 202, 204, 205, 212, 222, 223, 225, 227, 231, 235, 251, 253, 254, 256, 259, 260, 261, 262, 264,
  265, 266, 268, 300, 304, 309, 313, 321, 323, 324, 349, 350, 353, 355, 358, 369, 374, 375, 379, 397, 400, 401, 402, 403,
  405, 406, 410, 411, 412, 413, 441, 442, 443, 504, 550, 551, 610, 650, 651, 653, 654, 656, 657, 661, 851, 853, 855,
  911, 1000, 2005, 2009, 3000,
];

describe('VDSM error table', () => {
  it('has every code of the reference tables, once each, with unique names', () => {
    const codes = VDSM_ERRORS.map((row) => row.code);
    const expected = [...SECTION_9_CODES, -32700, -32600, -32601, -32602, -32603, -32604, -32605, 5022];
    expect([...codes].sort((a, b) => a - b)).to.deep.equal([...expected].sort((a, b) => a - b));
    expect(new Set(VDSM_ERRORS.map((row) => row.name)).size).to.equal(VDSM_ERRORS.length);
    expect(vdsmErrorInfo(VDSM_SUCCESS_CODE)).to.equal(undefined);
  });

  it("gives VDSM's class names and messages exactly", () => {
    const rows: Array<[number, string, string]> = [
      [-32700, 'JsonRpcParseError', 'Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text.'],
      [-32600, 'JsonRpcInvalidRequestError', 'Invalid request'],
      [-32601, 'JsonRpcMethodNotFoundError', 'The method does not exist or is not available'],
      [-32602, 'JsonRpcInvalidParamsError', 'Invalid method parameter(s)'],
      [-32603, 'JsonRpcInternalError', 'Internal JSON-RPC error'],
      [-32604, 'JsonRpcBindingsError', 'Missing bindings for JSON-RPC.'],
      [-32605, 'JsonRpcNoResponseError', 'No response for JSON-RPC request'],
      [99, 'RecoveryInProgress', 'Recovering from crash or Initializing'],
      [256, 'ImageDeleteError', "Could not remove all image's volumes"],
      [268, 'ImageDoesNotExistInSD', 'Image does not exist in domain'],
      [309, 'StoragePoolUnknown', 'Unknown pool id, pool not connected'],
      [358, 'StorageDomainDoesNotExist', 'Storage domain does not exist'],
      [401, 'UnknownTask', 'Task id unknown'],
      [410, 'TaskStateError', 'Operation is not allowed in this task state'],
      [441, 'TaskStateTransitionError', 'cannot move task to requested state'],
      [654, 'SpmStatusError', 'Not SPM'],
      [851, 'ResourceTimeout', 'Resource timeout'],
      [855, 'ResourceAcqusitionFailed', 'Could not acquire resource. Probably resource factory threw an exception.'],
      [1000, 'InvalidParameterException', 'Invalid parameter'],
      [5022, 'VDS_NETWORK_ERROR', 'Message timeout which can be caused by communication issues'],
    ];
    for (const [code, name, message] of rows) {
      expect(vdsmErrorInfo(code), String(code)).to.deep.equal({ code, name, message });
    }
  });

  it('names every code', () => {
    expect(VdsmErrorCode.UnknownTask).to.equal(401);
    expect(VdsmErrorCode.SpmStatusError).to.equal(654);
    expect(VdsmErrorCode.JsonRpcMethodNotFoundError).to.equal(-32601);
    expect(VdsmErrorCode.VDS_NETWORK_ERROR).to.equal(5022);
    for (const row of VDSM_ERRORS) expect(VdsmErrorCode[row.name]).to.equal(row.code);
    expect(Object.isFrozen(VdsmErrorCode)).to.equal(true);
  });

  it('knows nothing of codes outside the table', () => {
    expect(vdsmErrorInfo(206)).to.equal(undefined);
    expect(vdsmErrorInfo(-1)).to.equal(undefined);
  });
});
