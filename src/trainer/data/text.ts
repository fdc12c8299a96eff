/**
 * Text classification data: parse JSON Lines, CSV, TSV or `label sentence` files, tokenise on
 * whitespace, build a vocabulary from the training split and pad everything into a Dataset.
 * Pure: the caller reads the files (see src/io/readData.ts); nothing here touches a disk.
 */
import type { TextDataConfig } from '../config';
import type { Rng } from '../rng';
import { PAD_ID, UNK_ID, makeSplit, type Dataset, type Split } from './dataset';

export type TextFormat = 'jsonl' | 'csv' | 'tsv' | 'lines';

/** One labelled sentence as read from a file. */
export interface TextRecord {
  text: string;
  /** Always a string; a numeric JSON label 3 becomes '3'. */
  label: string;
  /** 1-based line where the record starts (a quoted CSV field may span several lines). */
  line: number;
}

/** A named file's contents, as handed over by whoever read it. */
export interface TextFile {
  name: string;
  content: string;
}

/**
 * Anything wrong with a data file. `message` is `file:line: what is wrong`, the form editors
 * and terminals turn into a link; `detail` is the part after the location.
 */
export class DataFormatError extends Error {
  override readonly name = 'DataFormatError';
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly detail: string;

  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

/** .jsonl / .ndjson → jsonl, .csv → csv, .tsv → tsv, anything else → `label sentence` lines. */
export function detectFormat(fileName: string): TextFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv')) return 'tsv';
  return 'lines';
}

/** The format to parse `fileName` with: the configured one, or detected when `auto`. */
export function resolveFormat(format: TextDataConfig['format'], fileName: string): TextFormat {
  return format === 'auto' ? detectFormat(fileName) : format;
}

/**
 * Whitespace tokenisation: split on any run of whitespace, drop empty pieces, lower-case when
 * asked. Punctuation stays attached to its word ("great!" and "great" are different words):
 * simple, predictable, and what you see in the file is what the model sees.
 */
export function tokenize(text: string, lowercase: boolean): string[] {
  const t = lowercase ? text.toLowerCase() : text;
  return t.split(/\s+/u).filter((w) => w.length > 0);
}

/**
 * Parse one file into records. Throws a DataFormatError (file, 1-based line, what is wrong)
 * on the first malformed record, and on a file with no records at all.
 *
 * - jsonl: one JSON object per non-blank line; `textField` a string, `labelField` a string or
 *   a finite number.
 * - csv: RFC 4180: a header row, fields optionally in double quotes; inside quotes commas,
 *   newlines and doubled quotes ("") are literal. A quote inside an unquoted field is an error.
 * - tsv: a header row, fields split on tabs, no quoting.
 * - lines: `label sentence`: the first whitespace-separated token is the label.
 * Blank lines are skipped everywhere; labels are trimmed; \r\n and \r count as newlines.
 */
export function parseRecords(
  content: string,
  fileName: string,
  format: TextFormat,
  textField: string,
  labelField: string,
): TextRecord[] {
  const text = normaliseNewlines(stripBom(content));
  let records: TextRecord[];
  switch (format) {
    case 'jsonl':
      records = parseJsonl(text, fileName, textField, labelField);
      break;
    case 'csv':
      records = parseTable(parseCsvRows(text, fileName), fileName, 'CSV', textField, labelField);
      break;
    case 'tsv':
      records = parseTable(splitTsvRows(text), fileName, 'TSV', textField, labelField);
      break;
    case 'lines':
      records = parseLines(text, fileName);
      break;
    default: {
      const never: never = format;
      throw new Error(`unknown text format ${String(never)}`);
    }
  }
  if (records.length === 0) {
    const headed = format === 'csv' || format === 'tsv';
    const empty = text.trim().length === 0;
    throw new DataFormatError(fileName, 1, empty || !headed ? 'file is empty (no records)' : 'no data rows after the header');
  }
  return records;
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function normaliseNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  return `a ${typeof v}`;
}

