import { expect } from 'chai';
import { VDSM_ERRORS } from './error-codes.js';
import {
  ConnectionLostError,
  ImageDoesNotExistInSDError,
  ImageError,
  InvalidParameterError,
  IsSpmError,
  JsonRpcError,
  LvmError,
  MethodNotFoundError,
  NotSpmError,
  RecoveryInProgressError,
  ResourceError,
  ResourceTimeoutError,
  RpcTimeoutError,
  SpmError,
  StorageDomainDoesNotExistError,
  StorageDomainError,
  StorageError,
  StoragePoolError,
  StoragePoolUnknownError,
  TaskAbortedError,
  TaskError,
  TaskStateError,
  UnknownTaskError,
  VdsmError,
  VdsmNetworkError,
  VolumeError,
  VolumeGroupSizeError,
  vdsmErrorFromRpc,
} from './errors.js';

describe('vdsmErrorFromRpc', () => {
  it('builds the specific class of each routinely handled code, keeping the message', () => {
    const cases: Array<[number, new (...args: never[]) => VdsmError, string]> = [
      [-32601, MethodNotFoundError, 'JsonRpcMethodNotFoundError'],
      [99, RecoveryInProgressError, 'RecoveryInProgress'],
      [268, ImageDoesNotExistInSDError, 'ImageDoesNotExistInSD'],
      [309, StoragePoolUnknownError, 'StoragePoolUnknown'],
      [358, StorageDomainDoesNotExistError, 'StorageDomainDoesNotExist'],
      [401, UnknownTaskError, 'UnknownTask'],
      [410, TaskStateError, 'TaskStateError'],
      [411, TaskAbortedError, 'TaskAborted'],
      [504, VolumeGroupSizeError, 'VolumeGroupSizeError'],
      [654, NotSpmError, 'SpmStatusError'],
      [656, IsSpmError, 'IsSpm'],
      [851, ResourceTimeoutError, 'ResourceTimeout'],
      [1000, InvalidParameterError, 'InvalidParameterException'],
      [5022, VdsmNetworkError, 'VDS_NETWORK_ERROR'],
    ];
    for (const [code, Class, vdsmName] of cases) {
      const error = vdsmErrorFromRpc({ code, message: `message of ${code}` });
      expect(error, String(code)).to.be.instanceOf(Class);
      expect(error.constructor, String(code)).to.equal(Class);
      expect(error.code).to.equal(code);
      expect(error.vdsmName).to.equal(vdsmName);
      expect(error.message).to.equal(`message of ${code}`);
      expect(error.name).to.equal(Class.name);
    }
  });

  it('falls back to the category of the code range', () => {
    const cases: Array<[number, new (...args: never[]) => VdsmError, string]> = [
      [-32700, JsonRpcError, 'JsonRpcParseError'],
      [-32603, JsonRpcError, 'JsonRpcInternalError'],
      [205, VolumeError, 'VolumeCreationError'],
      [206, VolumeError, 'Unknown'],
      [262, ImageError, 'ImageIsNotLegalChain'],
      [313, StoragePoolError, 'StoragePoolNotConnected'],
      [379, StorageDomainError, 'StorageDomainAccessError'],
      [403, TaskError, 'TaskNotFinished'],
      [443, TaskError, 'ActionStopped'],
      [551, LvmError, 'CannotRemoveLogicalVolume'],
      [610, LvmError, 'LogicalVolumeDoesNotExistError'],
      [651, SpmError, 'AcquireLockFailure'],
      [853, ResourceError, 'InvalidResourceName'],
      [200, StorageError, 'StorageException'],
      [2005, StorageError, 'MiscOperationInProgress'],
      [3000, StorageError, 'ResourceException'],
      [100, VdsmError, 'GeneralException'],
      [16, VdsmError, 'UnexpectedError'],
    ];
    for (const [code, Class, vdsmName] of cases) {
      const error = vdsmErrorFromRpc({ code, message: 'm' });
      expect(error.constructor, String(code)).to.equal(Class);
      expect(error.vdsmName, String(code)).to.equal(vdsmName);
      expect(error.code).to.equal(code);
    }
  });

  it("keeps an unknown code as a plain VdsmError named 'Unknown'", () => {
    for (const code of [12345, -1, 0, 4999 + 2, 5023]) {
      const error = vdsmErrorFromRpc({ code, message: 'who knows' });
      expect(error.constructor, String(code)).to.equal(VdsmError);
      expect(error.code).to.equal(code);
      expect(error.vdsmName).to.equal('Unknown');
      expect(error.message).to.equal('who knows');
    }
  });

  it("names every table code with VDSM's class name", () => {
    for (const row of VDSM_ERRORS) {
      const error = vdsmErrorFromRpc({ code: row.code, message: row.message });
      expect(error.vdsmName, String(row.code)).to.equal(row.name);
      expect(error.code).to.equal(row.code);
    }
  });

  it('round-trips through toRpcError', () => {
    const wire = { code: 401, message: "Task id unknown: ('abc',)" };
    const error = vdsmErrorFromRpc(wire);
    expect(error.toRpcError()).to.deep.equal(wire);
    expect(vdsmErrorFromRpc(error.toRpcError())).to.be.instanceOf(UnknownTaskError);
  });
});

