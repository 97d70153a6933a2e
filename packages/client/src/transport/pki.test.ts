import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import { PkiError } from '../errors.js';
import { DEFAULT_PKI_DIR, PKI_LAYOUT, loadPki, tlsClientOptions, tlsServerOptions } from './pki.js';

describe('VDSM PKI', () => {
  let pki: TempTestPki;

  before(async () => {
    pki = await createTempTestPki();
  });

  after(async () => {
    await pki?.remove();
  });

  it("uses VDSM's directory and file names", () => {
    expect(DEFAULT_PKI_DIR).to.equal('/etc/pki/vdsm');
    expect(PKI_LAYOUT).to.deep.equal({ key: 'keys/vdsmkey.pem', cert: 'certs/vdsmcert.pem', ca: 'certs/cacert.pem' });
  });

  it('loads the key, certificate and CA from the layout', async () => {
    const dir = pki.client.dir;
    const credentials = await loadPki(dir);
    expect(credentials.key.toString()).to.equal(await readFile(join(dir, 'keys/vdsmkey.pem'), 'utf8'));
    expect(credentials.cert.toString()).to.equal(await readFile(join(dir, 'certs/vdsmcert.pem'), 'utf8'));
    expect(credentials.ca.toString()).to.equal(pki.caCert);
  });

  it('names the missing file', async () => {
    const dir = join(pki.dir, 'incomplete');
    await cp(pki.client.dir, dir, { recursive: true });
    await rm(join(dir, 'certs/cacert.pem'));
    const error = await loadPki(dir).then(
      () => expect.fail('loaded without a CA'),
      (rejection: unknown) => rejection as PkiError,
    );
    expect(error).to.be.instanceOf(PkiError);
    expect(error.code).to.equal('VDSM_ERR_PKI');
    expect(error.path).to.equal(join(dir, 'certs/cacert.pem'));
    expect(error.message).to.contain(`CA certificate ${join(dir, 'certs/cacert.pem')} is missing`);
  });

  it('refuses a file that is not PEM', async () => {
    const dir = join(pki.dir, 'garbled');
    await cp(pki.client.dir, dir, { recursive: true });
    await writeFile(join(dir, 'keys/vdsmkey.pem'), Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    const error = await loadPki(dir).then(
      () => expect.fail('loaded a DER key'),
      (rejection: unknown) => rejection as PkiError,
    );
    expect(error).to.be.instanceOf(PkiError);
    expect(error.message).to.equal(`VDSM PKI private key ${join(dir, 'keys/vdsmkey.pem')} is not a PEM file`);
  });

  it('builds mutual-TLS options: the client skips the hostname check unless asked, the server demands a certificate', () => {
    const client = tlsClientOptions(pki.client.credentials);
    expect(client.rejectUnauthorized).to.equal(true);
    expect(client.ca).to.equal(pki.client.credentials.ca);
    expect(client.checkServerIdentity?.('elsewhere.example', {} as never)).to.equal(undefined);
    expect(tlsClientOptions(pki.client.credentials, true)).to.not.have.property('checkServerIdentity');

    const server = tlsServerOptions(pki.server.credentials);
    expect(server).to.include({ requestCert: true, rejectUnauthorized: true });
  });
});

describe('createTestPki', () => {
  it('makes a CA-signed server and client, and a rogue signed by another CA', async () => {
    const pki = await createTempTestPki();
    try {
      const ca = new X509Certificate(pki.caCert);
      const rogueCa = new X509Certificate(pki.rogueCaCert);
      const cert = (party: { credentials: { cert: string | Buffer } }): X509Certificate => new X509Certificate(party.credentials.cert);

      const server = cert(pki.server);
      expect(server.subject).to.equal('CN=localhost');
      expect(server.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1');
      expect(server.checkIssued(ca) && server.verify(ca.publicKey)).to.equal(true);

      const client = cert(pki.client);
      expect(client.subjectAltName).to.equal(undefined);
      expect(client.checkIssued(ca) && client.verify(ca.publicKey)).to.equal(true);

      const rogue = cert(pki.rogue);
      expect(rogue.checkIssued(ca)).to.equal(false);
      expect(rogue.checkIssued(rogueCa) && rogue.verify(rogueCa.publicKey)).to.equal(true);
      // Every party trusts the real CA.
      for (const party of [pki.server, pki.client, pki.rogue]) expect(party.credentials.ca.toString()).to.equal(pki.caCert);
    } finally {
      await pki.remove();
    }
  });
});
