import { Duplex } from 'node:stream';

/**
 * Two in-memory duplex streams wired back to back: what one writes, the other
 * reads. Stands in for a socket in unit tests (Node 20 lacks
 * `stream.duplexPair`, added in 22.6). Ending one side ends the other's
 * readable side, as a TCP FIN would; destroying one destroys both, as a reset.
 */
export function createDuplexPair(): [Duplex, Duplex] {
  let left!: Duplex;
  let right!: Duplex;
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        // Deliver on a later tick, as a socket would, so writers never re-enter readers.
        setImmediate(() => {
          peer().push(chunk);
          callback();
        });
      },
      final(callback) {
        setImmediate(() => {
          peer().push(null);
          callback();
        });
      },
      destroy(error, callback) {
        const other = peer();
        if (!other.destroyed) setImmediate(() => other.destroy());
        callback(error);
      },
    });
  left = make(() => right);
  right = make(() => left);
  return [left, right];
}