describe('VdsmError hierarchy', () => {
  it('lets callers branch with instanceof at every level', () => {
    const unknownTask = new UnknownTaskError();
    expect(unknownTask).to.be.instanceOf(TaskError).and.instanceOf(StorageError).and.instanceOf(VdsmError).and.instanceOf(Error);
    expect(unknownTask).not.to.be.instanceOf(SpmError);
    expect(new NotSpmError()).to.be.instanceOf(SpmError).and.instanceOf(StorageError);
    expect(new MethodNotFoundError()).to.be.instanceOf(JsonRpcError).and.not.instanceOf(StorageError);
    expect(new RecoveryInProgressError()).not.to.be.instanceOf(StorageError);
    expect(new VolumeGroupSizeError()).to.be.instanceOf(LvmError);
    expect(new InvalidParameterError()).to.be.instanceOf(StorageError);
  });

  it("defaults a specific error's message to VDSM's class message", () => {
    expect(new NotSpmError().message).to.equal('Not SPM');
    expect(new UnknownTaskError().message).to.equal('Task id unknown');
    expect(new RecoveryInProgressError().message).to.equal('Recovering from crash or Initializing');
    expect(new UnknownTaskError("Task id unknown: ('x',)").message).to.equal("Task id unknown: ('x',)");
  });

  it('carries a cause', () => {
    const cause = new Error('root');
    expect(new StorageError(200, 'x', { cause }).cause).to.equal(cause);
  });
});

describe('network errors', () => {
  it("times out like the engine: code 5022, the engine's message, method and timeout", () => {
    const error = new RpcTimeoutError('Image.move', 180_000);
    expect(error).to.be.instanceOf(VdsmNetworkError).and.instanceOf(VdsmError);
    expect(error.code).to.equal(5022);
    expect(error.vdsmName).to.equal('VDS_NETWORK_ERROR');
    expect(error.message).to.equal('Message timeout which can be caused by communication issues');
    expect(error.method).to.equal('Image.move');
    expect(error.timeoutMs).to.equal(180_000);
    expect(error.name).to.equal('RpcTimeoutError');
  });

  it('reports a lost connection with its reason and cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new ConnectionLostError('Client close', { cause });
    expect(error).to.be.instanceOf(VdsmNetworkError);
    expect(error).not.to.be.instanceOf(RpcTimeoutError);
    expect(error.code).to.equal(5022);
    expect(error.message).to.equal('Client close');
    expect(error.cause).to.equal(cause);
  });
});
