/**
 * The `verb` a task reports (`Task.getInfo`): VDSM's HSM method name, which
 * the client's verb table already records per method (`taskVerb`), so it is
 * read from there rather than spelled again.
 */
import { VERBS } from '@vdsm-kit/client/api';
import type { TaskMethod } from '@vdsm-kit/client/api';

/** `taskVerbOf('Image.delete')` is `deleteImage`. */
export function taskVerbOf(method: TaskMethod): string {
  const verb: { readonly taskVerb?: string } = VERBS[method];
  if (verb.taskVerb === undefined) throw new Error(`${method} has no task verb in the client's verb table`);
  return verb.taskVerb;
}
