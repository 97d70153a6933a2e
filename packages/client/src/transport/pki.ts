/**
 * VDSM's PKI: where a host keeps its key, certificate and CA, and the mutual
 * TLS settings both ends use (oVirt/vdsm:lib/vdsm/common/pki.py,
 * lib/vdsm/sslutils.py). The same files serve as client credentials (the
 * engine side) and as server credentials (a host, or fake-vdsm).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { PkiError } from '../errors.js';

/** A key, its certificate and the CA that peers must be signed by (PEM text or bytes). */
export interface TlsCredentials {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca: string | Buffer;
}

/** Where VDSM keeps its PKI on a host (`SYSCONF_PATH/pki/vdsm`). */
export const DEFAULT_PKI_DIR = '/etc/pki/vdsm';

/** VDSM's file layout inside a PKI directory. */
export const PKI_LAYOUT = {
  key: 'keys/vdsmkey.pem',
  cert: 'certs/vdsmcert.pem',
  ca: 'certs/cacert.pem',
} as const satisfies Record<keyof TlsCredentials, string>;


const PART_NAMES: Record<keyof TlsCredentials, string> = { key: 'private key', cert: 'certificate', ca: 'CA certificate' };

/**
 * Reads `keys/vdsmkey.pem`, `certs/vdsmcert.pem` and `certs/cacert.pem` from
 * `dir`.
 *
 * @throws PkiError naming the first file that is missing, unreadable or not PEM.
 */
export async function loadPki(dir: string = DEFAULT_PKI_DIR): Promise<TlsCredentials> {
  const read = async (part: keyof TlsCredentials): Promise<Buffer> => {
    const path = join(dir, PKI_LAYOUT[part]);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read';
      throw new PkiError(`VDSM PKI ${PART_NAMES[part]} ${path} ${reason} (${(error as Error).message})`, path, { cause: error });
    }
    // Catches the classic mix-up of a DER file or an empty placeholder here,
    // rather than as an opaque OpenSSL error at the first handshake.
    if (!data.includes('-----BEGIN ')) {
      throw new PkiError(`VDSM PKI ${PART_NAMES[part]} ${path} is not a PEM file`, path);
    }
    return data;
  };
  const [key, cert, ca] = await Promise.all([read('key'), read('cert'), read('ca')]);
  return { key, cert, ca };
}

/**
 * Client-side TLS options as VDSM's own client and the engine use them:
 * present our certificate, verify the server's chain against `ca`
 * (`rejectUnauthorized`), and by default skip the hostname check.
 *
 * Why no hostname check: trust is pinned to the engine's CA, which only signs
 * enrolled hosts, and hosts are routinely reached by an address that is not
 * the certificate's name (an IP, an alias, a renamed host). VDSM's
 * `sslutils.SSLContext.wrapSocket` and the engine do not check it either, so
 * checking would refuse setups that work with the real tools. Pass
 * `verifyHostname: true` to check it anyway.
 */
export function tlsClientOptions(credentials: TlsCredentials, verifyHostname = false): ConnectionOptions {
  return {
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    rejectUnauthorized: true,
    ...(verifyHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/**
 * Server-side TLS options as VDSM's server uses them: a client certificate
 * signed by `ca` is required (`CERT_REQUIRED`); clients without one, or with
 * one from another CA, fail the handshake.
 */
export function tlsServerOptions(credentials: TlsCredentials): TlsOptions {
  return {
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    requestCert: true,
    rejectUnauthorized: true,
  };
}
