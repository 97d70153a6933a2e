import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import { TaskRepo } from './task-repo.js';

const POOL = '8c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

describe('TaskRepo (tasks and locks tables)', () => {
  let dir: string;
  let db: StateDatabase;
  let repo: TaskRepo;

  const insert = (id: string, poolId: string | null = POOL, tag = 'spm'): void =>
    repo.insertTask({
      id,
      poolId,
      verb: 'moveImage',
      tag,
      state: 'queued',
      code: 0,
      message: 'Task is initializing',
      job: { kind: 'copy', params: { image: 'i', op: 2 } },
      now: 1000,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-vdsm-repo-'));
    db = openStateDatabase(dir);
    repo = new TaskRepo(db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a task and reads it back decoded, surviving a reopen of the file', () => {
    insert('t1');
    repo.setState('t1', 'running', 0, 'running job 1 of 1', 2000);
    repo.setProgress('t1', 0.25, 2500);
    repo.setRecovery('t1', '{"created":"v"}', 3000);
    db.close();
    db = openStateDatabase(dir);
    repo = new TaskRepo(db);
    expect(repo.getTask('t1')).to.deep.equal({
      id: 't1',
      poolId: POOL,
      verb: 'moveImage',
      tag: 'spm',
      state: 'running',
      code: 0,
      message: 'running job 1 of 1',
      job: { kind: 'copy', params: { image: 'i', op: 2 } },
      progress: 0.25,
      recovery: '{"created":"v"}',
      created: 1000,
      updated: 3000,
    });
  });

  it('lists tasks in creation order, all or by pool, and deletes by id or tag', () => {
    insert('b');
    insert('a', 'other-pool');
    insert('h', null, 'hsm');
    expect(repo.listTasks().map((t) => t.id)).to.deep.equal(['b', 'a', 'h']);
    expect(repo.listTasks(POOL).map((t) => t.id)).to.deep.equal(['b']);
    expect(repo.deleteTasksByTag('hsm')).to.equal(1);
    expect(repo.deleteTask('a')).to.equal(true);
    expect(repo.deleteTask('a')).to.equal(false);
    expect(repo.setState('a', 'running', 0, '', 1)).to.equal(false);
    expect(repo.listTasks().map((t) => t.id)).to.deep.equal(['b']);
  });

  it('rolls a transaction back as a whole', () => {
    insert('t1');
    expect(() =>
      repo.transaction(() => {
        repo.setState('t1', 'running', 0, 'running job 1 of 1', 2);
        throw new Error('crash between two writes');
      }),
    ).to.throw('crash between two writes');
    expect(repo.getTask('t1')?.state).to.equal('queued');
  });

  it('keeps lock rows per owner and drops those of a pool', () => {
    insert('t1');
    insert('t2', 'other-pool');
    repo.insertLock({ namespace: '00_storage', name: 'sd', mode: 'shared', owner: 't1' });
    repo.insertLock({ namespace: '01_img_sd', name: 'img', mode: 'exclusive', owner: 't1' });
    repo.insertLock({ namespace: '00_storage', name: 'sd', mode: 'shared', owner: 't2' });
    expect(repo.listLocks('t1')).to.have.length(2);
    expect(repo.deletePoolLocks(POOL)).to.equal(2);
    expect(repo.listLocks()).to.deep.equal([{ namespace: '00_storage', name: 'sd', mode: 'shared', owner: 't2' }]);
    repo.deleteLock('00_storage', 'sd', 't2');
    expect(repo.listLocks()).to.deep.equal([]);
  });

  it('lets the schema refuse a lock mode VDSM does not have', () => {
    expect(() => repo.insertLock({ namespace: 'n', name: 'x', mode: 'upgradable' as 'shared', owner: 'o' })).to.throw(/CHECK constraint/);
  });
});
