/**
 * The transport matrix (MQTT.js style: one shared suite, run once per
 * transport). Each entry knows how to start the fake it needs and how to
 * build a `VdsmClient` that reaches it:
 *
 * | name | fake                                  | client                              |
 * | ---- | ------------------------------------- | ----------------------------------- |
 * | tcp  | plain                                 | `transport: 'tcp'`                  |
 * | tls  | mutual TLS only (a real host's setup) | `transport: 'tls'` + client PKI     |
 * | ws   | plain, WebSocket upgrade on same port | `transport: 'ws'` + the fake's URL  |
 */
import { VdsmClient } from '@vdsm-kit/client';
import type { VdsmClientOptions } from '@vdsm-kit/client';
import type { FakeVdsmOptions } from '@vdsm-kit/fake-vdsm';
import type { ChannelTarget } from '@vdsm-kit/client/transport';
import { createPki, startFake } from './fake.js';
import type { FakeVdsm, TempTestPki } from './fake.js';
import type { TeardownHelper } from './teardown.js';

/** The transports a `VdsmClient` speaks. */
export type TransportName = NonNullable<VdsmClientOptions['transport']>;

/** A started fake plus how to reach it over one transport. */
export interface TransportEndpoint {
  readonly transport: TransportName;
  /** The fake running now (a new one after `restartFake`). */
  readonly fake: FakeVdsm;
  /** Client options that reach the fake over this transport; `extra` is merged over them. */
  clientOptions(extra?: VdsmClientOptions): VdsmClientOptions;
  /** A new client to the fake, closed by `td`. */
  client(td: TeardownHelper, extra?: VdsmClientOptions): VdsmClient;
  /** The same endpoint for `connectChannel` (raw sessions that watch the traffic). */
  readonly channelTarget: ChannelTarget;
  /**
   * Starts a new fake on the same port with the same options (the
   * previous one must be closed): a host agent coming back after a restart.
   */
  restartFake(): Promise<FakeVdsm>;
}

/** One row of the matrix. */
export interface TransportCase {
  readonly name: TransportName;
  /** Starts the fake (and PKI) this transport needs; everything is undone by `td`. */
  start(td: TeardownHelper): Promise<TransportEndpoint>;
}

/**
 * Fast-failing defaults for tests: a refused connect is not retried for
 * seconds, and a lost answer shows within a test's time.
 */
export const TEST_CLIENT_DEFAULTS: VdsmClientOptions = {
  timeoutMs: 5000,
  connectTimeoutMs: 2000,
  reconnect: { retries: 1, minTimeoutMs: 20, maxTimeoutMs: 50 },
};

/** How one transport sets up the fake and the client. */
interface TransportRecipe {
  readonly name: TransportName;
  readonly needsPki: boolean;
  fakeOptions(pki: TempTestPki | undefined): FakeVdsmOptions;
  clientOptions(fake: FakeVdsm, pki: TempTestPki | undefined): VdsmClientOptions;
  channelTarget(fake: FakeVdsm, pki: TempTestPki | undefined): ChannelTarget;
}

function transportCase(recipe: TransportRecipe): TransportCase {
  return {
    name: recipe.name,
    start: async (td) => {
      const pki = recipe.needsPki ? await createPki(td) : undefined;
      const options = recipe.fakeOptions(pki);
      let fake = await startFake(td, options);
      const clientOptions = (extra: VdsmClientOptions = {}): VdsmClientOptions => ({
        ...TEST_CLIENT_DEFAULTS,
        ...recipe.clientOptions(fake, pki),
        ...extra,
      });
      return {
        transport: recipe.name,
        get fake() {
          return fake;
        },
        get channelTarget() {
          return recipe.channelTarget(fake, pki);
        },
        clientOptions,
        client: (clientTd, extra) => clientTd.track(new VdsmClient(clientOptions(extra)), (client) => client.close()),
        restartFake: async () => {
          fake = await startFake(td, { ...options, port: fake.stomp.port });
          return fake;
        },
      };
    },
  };
}

/** TCP, mutual TLS and WebSocket, in that order. */
export const transports: readonly TransportCase[] = [
  transportCase({
    name: 'tcp',
    needsPki: false,
    fakeOptions: () => ({}),
    clientOptions: (fake) => ({ transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port }),
    channelTarget: (fake) => ({ transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port }),
  }),
  transportCase({
    name: 'tls',
    needsPki: true,
    // tlsOnly: a real host refuses anything but mutual TLS on its port.
    fakeOptions: (pki) => ({ tls: pki!.server.credentials, tlsOnly: true }),
    clientOptions: (fake, pki) => ({ transport: 'tls', host: fake.stomp.host, port: fake.stomp.port, tls: pki!.client.credentials }),
    channelTarget: (fake, pki) => ({ transport: 'tls', host: fake.stomp.host, port: fake.stomp.port, tls: pki!.client.credentials }),
  }),
  transportCase({
    name: 'ws',
    needsPki: false,
    fakeOptions: () => ({}),
    clientOptions: (fake) => ({ transport: 'ws', url: fake.ws }),
    channelTarget: (fake) => ({ transport: 'ws', url: fake.ws }),
  }),
];