function parseJsonl(text: string, file: string, textField: string, labelField: string): TextRecord[] {
  const out: TextRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = i + 1;
    if (raw.trim().length === 0) continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new DataFormatError(file, line, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new DataFormatError(file, line, `expected a JSON object, found ${describe(v)}`);
    }
    const obj = v as Record<string, unknown>;
    if (!Object.prototype.hasOwnProperty.call(obj, textField)) throw new DataFormatError(file, line, `missing field '${textField}'`);
    if (!Object.prototype.hasOwnProperty.call(obj, labelField)) throw new DataFormatError(file, line, `missing field '${labelField}'`);
    const t = obj[textField];
    const l = obj[labelField];
    if (typeof t !== 'string') throw new DataFormatError(file, line, `field '${textField}' must be a string, found ${describe(t)}`);
    let label: string;
    if (typeof l === 'string') label = l.trim();
    else if (typeof l === 'number' && Number.isFinite(l)) label = String(l);
    else throw new DataFormatError(file, line, `field '${labelField}' must be a string or a number, found ${describe(l)}`);
    if (t.trim().length === 0) throw new DataFormatError(file, line, `field '${textField}' is empty`);
    if (label.length === 0) throw new DataFormatError(file, line, `field '${labelField}' is empty`);
    out.push({ text: t, label, line });
  }
  return out;
}

function parseLines(text: string, file: string): TextRecord[] {
  const out: TextRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    const line = i + 1;
    if (raw.length === 0) continue;
    const m = /^(\S+)\s*([\s\S]*)$/u.exec(raw)!;
    const label = m[1]!;
    const sentence = m[2]!;
    if (sentence.length === 0) {
      throw new DataFormatError(file, line, `label '${label}' has no sentence (expected 'label sentence')`);
    }
    out.push({ text: sentence, label, line });
  }
  return out;
}

/** A row of a CSV or TSV file and the 1-based line it starts on. */
interface Row {
  fields: string[];
  line: number;
}

function splitTsvRows(text: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim().length === 0) continue;
    rows.push({ fields: raw.split('\t'), line: i + 1 });
  }
  return rows;
}

/** RFC 4180 rows; `text` already has \n line ends. Blank rows are dropped. */
function parseCsvRows(text: string, file: string): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [];
  let field = '';
  let fieldQuoted = false; // the current field was a quoted one
  let inQuotes = false;
  let afterQuote = false; // just closed a quoted field: only ',' or a newline may follow
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;

  const endField = (): void => {
    fields.push(field);
    field = '';
    fieldQuoted = false;
    afterQuote = false;
  };
  const endRow = (): void => {
    // A blank line is a row of one unquoted, whitespace-only field.
    const blank = fields.length === 0 && !fieldQuoted && field.trim().length === 0;
    endField();
    if (!blank) rows.push({ fields, line: rowLine });
    fields = [];
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === ',') {
      endField();
    } else if (c === '\n') {
      endRow();
      line++;
      rowLine = line;
    } else if (afterQuote) {
      throw new DataFormatError(file, line, `unexpected character '${c}' after a closing quote (expected ',' or end of line)`);
    } else if (c === '"') {
      if (field.length > 0) {
        throw new DataFormatError(file, line, 'quote inside an unquoted field (quote the whole field and double the quotes inside: "say ""hi""")');
      }
      inQuotes = true;
      fieldQuoted = true;
      quoteLine = line;
    } else {
      field += c;
    }
  }
  if (inQuotes) throw new DataFormatError(file, quoteLine, 'unterminated quote: a quoted field is never closed');
  if (field.length > 0 || fieldQuoted || fields.length > 0) endRow();
  return rows;
}

function parseTable(rows: Row[], file: string, kind: 'CSV' | 'TSV', textField: string, labelField: string): TextRecord[] {
  const header = rows[0];
  if (header === undefined) return [];
  const names = header.fields.map((h) => h.trim());
  const col = (field: string): number => {
    const i = names.indexOf(field);
    if (i < 0) {
      throw new DataFormatError(file, header.line, `${kind} header has no column '${field}' (columns: ${names.map((n) => `'${n}'`).join(', ')})`);
    }
    return i;
  };
  const ti = col(textField);
  const li = col(labelField);
  const width = names.length;
  const out: TextRecord[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.fields.length !== width) {
      throw new DataFormatError(file, row.line, `expected ${width} columns, found ${row.fields.length}`);
    }
    const text = row.fields[ti]!;
    const label = row.fields[li]!.trim();
    if (text.trim().length === 0) throw new DataFormatError(file, row.line, `empty text in column '${textField}'`);
    if (label.length === 0) throw new DataFormatError(file, row.line, `empty label in column '${labelField}'`);
    out.push({ text, label, line: row.line });
  }
  return out;
}

/** A tokenised sentence, remembering where it came from for error messages. */
interface Sentence {
  words: string[];
  label: string;
  file: string;
  line: number;
}

/**
 * Classes are the distinct labels of all splits, sorted: numerically when every label is a
 * number ('2' < '10'), otherwise by UTF-16 code units (locale-independent). Class id = index.
 */
