/**
 * Calibrated similarity. Embedding cosines sit in a narrow band (unrelated ≈ 0.7, paraphrase ≈ 0.9
 * with multilingual-e5-small), so a raw 0.95 means little. Per use case we measure:
 *   ceiling — the current model against itself (two samples of the same prompt);
 *   floor   — the current model's answers to different prompts (unrelated answers);
 * and report the candidate's similarity to the current model both raw and as
 *   calibrated = (raw − floor) / (ceiling − floor), clamped to [0, 1].
 * The similarity threshold (policies.testing.similarityThreshold, 0.95 by default) applies to the calibrated score.
 */

export interface Calibration {
  ceiling: number;
  floor: number;
  /** Pairs each bound was measured on. */
  ceilingPairs: number;
  floorPairs: number;
}

export interface SimilarityResult {
  raw: number;
  calibrated: number | null;
  calibration: Calibration;
  /** Why calibrated is null (too few pairs, or a ceiling not above the floor). */
  problem?: string;
}

export const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

/** The smallest ceiling − floor spread that still calibrates meaningfully. */
export const MIN_SPREAD = 0.02;

export function calibrate(raw: number, calibration: Calibration): SimilarityResult {
  if (calibration.ceilingPairs === 0 || calibration.floorPairs === 0) {
    return { raw, calibrated: null, calibration, problem: `calibration needs answer pairs (self-similarity pairs: ${calibration.ceilingPairs}, unrelated pairs: ${calibration.floorPairs})` };
  }
  const spread = calibration.ceiling - calibration.floor;
  if (spread < MIN_SPREAD) {
    return { raw, calibrated: null, calibration, problem: `the current model's self-similarity (${calibration.ceiling.toFixed(3)}) is not above its similarity to unrelated answers (${calibration.floor.toFixed(3)}) by ${MIN_SPREAD}` };
  }
  return { raw, calibrated: Math.min(1, Math.max(0, (raw - calibration.floor) / spread)), calibration };
}

export const calibratedOne = (raw: number, c: Calibration) => {
  const spread = c.ceiling - c.floor;
  return spread >= MIN_SPREAD ? Math.min(1, Math.max(0, (raw - c.floor) / spread)) : null;
};

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}
