/**
 * Throw-away PKIs for TLS tests, made with the `openssl` CLI (no shell, no
 * config file): EC P-256 keys, so a whole PKI takes a few tens of
 * milliseconds. Each party gets VDSM's layout, so `loadPki(party.dir)` and
 * anything that takes a PKI directory (a CLI flag, fake-vdsm) work on it.
 *
 * Test-only: a private workspace package, never published; tests of every
 * package import it as `@vdsm-kit/test-support/pki`.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PKI_LAYOUT, loadPki } from '@vdsm-kit/client/transport';
import type { TlsCredentials } from '@vdsm-kit/client/transport';

const run = promisify(execFile);

/** One party's PKI directory (VDSM layout) and its loaded credentials. */
export interface TestPkiParty {
  /** Directory holding keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem. */
  readonly dir: string;
  readonly credentials: TlsCredentials;
}

export interface TestPki {
  readonly dir: string;
  /** The CA every honest party trusts (PEM). */
  readonly caCert: string;
  /** The other CA, which signed only the rogue certificate (PEM). */
  readonly rogueCaCert: string;
  /** CN=localhost, SAN DNS:localhost + IP:127.0.0.1, signed by the CA. */
  readonly server: TestPkiParty;
  /**
   * CN=vdsm-kit-client, signed by the CA, with no subjectAltName: a server
   * using it passes the chain check but fails any hostname check, which is how
   * tests tell the two apart.
   */
  readonly client: TestPkiParty;
  /**
   * CN=rogue, signed by the OTHER CA, but trusting the real CA: as a client it
   * accepts the server and only its own certificate is wrong; as a server it
   * is refused by honest clients for the same single reason. Its SAN matches
   * localhost too, so hostname checks never muddy that reason.
   */
  readonly rogue: TestPkiParty;
}

/** Removes the directory a temporary PKI lives in. */
export interface TempTestPki extends TestPki {
  remove(): Promise<void>;
}

const DAYS = '3650';
// Extensions are given on the command line and the config is /dev/null, so
// the result does not depend on the system's openssl.cnf.
const NO_CONFIG = ['-config', '/dev/null'];
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];
const CA_EXTENSIONS = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
// serverAuth and clientAuth on every leaf, so a certificate used in the "wrong"
// role fails only for the reason a test means (its CA), never for its purpose.
const LEAF_EXTENSIONS = ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth,clientAuth'];
const LOCALHOST_SAN = ['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];

interface KeyPair {
  readonly keyPath: string;
  readonly certPath: string;
}

async function makeCa(dir: string, name: string): Promise<KeyPair> {
  const pair = { keyPath: join(dir, `${name}.key`), certPath: join(dir, `${name}.pem`) };
  await run('openssl', [
    'req', '-x509', ...NO_CONFIG, ...EC_KEY, '-days', DAYS, '-subj', `/CN=vdsm-kit test ${name}`,
    '-keyout', pair.keyPath, '-out', pair.certPath, ...CA_EXTENSIONS,
  ]);
  return pair;
}

async function makeLeaf(dir: string, name: string, commonName: string, ca: KeyPair, san: readonly string[]): Promise<KeyPair> {
  const pair = { keyPath: join(dir, `${name}.key`), certPath: join(dir, `${name}.pem`) };
  // OpenSSL 3's `req -x509 -CA` makes the key and the CA-signed certificate in one process.
  await run('openssl', [
    'req', '-x509', ...NO_CONFIG, ...EC_KEY, '-days', DAYS, '-subj', `/CN=${commonName}`,
    '-CA', ca.certPath, '-CAkey', ca.keyPath, '-keyout', pair.keyPath, '-out', pair.certPath, ...LEAF_EXTENSIONS, ...san,
  ]);
  return pair;
}

/** Writes one party's files in VDSM's layout and loads them back through `loadPki`. */
async function writeParty(dir: string, leaf: KeyPair, caCert: string): Promise<TestPkiParty> {
  const files: Record<keyof typeof PKI_LAYOUT, string | Buffer> = {
    key: await readFile(leaf.keyPath),
    cert: await readFile(leaf.certPath),
    ca: caCert,
  };
  for (const part of ['key', 'cert', 'ca'] as const) {
    const path = join(dir, PKI_LAYOUT[part]);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, files[part], { mode: part === 'key' ? 0o600 : 0o644 });
  }
  return { dir, credentials: await loadPki(dir) };
}

/**
 * Creates a CA, a server and a client certificate signed by it, and a rogue
 * client certificate signed by another CA, under `dir` (created if needed):
 * `dir/server`, `dir/client`, `dir/rogue` in VDSM's layout, plus the raw
 * material in `dir/work`. Needs `openssl` 3 on PATH.
 */
export async function createTestPki(dir: string): Promise<TestPki> {
  const work = join(dir, 'work');
  await mkdir(work, { recursive: true });
  const [ca, rogueCa] = await Promise.all([makeCa(work, 'CA'), makeCa(work, 'rogue-CA')]);
  const [serverLeaf, clientLeaf, rogueLeaf] = await Promise.all([
    makeLeaf(work, 'server', 'localhost', ca, LOCALHOST_SAN),
    makeLeaf(work, 'client', 'vdsm-kit-client', ca, []),
    makeLeaf(work, 'rogue', 'rogue', rogueCa, LOCALHOST_SAN),
  ]);
  const caCert = await readFile(ca.certPath, 'utf8');
  const rogueCaCert = await readFile(rogueCa.certPath, 'utf8');
  const [server, client, rogue] = await Promise.all([
    writeParty(join(dir, 'server'), serverLeaf, caCert),
    writeParty(join(dir, 'client'), clientLeaf, caCert),
    writeParty(join(dir, 'rogue'), rogueLeaf, caCert),
  ]);
  return { dir, caCert, rogueCaCert, server, client, rogue };
}

/** `createTestPki` in a fresh temporary directory; call `remove()` in `after`. */
export async function createTempTestPki(): Promise<TempTestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'vdsm-kit-pki-'));
  try {
    const pki = await createTestPki(dir);
    return { ...pki, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
