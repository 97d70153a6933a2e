/**
 * Counting the bytes the data plane moves (copies and postZero wipes), for
 * the fake's metrics. Counted as the work advances (the fraction done of the
 * volume's size), so a scrape mid-copy sees it grow and a stopped copy counts
 * what it got through.
 */

/** Where the counts go (control/metrics.ts). */
export interface DataMeter {
  /** Guest-visible bytes of a volume copied. */
  copied(bytes: number): void;
  /** Bytes of a volume zeroed. */
  wiped(bytes: number): void;
}

/** A progress callback that counts as it goes; `complete` counts the rest (a copier need not report 1). */
export interface MeteredProgress {
  readonly onProgress: (fraction: number) => void;
  complete(): void;
}

/**
 * `onProgress` (if any) with, before it, `count` of the bytes newly done:
 * fraction × `size`, rounded, never going back, never past `size`.
 */
export function meteredProgress(size: number, count: ((bytes: number) => void) | undefined, onProgress?: (fraction: number) => void): MeteredProgress {
  let counted = 0;
  const advance = (fraction: number): void => {
    if (count === undefined || !(fraction > 0)) return;
    const total = Math.round(Math.min(1, fraction) * size);
    if (total <= counted) return;
    count(total - counted);
    counted = total;
  };
  return {
    onProgress: (fraction) => {
      advance(fraction);
      onProgress?.(fraction);
    },
    complete: () => advance(1),
  };
}
