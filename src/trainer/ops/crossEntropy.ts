/**
 * Softmax cross-entropy from logits: the loss summed over the batch, the number of correct
 * argmaxes, and the gradient of the MEAN loss with respect to the logits.
 */
import type { BatchResult } from '../core';

/**
 * logits: (B, C), labels: (B); writes dlogits (B, C) = (softmax − onehot)·scale when given,
 * scale = 1/B by default (the gradient of the mean). The loss is accumulated in double precision.
 * Ties in the argmax count as correct only when the label is the first maximum.
 */
export function crossEntropy(
  logits: Float32Array, labels: Int32Array, B: number, C: number,
  dlogits: Float32Array | null = null, scale = 1 / B,
): BatchResult {
  let lossSum = 0;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    const o = b * C;
    const y = labels[b];
    let mx = -Infinity;
    let arg = 0;
    for (let c = 0; c < C; c++) {
      if (logits[o + c] > mx) {
        mx = logits[o + c];
        arg = c;
      }
    }
    if (arg === y) correct++;
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[o + c] - mx);
    const logZ = mx + Math.log(s);
    lossSum += logZ - logits[o + y];
    if (dlogits) {
      for (let c = 0; c < C; c++) {
        const p = Math.exp(logits[o + c] - logZ);
        dlogits[o + c] = (p - (c === y ? 1 : 0)) * scale;
      }
    }
  }
  return { lossSum, correct };
}
