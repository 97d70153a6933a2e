/**
 * Which tasks each JSON-RPC method starts and which phases their jobs enter:
 * what a task fault rule can match (`match.method`, `match.task.kind`,
 * `match.task.phase`) and what `POST /faults` checks a rule against, so a
 * rule that could never fire is refused instead of silently ignored.
 *
 * The jobs live in src/storage/ (each calls `job.phase(...)`); this table
 * says what they do, and task-catalog.test.ts checks it against the job
 * kinds the fake registers. The fault-table suite (test/fault-table.test.ts)
 * proves each phase is entered.
 */
import type { TaskPhase } from './rule.js';

/** What a job kind does, as the fault rules see it. */
export interface TaskKindInfo {
  /** The JSON-RPC methods that start it. */
  readonly methods: readonly string[];
  /** The phases its job enters, in order (none: task rules cannot touch it). */
  readonly phases: readonly TaskPhase[];
  /**
   * The phases after whose start the job still reports progress, so a
   * `failAt` armed there can fire (a job reporting only its final 1 fails
   * when it ends).
   */
  readonly progressAfter: readonly TaskPhase[];
  /** A phase entered only when the call's params say so (a move's `delete`: `operation` 2). */
  readonly onlyWhen?: { readonly phase: TaskPhase; readonly param: string; readonly value: unknown };
  /** An SDM host job's task: its verb answers `true`, not a task id, and the `dropJob` actions apply to it. */
  readonly hostJob?: true;
}

/** Every job kind of the fake (src/storage/*: the `*_JOB` constants). */
export const TASK_KINDS: Readonly<Record<string, TaskKindInfo>> = {
  moveImage: {
    methods: ['Image.move'],
    phases: ['create', 'copy', 'delete'],
    progressAfter: ['create', 'copy'],
    onlyWhen: { phase: 'delete', param: 'operation', value: 2 },
  },
  copyImage: { methods: ['Volume.copy'], phases: ['create', 'copy'], progressAfter: ['create', 'copy'] },
  createVolume: { methods: ['Volume.create'], phases: ['create'], progressAfter: ['create'] },
  cloneImageStructure: { methods: ['Image.cloneStructure'], phases: ['create'], progressAfter: ['create'] },
  syncImageData: { methods: ['Image.syncData'], phases: ['copy'], progressAfter: ['copy'] },
  purgeImage: { methods: ['Image.delete'], phases: ['delete'], progressAfter: ['delete'] },
  zeroImage: { methods: ['Image.delete'], phases: ['zero'], progressAfter: ['zero'] },
  deleteVolume: { methods: ['Image.deleteVolumes', 'Volume.delete'], phases: ['delete'], progressAfter: ['delete'] },
  // An HSM task whose job enters no phase.
  spmStart: { methods: ['StoragePool.spmStart'], phases: [], progressAfter: [] },
  // SDM host jobs (jobs/): the sdm tasks of SDM.copy_data and SDM.update_volume, named by their job description.
  copy_data: { methods: ['SDM.copy_data'], phases: ['copy'], progressAfter: ['copy'], hostJob: true },
  update_volume: { methods: ['SDM.update_volume'], phases: ['update'], progressAfter: [], hostJob: true },
};

/** The kinds a method starts (empty for a method that starts no task). */
export function kindsOfMethod(method: string): string[] {
  return Object.entries(TASK_KINDS)
    .filter(([, info]) => info.methods.includes(method))
    .map(([kind]) => kind);
}
