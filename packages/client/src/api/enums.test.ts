import { expect } from 'chai';
import {
  ImageOperation,
  TASK_DONE_STATES,
  TASK_STATE_ON_WIRE,
  TASK_STATE_PREDECESSORS,
  TaskInternalState,
  TaskResult,
  TaskState,
  VolumeAllocation,
  VolumeAllocationName,
  VolumeFormat,
  VolumeFormatName,
  VolumeRole,
  VolumeRoleName,
  valueOfName,
} from './enums.js';

describe('wire enums', () => {
  it("uses VDSM's ints for image and volume operations", () => {
    expect(ImageOperation).to.deep.equal({ Unknown: 0, Copy: 1, Move: 2 });
    expect(VolumeFormat).to.deep.equal({ COW: 4, RAW: 5 });
    expect(VolumeAllocation).to.deep.equal({ Preallocated: 1, Sparse: 2 });
    expect(VolumeRole).to.deep.equal({ Shared: 6, Internal: 7, Leaf: 8 });
  });

  it('maps the ints to the names getInfo reports, and back', () => {
    expect(VolumeFormatName[VolumeFormat.COW]).to.equal('COW');
    expect(VolumeAllocationName[VolumeAllocation.Sparse]).to.equal('SPARSE');
    expect(VolumeRoleName[VolumeRole.Leaf]).to.equal('LEAF');
    expect(valueOfName(VolumeAllocationName, 'PREALLOCATED')).to.equal(1);
    expect(valueOfName(VolumeFormatName, 'RAW')).to.equal(5);
    expect(valueOfName(VolumeRoleName, 'INTERNAL')).to.equal(7);
    expect(valueOfName(VolumeRoleName, 'leaf')).to.equal(undefined);
  });
});

describe('task states', () => {
  const internal = Object.values(TaskInternalState);

  it('maps every internal state to a wire state and result (DEPRECATED_STATE/RESULT)', () => {
    expect(Object.keys(TASK_STATE_ON_WIRE).sort()).to.deep.equal([...internal].sort());
    const wireStates: readonly string[] = Object.values(TaskState);
    const results: readonly string[] = Object.values(TaskResult);
    for (const { taskState, taskResult } of Object.values(TASK_STATE_ON_WIRE)) {
      expect(wireStates).to.include(taskState);
      expect(results).to.include(taskResult);
    }
    expect(TASK_STATE_ON_WIRE.queued).to.deep.equal({ taskState: 'running', taskResult: '' });
    expect(TASK_STATE_ON_WIRE.waitrecover).to.deep.equal({ taskState: 'cleaning', taskResult: '' });
    expect(TASK_STATE_ON_WIRE.raborting).to.deep.equal({ taskState: 'aborting', taskResult: '' });
  });

  it('reports a result exactly for the done states, which all look finished', () => {
    for (const state of internal) {
      const wire = TASK_STATE_ON_WIRE[state];
      expect(wire.taskResult !== '', state).to.equal(TASK_DONE_STATES.has(state));
      if (TASK_DONE_STATES.has(state)) expect(wire.taskState).to.equal('finished');
    }
    expect(TASK_STATE_ON_WIRE.finished.taskResult).to.equal('success');
    expect(TASK_STATE_ON_WIRE.recovered.taskResult).to.equal('cleanSuccess');
    expect(TASK_STATE_ON_WIRE.failed.taskResult).to.equal('cleanFailure');
  });

  it('has transitions between known states only, and none out of a done state except into rollback', () => {
    expect(Object.keys(TASK_STATE_PREDECESSORS).sort()).to.deep.equal([...internal].sort());
    const successorsOf = (from: TaskInternalState): TaskInternalState[] =>
      internal.filter((to) => TASK_STATE_PREDECESSORS[to].includes(from));
    for (const from of internal) for (const to of successorsOf(from)) expect(internal).to.include(to);
    expect(successorsOf('finished')).to.deep.equal(['racquiring']);
    expect(successorsOf('recovered')).to.deep.equal([]);
    expect(successorsOf('failed')).to.deep.equal([]);
    // The auto-recovery path of a failed SPM job (vdsm-wire.md §7.1).
    const path: TaskInternalState[] = ['running', 'aborting', 'racquiring', 'recovering', 'recovered'];
    for (let i = 1; i < path.length; i++) expect(TASK_STATE_PREDECESSORS[path[i]!]).to.include(path[i - 1]);
  });
});
