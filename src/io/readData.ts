/**
 * Node side of text data: read the files a TextDataConfig names and hand them to the pure
 * buildTextDataset. The only place text data touches the file system.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TextDataConfig } from '../trainer/config';
import type { Dataset } from '../trainer/data/dataset';
import { buildTextDataset, type TextFile } from '../trainer/data/text';
import type { Rng } from '../trainer/rng';

/**
 * Load the train (and optional validation / test) files of `cfg`, paths relative to `baseDir`
 * (usually the config file's folder). Errors in a file's contents are DataFormatErrors that
 * name the file as written in the config (`data/train.csv:7: …`); a file that cannot be read
 * is an Error naming its resolved path. With `format: 'auto'` each file's format comes from
 * its extension (detectFormat).
 */
export function loadTextDataset(cfg: TextDataConfig, baseDir: string, rng: Rng): Dataset {
  const read = (name: string): TextFile => ({ name, content: readUtf8(path.resolve(baseDir, name)) });
  const files: { train: TextFile; validation?: TextFile; test?: TextFile } = { train: read(cfg.train) };
  if (cfg.validation !== undefined && cfg.validation !== '') files.validation = read(cfg.validation);
  if (cfg.test !== undefined && cfg.test !== '') files.test = read(cfg.test);
  return buildTextDataset(files, cfg, rng);
}

/** The file as UTF-8 text without a byte-order mark; invalid UTF-8 is an error, not U+FFFD. */
function readUtf8(fullPath: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(fullPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' :
      code === 'EISDIR' ? 'it is a directory' :
      code === 'EACCES' || code === 'EPERM' ? 'permission denied' :
      e instanceof Error ? e.message : String(e);
    throw new Error(`cannot read data file ${fullPath}: ${why}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    throw new Error(`cannot read data file ${fullPath}: not valid UTF-8`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
