// Feature standardisation as the relevance model applies it: shared by the scorer (serving) and by training,
// which imports it from here, so the two compute bit-identical inputs.

/** The standardised value of one raw feature value, computed exactly as the exported graph does in FP32. */
export function standardiseValue(x: number, mean: number, scale: number, clip: number): number {
  const z = Math.fround(Math.fround(x - mean) * scale);
  return z > clip ? clip : z < -clip ? -clip : z;
}
