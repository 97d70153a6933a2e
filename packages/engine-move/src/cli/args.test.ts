import { join } from 'node:path';
import { expect } from 'chai';
import { USAGE_EXIT_CODE, defaultDbPath, parseArgs, parseHosts } from './args.js';

const IDS = ['--pool', '11111111-1111-4111-8111-111111111111', '--disk', '44444444-4444-4444-8444-444444444444'];
const DOMAINS = ['--from', '22222222-2222-4222-8222-222222222222', '--to', '33333333-3333-4333-8333-333333333333'];

describe('engine-move command line', function () {
  it('reads a move with every option', function () {
    const parsed = parseArgs(['move', '--hosts', 'h1:54321,[::1]:54322', '--insecure', ...IDS, ...DOMAINS, '--wipe', '--discard', '--legacy', '--db', '/tmp/x.sqlite', '--poll-interval', '2.5', '--timeout', '30', '--json']);
    expect(parsed.kind).to.equal('run');
    if (parsed.kind !== 'run') return;
    expect(parsed.args).to.deep.equal({
      command: 'move',
      connection: { hosts: [{ host: 'h1', port: 54321 }, { host: '::1', port: 54322 }], tls: null, callTimeoutMs: 30_000 },
      db: '/tmp/x.sqlite',
      poolId: '11111111-1111-4111-8111-111111111111',
      diskId: '44444444-4444-4444-8444-444444444444',
      srcDomainId: '22222222-2222-4222-8222-222222222222',
      dstDomainId: '33333333-3333-4333-8333-333333333333',
      wipeAfterDelete: true,
      discard: true,
      legacy: true,
      copyPath: 'auto',
      excludeHosts: [],
      copyRetries: 0,
      pollIntervalMs: 2_500,
      json: true,
    });
  });

  it('reads the SDM path options: --path, --exclude-host (repeated or a list), --copy-retries', function () {
    const parsed = parseArgs([
      'submit', '--hosts', 'h1:1,h2:2,h3:3', ...IDS, ...DOMAINS, '--path', 'sdm', '--exclude-host', 'h2:2', '--exclude-host', 'h3:3,[::1]:4', '--copy-retries', '2',
    ]);
    if (parsed.kind !== 'run') return expect.fail(JSON.stringify(parsed));
    expect(parsed.args).to.deep.include({ copyPath: 'sdm', excludeHosts: ['h2:2', 'h3:3', '::1:4'], copyRetries: 2 });
    for (const [argv, wanted] of [
      [['--path', 'fast'], /--path.*fast.*Allowed choices are auto, sdm, spm/s],
      [['--copy-retries', '-1'], /expected an integer >= 0/],
      [['--exclude-host', 'h2'], /'h2' is not HOST:PORT/],
      [['--legacy', '--path', 'sdm'], /--legacy .* cannot take --path sdm/],
    ] as const) {
      const refused = parseArgs(['move', '--hosts', 'h1:1', ...IDS, ...DOMAINS, ...argv]);
      expect(refused.kind, argv.join(' ')).to.equal('exit');
      if (refused.kind === 'exit') expect(refused.stderr, argv.join(' ')).to.match(wanted);
    }
  });

  it("defaults to mutual TLS with VDSM's PKI, the engine's timeouts and the user's state folder", function () {
    const parsed = parseArgs(['move', '--hosts', 'h1:54321', ...IDS, ...DOMAINS]);
    if (parsed.kind !== 'run' || parsed.args.command !== 'move') return expect.fail(JSON.stringify(parsed));
    expect(parsed.args.connection).to.deep.equal({ hosts: [{ host: 'h1', port: 54321 }], tls: { pkiDir: '/etc/pki/vdsm' }, callTimeoutMs: 180_000 });
    expect(parsed.args.pollIntervalMs).to.equal(10_000);
    expect(parsed.args.db).to.equal(defaultDbPath());
  });

  it('puts the default store in $XDG_STATE_HOME, else ~/.local/state, never the working directory', function () {
    expect(defaultDbPath({ XDG_STATE_HOME: '/var/lib/me' }, '/home/u')).to.equal('/var/lib/me/engine-move/moves.sqlite');
    expect(defaultDbPath({}, '/home/u')).to.equal(join('/home/u', '.local', 'state', 'engine-move', 'moves.sqlite'));
    // The spec says a relative XDG_STATE_HOME is invalid and to be ignored.
    expect(defaultDbPath({ XDG_STATE_HOME: 'relative' }, '/home/u')).to.equal('/home/u/.local/state/engine-move/moves.sqlite');
  });

  it('answers usage errors with exit 2 and a message naming the problem', function () {
    const cases: [string[], RegExp][] = [
      [['move', '--hosts', 'h1', ...IDS, ...DOMAINS], /'h1' is not HOST:PORT/],
      [['move', '--hosts', 'h1:70000', ...IDS, ...DOMAINS], /'h1:70000' is not HOST:PORT/],
      [['move', '--hosts', 'h1:1', '--pool', 'nope', '--disk', IDS[3]!, ...DOMAINS], /--pool must be a UUID/],
      [['move', '--hosts', 'h1:1', ...IDS, '--from', DOMAINS[1]!, '--to', DOMAINS[1]!], /same domain/],
      [['move', '--hosts', 'h1:1', '--insecure', '--pki-dir', '/x', ...IDS, ...DOMAINS], /--insecure and --pki-dir/],
      [['move', '--hosts', 'h1:1', ...IDS], /required option '--from/],
      [['cancel', 'not-a-move'], /move must be a UUID/],
      [['frobnicate'], /unknown command/],
      [[], /Usage: engine-move/],
    ];
    for (const [argv, message] of cases) {
      const parsed = parseArgs(argv);
      expect(parsed, argv.join(' ')).to.include({ kind: 'exit', code: USAGE_EXIT_CODE });
      if (parsed.kind === 'exit') expect(parsed.stderr, argv.join(' ')).to.match(message);
    }
  });

  it('prints help with exit 0', function () {
    const parsed = parseArgs(['move', '--help']);
    expect(parsed).to.include({ kind: 'exit', code: 0 });
    if (parsed.kind === 'exit') expect(parsed.stdout).to.contain('--legacy').and.contain('--wipe');
  });

  it('reads status, cancel and audit without hosts', function () {
    expect(parseArgs(['status', '--db', '/d', '--disk', IDS[3]!, '--json'])).to.deep.equal({
      kind: 'run',
      args: { command: 'status', db: '/d', diskId: IDS[3], json: true },
    });
    expect(parseArgs(['cancel', IDS[1]!, '--db', '/d'])).to.deep.equal({ kind: 'run', args: { command: 'cancel', db: '/d', moveId: IDS[1] } });
    expect(parseArgs(['audit', '--db', '/d'])).to.deep.equal({ kind: 'run', args: { command: 'audit', db: '/d', json: false } });
  });

  it('parses host lists', function () {
    expect(parseHosts('a:1,b.example:54321')).to.deep.equal([{ host: 'a', port: 1 }, { host: 'b.example', port: 54321 }]);
  });
});

describe('engine-move --db and ENGINE_MOVE_DB', function () {
  const URL = 'postgres://engine@db.example:5432/moves';

  it('takes --db over ENGINE_MOVE_DB, ENGINE_MOVE_DB over the default file, for every command', function () {
    const env = { ENGINE_MOVE_DB: URL, XDG_STATE_HOME: '/var/lib/me' };
    for (const argv of [['status'], ['audit'], ['migrate'], ['cancel', IDS[1]!], ['resume', '--hosts', 'h1:1'], ['move', '--hosts', 'h1:1', ...IDS, ...DOMAINS]]) {
      const fromEnv = parseArgs(argv, 80, env);
      expect(fromEnv.kind === 'run' && fromEnv.args.db, argv.join(' ')).to.equal(URL);
      const fromFlag = parseArgs([...argv, '--db', '/tmp/mine.sqlite'], 80, env);
      expect(fromFlag.kind === 'run' && fromFlag.args.db, argv.join(' ')).to.equal('/tmp/mine.sqlite');
      const neither = parseArgs(argv, 80, { XDG_STATE_HOME: '/var/lib/me' });
      expect(neither.kind === 'run' && neither.args.db, argv.join(' ')).to.equal('/var/lib/me/engine-move/moves.sqlite');
    }
  });

  it('reads migrate with its store, and an empty ENGINE_MOVE_DB as unset', function () {
    expect(parseArgs(['migrate', '--db', URL], 80, {})).to.deep.equal({ kind: 'run', args: { command: 'migrate', db: URL } });
    const parsed = parseArgs(['migrate'], 80, { ENGINE_MOVE_DB: '', XDG_STATE_HOME: '/s' });
    expect(parsed).to.deep.equal({ kind: 'run', args: { command: 'migrate', db: '/s/engine-move/moves.sqlite' } });
  });

  it('never shows the URL in ENGINE_MOVE_DB (it may hold a password) in the help', function () {
    const parsed = parseArgs(['status', '--help'], 80, { ENGINE_MOVE_DB: 'postgres://u:hunter2@db/moves' });
    expect(parsed).to.include({ kind: 'exit', code: 0 });
    if (parsed.kind === 'exit') expect(parsed.stdout).to.contain('ENGINE_MOVE_DB').and.not.contain('hunter2');
  });

  it('reads submit with the arguments of move', function () {
    const parsed = parseArgs(['submit', '--hosts', 'h1:54321', '--insecure', ...IDS, ...DOMAINS, '--wipe', '--db', 'postgres://e@db/moves']);
    if (parsed.kind !== 'run' || parsed.args.command !== 'submit') return expect.fail(JSON.stringify(parsed));
    expect(parsed.args).to.include({ command: 'submit', db: 'postgres://e@db/moves', wipeAfterDelete: true, diskId: '44444444-4444-4444-8444-444444444444' });
  });

  it('reads a worker: lease (default 30 s), moves held, metrics port on request', function () {
    const parsed = parseArgs(['worker', '--hosts', 'h1:54321', '--insecure', '--db', 'postgres://e@db/moves', '--lease', '2', '--max-moves', '7', '--metrics-port', '0']);
    if (parsed.kind !== 'run' || parsed.args.command !== 'worker') return expect.fail(JSON.stringify(parsed));
    expect(parsed.args).to.deep.include({ leaseMs: 2000, maxMoves: 7, metricsPort: 0, pollIntervalMs: 10_000 });
    const defaults = parseArgs(['worker', '--hosts', 'h1:54321', '--insecure']);
    if (defaults.kind !== 'run' || defaults.args.command !== 'worker') return expect.fail(JSON.stringify(defaults));
    expect(defaults.args.leaseMs).to.equal(30_000);
    expect(defaults.args.maxMoves).to.equal(100);
    expect('metricsPort' in defaults.args).to.equal(false);
  });

  it('refuses a bad lease, moves held or metrics port as usage errors', function () {
    for (const bad of [['--lease', '0'], ['--lease', '0.05'], ['--max-moves', '0'], ['--max-moves', '1.5'], ['--metrics-port', '70000'], ['--metrics-port', 'x']]) {
      const parsed = parseArgs(['worker', '--hosts', 'h1:54321', '--insecure', ...bad]);
      expect(parsed, bad.join(' ')).to.include({ kind: 'exit', code: USAGE_EXIT_CODE });
    }
  });

  it('reads wait with one or more move ids, and refuses anything but UUIDs', function () {
    const ids = ['55555555-5555-4555-8555-555555555555', '66666666-6666-4666-8666-666666666666'];
    const parsed = parseArgs(['wait', ...ids, '--json', '--db', '/tmp/m.sqlite']);
    if (parsed.kind !== 'run' || parsed.args.command !== 'wait') return expect.fail(JSON.stringify(parsed));
    expect(parsed.args).to.deep.equal({ command: 'wait', db: '/tmp/m.sqlite', moveIds: ids, json: true });
    expect(parseArgs(['wait', 'not-a-uuid'])).to.include({ kind: 'exit', code: USAGE_EXIT_CODE });
    expect(parseArgs(['wait'])).to.include({ kind: 'exit', code: USAGE_EXIT_CODE });
  });
});
