/**
 * The median and the spread of a benchmark's repeated figures: what a reader
 * needs to tell a real difference from this machine's noise (one number from
 * one run says neither).
 */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('no values to take the spread of');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** `1.23x (1.10-1.40)`: the median and its range, as tables print them. */
export function formatSpread(spread: Spread, digits = 2, unit = 'x'): string {
  return `${spread.median.toFixed(digits)}${unit} (${spread.min.toFixed(digits)}-${spread.max.toFixed(digits)})`;
}

/** `value` rounded to `digits` decimals, as the JSON lines carry figures. */
export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `{ name_median, name_min, name_max }`: a spread's keys beside its figure in a JSON line (issue 13), rounded to `digits`. */
export function spreadKeys(name: string, spread: Spread, digits = 3): Record<string, number> {
  return {
    [`${name}_median`]: round(spread.median, digits),
    [`${name}_min`]: round(spread.min, digits),
    [`${name}_max`]: round(spread.max, digits),
  };
}
