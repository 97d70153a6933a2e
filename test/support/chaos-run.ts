/**
 * Runs one chaos case from start to verdict:
 *
 * 1. a fresh fake (in-process, or a `fake-vdsm serve` process when the case
 *    SIGKILLs it) with the disk on the source domain, and its checksum;
 * 2. the case's fault rules armed, then the move started (in-process or the
 *    CLI) while a driver watches the fake's call count: at each crash's call
 *    it crashes the fake (a SIGKILL for a process) and brings it back after
 *    the case's down time, at the kill's call it SIGKILLs the CLI, and it
 *    restarts a fake that a `crash` fault took down;
 * 3. once that run has ended (an outcome, a kill, an error): every fault rule
 *    removed, the fake up, and the orchestrator restarted on the same store
 *    to resume whatever is unfinished;
 * 4. the invariants (chaos-invariants.ts).
 *
 * The answer is the list of broken invariants, empty for a pass.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMoveStore } from '@vdsm-kit/engine-move';
import type { ChaosCase } from './chaos-case.js';
import { domainsOf } from './chaos-case.js';
import type { ChaosFake } from './chaos-fake.js';
import { startInProcessFake, startProcessFake } from './chaos-fake.js';
import { checkChaosInvariants } from './chaos-invariants.js';
import { cliEnd, runInProcess, startCli } from './chaos-orchestrator.js';
import type { MoveSpec, RunEnd } from './chaos-orchestrator.js';
import type { EngineMoveChild } from './engine-move-process.js';
import { TeardownHelper } from './teardown.js';

/** Real milliseconds between two looks at the fake's call count. */
const DRIVER_TICK_MS = 10;

/** Whether a case needs the fake as a process (a SIGKILL of it, by the driver or by a `crash` fault under the CLI). */
function needsFakeProcess(c: ChaosCase): boolean {
  return c.crashes.some((crash) => crash.sigkill) || (c.runner === 'cli' && c.faults.some((f) => 'crash' in f.action));
}

/**
 * Crashes and restarts the fake at the case's calls, restarts it after a
 * `crash` fault, and SIGKILLs the CLI at its call, until `stop()`.
 */
class ScheduleDriver {
  readonly #fake: ChaosFake;
  readonly #pending: ChaosCase['crashes'][number][];
  #killAt: number | undefined;
  #child: EngineMoveChild | undefined;
  #stopped = false;
  readonly #loop: Promise<void>;
  readonly log: string[] = [];

  constructor(fake: ChaosFake, c: ChaosCase, base: number) {
    this.#fake = fake;
    this.#pending = [...c.crashes].sort((a, b) => a.afterCalls - b.afterCalls).map((crash) => ({ ...crash, afterCalls: crash.afterCalls + base }));
    this.#killAt = c.kill !== null && 'afterCalls' in c.kill ? c.kill.afterCalls + base : undefined;
    this.#loop = this.#run();
  }

  watch(child: EngineMoveChild): void {
    this.#child = child;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await new Promise((resolve) => setTimeout(resolve, DRIVER_TICK_MS));
      if (this.#fake.isDown()) {
        // A `crash` fault: bring it back as a supervisor would.
        this.log.push('fake down by a fault: restarting');
        await this.#fake.restart();
        continue;
      }
      const calls = await this.#fake.callsAnswered();
      if (this.#killAt !== undefined && calls >= this.#killAt && this.#child) {
        this.log.push(`SIGKILL engine-move at call ${calls}`);
        this.#killAt = undefined;
        this.#child.kill();
      }
      const crash = this.#pending[0];
      if (crash && calls >= crash.afterCalls) {
        this.#pending.shift();
        this.log.push(`crash the fake at call ${calls}, down ${crash.downMs} ms`);
        await this.#fake.crash();
        await new Promise((resolve) => setTimeout(resolve, crash.downMs));
        await this.#fake.restart();
      }
    }
  }

  /** Ends the schedule; the fake is up when it resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    if (this.#fake.isDown()) await this.#fake.restart();
  }
}

/** Whether the store has recorded a move of the disk (a refusal before that changed nothing). */
async function moveRecorded(db: string, diskId: string): Promise<boolean> {
  if (!existsSync(db)) return false;
  const store = SqliteMoveStore.open({ path: db });
  try {
    return (await store.listMoves({ diskId })).length > 0;
  } finally {
    await store.close();
  }
}

export interface CaseVerdict {
  readonly broken: string[];
  /** What happened, for a failure's report. */
  readonly log: string[];
}

export async function runChaosCase(c: ChaosCase): Promise<CaseVerdict> {
  const td = new TeardownHelper();
  const folder = await mkdtemp(join(tmpdir(), 'chaos-'));
  td.add(() => rm(folder, { recursive: true, force: true }));
  const log: string[] = [];
  try {
    const { src, dst } = domainsOf(c.direction);
    const fake = needsFakeProcess(c) ? await startProcessFake(td, folder, src, c.fakeSeed) : await startInProcessFake(td, folder, src, c.fakeSeed);
    const db = join(folder, 'moves.sqlite');
    const checksum = (await fake.control.checksum(src, fake.disk.image, fake.disk.volume)).checksum;
    const spec: MoveSpec = { diskId: fake.disk.image, src, dst, wipe: c.wipe, legacy: c.legacy };

    for (const rule of c.faults) await fake.control.addFault(rule);
    const driver = new ScheduleDriver(fake, c, await fake.callsAnswered());
    let first: RunEnd;
    try {
      if (c.runner === 'in-process') {
        first = await runInProcess(td, fake.hosts, db, spec);
      } else {
        const child = startCli(td, fake.hosts, db, spec, c.kill !== null && 'failpoint' in c.kill ? c.kill.failpoint : undefined);
        driver.watch(child);
        first = await cliEnd(child, spec.diskId);
      }
    } finally {
      await driver.stop();
      log.push(...driver.log);
    }
    log.push(`first run: ${JSON.stringify(first)}`);
    log.push(`faults fired: ${JSON.stringify((await fake.control.faultLog()).map((f) => f['action'] ?? f))}`);

    // Restart and resume, with no fault left. A move refused before it was
    // recorded (discovery met a fault) changed nothing: the user runs it again.
    await fake.control.clearFaults();
    const recorded = await moveRecorded(db, spec.diskId);
    const again = recorded ? null : spec;
    const second = c.runner === 'in-process' ? await runInProcess(td, fake.hosts, db, again) : await cliEnd(startCli(td, fake.hosts, db, again), spec.diskId);
    log.push(`${recorded ? 'resume' : 'refused before recording, run again'}: ${JSON.stringify(second)}`);
    const reported = second.kind === 'outcome' ? second : first.kind === 'outcome' && second.kind === 'none' ? first : second;
    const broken = await checkChaosInvariants({ control: fake.control, db, disk: fake.disk, src, dst, checksum, reported });
    // A run ends with an outcome or is killed; giving up with an error leaves the move to whoever resumes it.
    if (first.kind === 'error' && recorded) broken.unshift(`the first run gave up with an error instead of an outcome: ${first.message}`);
    return { broken, log };
  } catch (error) {
    // A case that cannot even run (a fake that does not come back, a refused rule) fails with what happened so far.
    return { broken: [`the case threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`], log };
  } finally {
    await td.run().catch((error: unknown) => log.push(`teardown: ${String(error)}`));
  }
}
