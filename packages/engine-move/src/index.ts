/**
 * @vdsm-kit/engine-move: the disk-move orchestrator (copy, then delete) that
 * engine code imports. An empty shell for now: it builds, and its place in the
 * project graph (it imports only @vdsm-kit/client) is fixed. The commands, the
 * task manager and the store arrive with the orchestrator issue.
 */
export const ENGINE_MOVE_PACKAGE = '@vdsm-kit/engine-move';
