/**
 * oVirt's ids (pools, domains, disks, moves) are UUIDs; the CLI and the
 * library check them with this one test before anything is written.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