export function orderLabels(labels: Iterable<string>): string[] {
  const distinct = [...new Set(labels)];
  const numeric = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
  const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  if (distinct.length > 0 && distinct.every((l) => numeric.test(l))) {
    return distinct.sort((a, b) => Number(a) - Number(b) || byCodeUnit(a, b));
  }
  return distinct.sort(byCodeUnit);
}

/**
 * The vocabulary of the training sentences: [<pad>, <unk>, words…] where the words are those
 * seen at least `minCount` times, most frequent first, ties alphabetical (by code unit), and
 * at most `maxVocab` of them, so vocab.length ≤ maxVocab + 2.
 */
export function buildVocab(sentences: readonly (readonly string[])[], maxVocab: number, minCount: number): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, maxVocab))
    .map(([w]) => w);
  const vocab: string[] = [];
  vocab[PAD_ID] = '<pad>';
  vocab[UNK_ID] = '<unk>';
  for (const w of words) vocab.push(w);
  return vocab;
}

/**
 * Parse, tokenise and index text files into a Dataset.
 *
 * - Each file's format is `cfg.format`, or detected from its name when `auto`.
 * - Sentences are tokenised with `tokenize` and truncated to their first `cfg.maxLength` words.
 * - Without a validation (test) file, round(n · fraction) training sentences are held out for
 *   it, n = number of sentences in the train file: train is shuffled once with `rng`
 *   (validation = first slice, test = next, train = the rest, all in shuffled order, so the
 *   probe sentences at the start of test are a random mix). When nothing is held out (both
 *   files given, or the missing splits' fractions round to 0), `rng` is not used and train
 *   keeps file order.
 * - The vocabulary is built from the final train split only (see buildVocab); other words map
 *   to UNK_ID. Classes: see orderLabels.
 * - An empty split has n = 0 and T = 1.
 */
export function buildTextDataset(
  files: { train: TextFile; validation?: TextFile; test?: TextFile },
  cfg: TextDataConfig,
  rng: Rng,
): Dataset {
  if (!Number.isInteger(cfg.maxLength) || cfg.maxLength < 1) throw new RangeError(`maxLength must be an integer ≥ 1, got ${cfg.maxLength}`);
  const read = (f: TextFile): Sentence[] =>
    parseRecords(f.content, f.name, resolveFormat(cfg.format, f.name), cfg.textField, cfg.labelField).map((r) => {
      const words = tokenize(r.text, cfg.lowercase);
      if (words.length === 0) throw new DataFormatError(f.name, r.line, 'sentence is empty after tokenising');
      return { words: words.slice(0, cfg.maxLength), label: r.label, file: f.name, line: r.line };
    });

  let train = read(files.train);
  let validation = files.validation !== undefined ? read(files.validation) : undefined;
  let test = files.test !== undefined ? read(files.test) : undefined;

  if (validation === undefined || test === undefined) {
    const n = train.length;
    const fraction = (name: string, f: number): number => {
      if (!(f >= 0 && f < 1)) throw new RangeError(`${name} must be in [0, 1), got ${f}`);
      return Math.round(n * f);
    };
    const nVal = validation === undefined ? fraction('validationFraction', cfg.validationFraction) : 0;
    const nTest = test === undefined ? fraction('testFraction', cfg.testFraction) : 0;
    if (nVal + nTest >= n) {
      throw new RangeError(
        `${files.train.name}: holding out ${nVal} validation + ${nTest} test of ${n} sentences leaves none to train on`,
      );
    }
    if (nVal + nTest === 0) {
      // Nothing to hold out: train keeps file order and rng is left untouched.
      validation ??= [];
      test ??= [];
    } else {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      const pick = (from: number, to: number): Sentence[] => order.slice(from, to).map((i) => train[i]!);
      validation ??= pick(0, nVal);
      test ??= pick(nVal, nVal + nTest);
      train = pick(nVal + nTest, n);
    }
  }

  const vocab = buildVocab(train.map((s) => s.words), cfg.maxVocab, cfg.minCount);
  const wordId = new Map<string, number>();
  for (let i = UNK_ID + 1; i < vocab.length; i++) wordId.set(vocab[i]!, i);
  const classes = orderLabels([...train, ...validation, ...test].map((s) => s.label));
  const classId = new Map(classes.map((c, i) => [c, i] as const));

  const encode = (ss: Sentence[]): Split =>
    makeSplit(
      ss.map((s) => s.words.map((w) => wordId.get(w) ?? UNK_ID)),
      ss.map((s) => classId.get(s.label)!),
    );
  return { vocab, classes, train: encode(train), validation: encode(validation), test: encode(test) };
}
