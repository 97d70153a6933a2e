/**
 * The LISTEN side of the PostgreSQL store's wake-ups (postgres-workers.md s4):
 * a dedicated `pg.Client`, never a pooled one (the pool closes idle clients),
 * with TCP keepalive; a periodic `pg_listening_channels()` check, because a
 * listener can go deaf without any error or end event; on any loss a
 * reconnect with capped backoff, and once listening again a `rescan`, because
 * NOTIFY replays nothing that was sent while we were away.
 */
import pg from 'pg';
import type { ClientConfig, Notification } from 'pg';
import { backoffMs, describePgError } from './postgres-retry.js';
import type { Backoff } from './postgres-retry.js';

/** Channel names are constants of ours (LISTEN takes no parameter): checked to be plain identifiers. */
const CHANNEL = /^[a-z_][a-z0-9_]*$/;

export interface PgListenerOptions {
  readonly config: ClientConfig;
  readonly channels: readonly string[];
  readonly onNotification: (channel: string, payload: string) => void;
  /** Listening on every channel (first time or after a reconnect). */
  readonly onListening: () => void;
  readonly log: (line: string) => void;
  /** How often the liveness query runs; it must answer within the same time. */
  readonly checkMs: number;
  readonly backoff: Backoff;
}

export class PgListener {
  readonly #options: PgListenerOptions;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  #listening = false;
  /** The connection attempt or liveness check in progress, so stop() can wait for it. */
  #busy: Promise<void> = Promise.resolve();

  constructor(options: PgListenerOptions) {
    for (const channel of options.channels) if (!CHANNEL.test(channel)) throw new Error(`Bad channel name ${channel}`);
    this.#options = options;
  }

  get listening(): boolean {
    return this.#listening;
  }

  start(): void {
    this.#busy = this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy;
    await this.#drop();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ ...this.#options.config, keepAlive: true, application_name: 'engine-move-listener' });
    this.#client = client;
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('connection ended')));
    client.on('notification', (message: Notification) => {
      if (client === this.#client) this.#options.onNotification(message.channel, message.payload ?? '');
    });
    try {
      await client.connect();
      for (const channel of this.#options.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      this.#lost(client, error);
      return;
    }
    if (client !== this.#client || this.#stopped) return;
    if (this.#failures > 0) this.#options.log(`store listener: listening again after ${this.#failures} failed attempt(s)`);
    this.#failures = 0;
    this.#listening = true;
    this.#options.onListening();
    this.#schedule(() => this.#check(client), this.#options.checkMs);
  }

  async #check(client: pg.Client): Promise<void> {
    if (client !== this.#client || this.#stopped) return;
    let timeout: NodeJS.Timeout | undefined;
    try {
      const answer = client.query<{ channel: string }>('SELECT pg_listening_channels() AS channel');
      const late = new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new Error(`no answer to the liveness query within ${this.#options.checkMs} ms`)), this.#options.checkMs);
      });
      const { rows } = await Promise.race([answer, late]);
      const heard = new Set(rows.map((row) => row.channel));
      const missing = this.#options.channels.filter((channel) => !heard.has(channel));
      if (missing.length > 0) throw new Error(`not listening on ${missing.join(', ')}`);
    } catch (error) {
      this.#lost(client, error);
      return;
    } finally {
      clearTimeout(timeout);
    }
    this.#schedule(() => this.#check(client), this.#options.checkMs);
  }

  #schedule(step: () => Promise<void>, delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#busy = step();
    }, delayMs);
  }

  /** The client failed in any way: drop it and connect anew after a backoff (once per client). */
  #lost(client: pg.Client, error: unknown): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#listening = false;
    client.end().catch(() => undefined);
    if (this.#stopped) return;
    const delay = backoffMs(this.#failures, this.#options.backoff);
    this.#failures += 1;
    this.#options.log(`store listener lost (${describePgError(error)}); reconnecting in ${delay} ms`);
    this.#schedule(() => this.#connect(), delay);
  }

  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#listening = false;
    if (client) await client.end().catch(() => undefined);
  }
}
