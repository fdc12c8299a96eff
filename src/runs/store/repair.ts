/**
 * Rebuilding a run's attention.idx from attention.bin, for a run whose index is torn, corrupt
 * or missing. (Readers do not need this: they walk attention.bin past a bad index on their own;
 * rebuilding just makes the next open fast again.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './crc32';
import { encodeHeader, FILES, HEADER_BYTES, KIND, type StoreProblem } from './format';
import { scanAttention } from './reader';
import { indexRecord } from './records';

/**
 * Writes a fresh attention.idx for the frames attention.bin holds (replacing any old index
 * atomically) and returns how many it lists and what was wrong with attention.bin, if anything.
 * Do not call it on a run that is still being written.
 */
export function rebuildAttentionIndex(dir: string): { frames: number; problems: StoreProblem[] } {
  const { frames, problems } = scanAttention(path.join(dir, FILES.attention));
  const n = indexRecord.bytes();
  const rec = n + 8;
  const b = new Uint8Array(HEADER_BYTES + frames.length * rec);
  const dv = new DataView(b.buffer);
  b.set(encodeHeader(KIND.attentionIndex, 0), 0);
  frames.forEach((f, i) => {
    const o = HEADER_BYTES + i * rec;
    dv.setUint32(o, n, true);
    indexRecord.encode(dv, o + 4, f);
    dv.setUint32(o + 4 + n, crc32(b, o, o + 4 + n), true);
  });
  const file = path.join(dir, FILES.attentionIndex);
  const tmp = path.join(dir, `.${FILES.attentionIndex}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, b);
  fs.renameSync(tmp, file);
  return { frames: frames.length, problems };
}
