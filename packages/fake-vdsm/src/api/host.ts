/**
 * `Host.*` verbs (VDSM's `API.Global`) that need no storage model: ping2,
 * echo and getCapabilities. The task verbs of this namespace
 * (`Host.getAllTasksStatuses`, ...) arrive with the task manager.
 */
import { networkInterfaces } from 'node:os';
import { hostCapabilities } from './host-capabilities.js';
import type { HostIdentity } from './host-capabilities.js';
import { emulate } from './registry.js';
import type { ApiModule } from './registry.js';

/** What the Host verbs need to know. */
export interface HostApiDependencies {
  readonly identity: HostIdentity;
}

/** The `Host` namespace. */
export function hostApi({ identity }: HostApiDependencies): ApiModule {
  return {
    namespace: 'Host',
    verbs: [
      // API.Global.ping2 returns response.success(); the bridge turns that into `true`.
      emulate('Host.ping2', () => true),
      emulate('Host.echo', ({ message }) => message),
      emulate('Host.getCapabilities', (_params, context) =>
        hostCapabilities(identity, interfaceOf(context.connection.localAddress)),
      ),
    ],
  };
}

/**
 * The name of the local interface holding `address` (what VDSM's bridge
 * reports as `lastClientIface`), or '' when none does (VDSM's answer when
 * it cannot tell).
 */
export function interfaceOf(address: string | undefined): string {
  if (address === undefined) return '';
  // An IPv4 client of a dual-stack socket shows up as ::ffff:a.b.c.d.
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (addresses?.some((info) => info.address === plain)) return name;
  }
  return '';
}
