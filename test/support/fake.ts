/**
 * Starting in-process fakes for a suite: plain (TCP and WebSocket clients on
 * one port), mutual TLS, and a throw-away PKI for the TLS ones. Every start
 * registers its own cleanup with the suite's `TeardownHelper`.
 */
import { startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm, FakeVdsmOptions } from '@vdsm-kit/fake-vdsm';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import type { TeardownHelper } from './teardown.js';

export type { FakeVdsm } from '@vdsm-kit/fake-vdsm';
export type { TempTestPki, TestPki, TestPkiParty } from '@vdsm-kit/test-support/pki';

/**
 * Starts a fake VDSM on 127.0.0.1 and a free port (unless `options` say
 * otherwise) with a temporary state directory; closed by `td`.
 */
export async function startFake(td: TeardownHelper, options: FakeVdsmOptions = {}): Promise<FakeVdsm> {
  return td.track(await startFakeVdsm(options), (fake) => fake.close());
}

/** A fresh CA, server, client and rogue client (VDSM layout) in a temporary directory, removed by `td`. */
export async function createPki(td: TeardownHelper): Promise<TempTestPki> {
  return td.track(await createTempTestPki(), (pki) => pki.remove());
}

/**
 * A fake that refuses anything but mutual TLS (a real host's default),
 * using the PKI's server certificate.
 */
export function startTlsFake(td: TeardownHelper, pki: TempTestPki, options: FakeVdsmOptions = {}): Promise<FakeVdsm> {
  return startFake(td, { tls: pki.server.credentials, tlsOnly: true, ...options });
}
