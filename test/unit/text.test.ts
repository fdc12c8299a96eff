/**
 * Text data: parsing of every format, error locations, tokenising, vocabulary, padding,
 * splits, label order, and reading real files from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TextDataConfig } from '../../src/trainer/config';
import { PAD_ID, UNK_ID, type Dataset, type Split } from '../../src/trainer/data/dataset';
import {
  DataFormatError,
  buildTextDataset,
  detectFormat,
  orderLabels,
  parseRecords,
  tokenize,
  type TextFormat,
} from '../../src/trainer/data/text';
import { Rng } from '../../src/trainer/rng';
import { loadTextDataset } from '../../src/io/readData';

function cfg(over: Partial<TextDataConfig> = {}): TextDataConfig {
  return {
    kind: 'text',
    train: 'train.txt',
    validationFraction: 0,
    testFraction: 0,
    format: 'auto',
    textField: 'text',
    labelField: 'label',
    maxVocab: 1000,
    minCount: 1,
    maxLength: 100,
    lowercase: true,
    ...over,
  };
}

/** Sentence i of a split back as words, without padding. */
function words(ds: Dataset, s: Split, i: number): string[] {
  return Array.from(s.tokens.subarray(i * s.T, i * s.T + s.lengths[i]!), (id) => ds.vocab[id]!);
}

function labelsOf(ds: Dataset, s: Split): string[] {
  return Array.from(s.labels, (c) => ds.classes[c]!);
}

/** Asserts fn throws a DataFormatError at file:line whose detail matches `detail`. */
function throwsAt(fn: () => unknown, file: string, line: number, detail: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected DataFormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.equal(e.line, line, e.message);
    assert.ok(e.message.startsWith(`${file}:${line}: `), e.message);
    assert.match(e.detail, detail);
    return true;
  });
}

const parse = (content: string, format: TextFormat, file = `f.${format}`) => parseRecords(content, file, format, 'text', 'label');

// ---------------------------------------------------------------------------------------------
// Formats

test('detectFormat picks the format from the extension', () => {
  assert.equal(detectFormat('a/b.jsonl'), 'jsonl');
  assert.equal(detectFormat('B.NDJSON'), 'jsonl');
  assert.equal(detectFormat('x.csv'), 'csv');
  assert.equal(detectFormat('x.TSV'), 'tsv');
  assert.equal(detectFormat('sst.txt'), 'lines');
  assert.equal(detectFormat('train'), 'lines');
});

test('JSON Lines: string and numeric labels, blank lines skipped, 1-based lines, CRLF', () => {
  const recs = parse('{"text": "good film", "label": "pos"}\r\n\r\n  \n{"label": 3, "text": "bad", "extra": [1]}\r\n', 'jsonl');
  assert.deepEqual(recs, [
    { text: 'good film', label: 'pos', line: 1 },
    { text: 'bad', label: '3', line: 4 },
  ]);
  const custom = parseRecords('{"sentence": "s", "y": 1.5}', 'c.jsonl', 'jsonl', 'sentence', 'y');
  assert.deepEqual(custom, [{ text: 's', label: '1.5', line: 1 }]);
});

test('CSV: header, RFC 4180 quoting (commas, doubled quotes, newlines), CRLF, BOM', () => {
  const csv =
    '\uFEFFid, label ,text\r\n' +
    '1,pos,plain text\r\n' +
    '2,"neg","has, a comma"\r\n' +
    '3,pos,"she said ""wow"" twice"\r\n' +
    '4,neg,"two\r\nlines"\r\n' +
    '5,pos,x\r\n' +
    '"6",pos,""""\n' +
    '\n' +
    '7,neg,last without newline';
  const recs = parse(csv, 'csv');
  assert.deepEqual(recs, [
    { text: 'plain text', label: 'pos', line: 2 },
    { text: 'has, a comma', label: 'neg', line: 3 },
    { text: 'she said "wow" twice', label: 'pos', line: 4 },
    { text: 'two\nlines', label: 'neg', line: 5 },
    { text: 'x', label: 'pos', line: 7 },
    { text: '"', label: 'pos', line: 8 },
    { text: 'last without newline', label: 'neg', line: 10 },
  ]);
});

test('CSV: an empty quoted field in another column is fine', () => {
  assert.deepEqual(parse('text,label,note\ngood,1,""\n', 'csv'), [{ text: 'good', label: '1', line: 2 }]);
});

test('TSV: header, split on tabs, quotes and commas literal', () => {
  const recs = parse('label\ttext\n1\t"quoted", with comma\n\n0\tplain\r\n', 'tsv');
  assert.deepEqual(recs, [
    { text: '"quoted", with comma', label: '1', line: 2 },
    { text: 'plain', label: '0', line: 4 },
  ]);
});

test('lines: first token is the label, the rest the sentence (SST format)', () => {
  const recs = parse('3 a gripping movie\n\n  0\tdull ,  flat .  \r\n__label__pos fine\n', 'lines', 'sst.txt');
  assert.deepEqual(recs, [
    { text: 'a gripping movie', label: '3', line: 1 },
    { text: 'dull ,  flat .', label: '0', line: 3 },
    { text: 'fine', label: '__label__pos', line: 4 },
  ]);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: every case names file and line

test('malformed JSON Lines give DataFormatError with file and line', () => {
  const ok = '{"text": "fine", "label": 1}\n';
  const f = 'data/train.jsonl';
  const p = (s: string) => () => parse(s, 'jsonl', f);
  throwsAt(p(ok + '{"text": "x", "label": 1\n'), f, 2, /invalid JSON/);
  throwsAt(p(ok + '\n[1, 2]\n'), f, 3, /expected a JSON object, found an array/);
  throwsAt(p(ok + 'null\n'), f, 2, /expected a JSON object, found null/);
  throwsAt(p(ok + '{"label": 1}\n'), f, 2, /missing field 'text'/);
  throwsAt(p(ok + ok + '{"text": "x"}\n'), f, 3, /missing field 'label'/);
  throwsAt(p(ok + '{"text": 5, "label": 1}\n'), f, 2, /field 'text' must be a string, found a number/);
  throwsAt(p(ok + '{"text": "x", "label": true}\n'), f, 2, /field 'label' must be a string or a number, found a boolean/);
  throwsAt(p(ok + '{"text": "x", "label": null}\n'), f, 2, /field 'label' must be a string or a number, found null/);
  throwsAt(p(ok + '{"text": "x", "label": 1e999}\n'), f, 2, /field 'label' must be a string or a number/);
  throwsAt(p(ok + '{"text": "  \\t ", "label": 1}\n'), f, 2, /field 'text' is empty/);
  throwsAt(p(ok + '{"text": "x", "label": " "}\n'), f, 2, /field 'label' is empty/);
});

test('malformed CSV gives DataFormatError with file and line', () => {
  const f = 'data/train.csv';
  const p = (s: string) => () => parse(s, 'csv', f);
  // The brief's example: a short row on line 7.
  throwsAt(p('id,text,label\n1,a,x\n2,b,x\n3,c,x\n4,d,x\n5,e,x\n6,f\n'), f, 7, /^expected 3 columns, found 2$/);
  throwsAt(p('id,text,label\n1,a,x,extra\n'), f, 2, /expected 3 columns, found 4/);
  // The unterminated quote is reported where it opened, not at the end of the file.
  throwsAt(p('text,label\na,1\n"never closed,1\nb,2\nc,3\n'), f, 3, /unterminated quote/);
  throwsAt(p('sentence,label\na,1\n'), f, 1, /header has no column 'text' \(columns: 'sentence', 'label'\)/);
  throwsAt(p('\n\ntext,y\na,1\n'), f, 3, /header has no column 'label'/);
  throwsAt(p('text,label\na,1\n   ,1\n'), f, 3, /empty text in column 'text'/);
  throwsAt(p('text,label\na,1\n"b\nc",\n'), f, 3, /empty label in column 'label'/);
  throwsAt(p('text,label\nsay "hi",1\n'), f, 2, /quote inside an unquoted field/);
  throwsAt(p('text,label\n"a\nb"x,1\n'), f, 3, /unexpected character 'x' after a closing quote/);
  throwsAt(p('text,label\n'), f, 1, /no data rows after the header/);
  // Line numbers after a quoted multi-line field stay right.
  throwsAt(p('text,label\n"a\nb\nc",1\nd\n'), f, 5, /expected 2 columns, found 1/);
});

test('malformed TSV gives DataFormatError with file and line', () => {
  const f = 'dev.tsv';
  const p = (s: string) => () => parse(s, 'tsv', f);
  throwsAt(p('text\tlabel\na\t1\n\nb\t1\t2\n'), f, 4, /expected 2 columns, found 3/);
  throwsAt(p('text label\na 1\n'), f, 1, /TSV header has no column 'text'/);
  throwsAt(p('text\tlabel\n \t1\n'), f, 2, /empty text/);
});

test('malformed lines give DataFormatError with file and line', () => {
  const f = 'sst.txt';
  throwsAt(() => parse('1 good\n\n0   \n', 'lines', f), f, 3, /label '0' has no sentence/);
});

test('an empty file is an error in every format', () => {
  for (const format of ['jsonl', 'csv', 'tsv', 'lines'] as const) {
    throwsAt(() => parse('', format, 'e'), 'e', 1, /file is empty/);
    throwsAt(() => parse('\uFEFF \n\r\n\t\n', format, 'e'), 'e', 1, /file is empty/);
  }
});

test('DataFormatError is an Error with name, file, line and a located message', () => {
  const e = new DataFormatError('data/train.csv', 7, 'expected 3 columns, found 2');
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'DataFormatError');
  assert.equal(e.message, 'data/train.csv:7: expected 3 columns, found 2');
});

// ---------------------------------------------------------------------------------------------
// Tokenising and vocabulary

test('tokenize splits on whitespace, keeps punctuation attached, lower-cases when asked', () => {
  assert.deepEqual(tokenize('  Great  movie!\tReally,\n"GREAT" . ', true), ['great', 'movie!', 'really,', '"great"', '.']);
  assert.deepEqual(tokenize('Great movie!', false), ['Great', 'movie!']);
  assert.deepEqual(tokenize('a\u00a0b\u2003c', false), ['a', 'b', 'c']);
  assert.deepEqual(tokenize(' \t\n', true), []);
});

test('vocabulary: <pad>, <unk>, then by descending count, ties alphabetical', () => {
  const content = ['1 b a c', '1 c b d', '0 c b e', '0 a C'].join('\n');
  const ds = buildTextDataset({ train: { name: 't.txt', content } }, cfg(), new Rng(1));
  assert.equal(ds.vocab[PAD_ID], '<pad>');
  assert.equal(ds.vocab[UNK_ID], '<unk>');
  // counts: c 4, b 3, a 2, d 1, e 1
  assert.deepEqual(ds.vocab, ['<pad>', '<unk>', 'c', 'b', 'a', 'd', 'e']);
  const cased = buildTextDataset({ train: { name: 't.txt', content } }, cfg({ lowercase: false }), new Rng(1));
  assert.deepEqual(cased.vocab, ['<pad>', '<unk>', 'b', 'c', 'a', 'C', 'd', 'e']);
});

test('vocabulary: minCount drops rare words, maxVocab caps at maxVocab + 2 entries', () => {
  const content = ['1 b a c', '1 c b d', '0 c b e', '0 a c'].join('\n');
  const t = { train: { name: 't.txt', content } };
  assert.deepEqual(buildTextDataset(t, cfg({ minCount: 2 }), new Rng(1)).vocab, ['<pad>', '<unk>', 'c', 'b', 'a']);
  assert.deepEqual(buildTextDataset(t, cfg({ minCount: 4 }), new Rng(1)).vocab, ['<pad>', '<unk>', 'c']);
  const capped = buildTextDataset(t, cfg({ maxVocab: 2 }), new Rng(1));
  assert.deepEqual(capped.vocab, ['<pad>', '<unk>', 'c', 'b']);
  assert.ok(capped.vocab.length <= 2 + 2);
  // Words cut by the cap or minCount become <unk>.
  assert.deepEqual(words(capped, capped.train, 0), ['b', '<unk>', 'c']);
  assert.deepEqual(words(capped, capped.train, 1), ['c', 'b', '<unk>']);
  assert.deepEqual(buildTextDataset(t, cfg({ maxVocab: 0 }), new Rng(1)).vocab, ['<pad>', '<unk>']);
});

test('vocabulary comes from train only; unseen validation/test words are <unk>', () => {
  const ds = buildTextDataset(
    {
      train: { name: 'train.txt', content: '1 good film\n0 bad film\n' },
      validation: { name: 'dev.txt', content: '1 good plot\n' },
      test: { name: 'test.txt', content: '0 awful film\n' },
    },
    cfg(),
    new Rng(1),
  );
  assert.deepEqual(ds.vocab, ['<pad>', '<unk>', 'film', 'bad', 'good']);
  assert.deepEqual(words(ds, ds.validation, 0), ['good', '<unk>']);
  assert.deepEqual(Array.from(ds.test.tokens), [UNK_ID, 2]);
});

// ---------------------------------------------------------------------------------------------
// Padding, truncation

test('sentences of different lengths are padded with PAD_ID to the longest; lengths are real', () => {
  const ds = buildTextDataset({ train: { name: 't.txt', content: '1 a\n0 a b c\n1 b c\n' } }, cfg(), new Rng(1));
  const s = ds.train;
  assert.equal(s.n, 3);
  assert.equal(s.T, 3);
  assert.deepEqual(Array.from(s.lengths), [1, 3, 2]);
  const [a, b, c] = [ds.vocab.indexOf('a'), ds.vocab.indexOf('b'), ds.vocab.indexOf('c')];
  assert.deepEqual(Array.from(s.tokens), [a, PAD_ID, PAD_ID, a, b, c, b, c, PAD_ID]);
  assert.deepEqual(labelsOf(ds, s), ['1', '0', '1']);
});

test('sentences longer than maxLength keep their first maxLength words', () => {
  const ds = buildTextDataset({ train: { name: 't.txt', content: '1 w1 w2 w3 w4 w5\n0 x\n' } }, cfg({ maxLength: 3 }), new Rng(1));
  assert.equal(ds.train.T, 3);
  assert.deepEqual(Array.from(ds.train.lengths), [3, 1]);
  assert.deepEqual(words(ds, ds.train, 0), ['w1', 'w2', 'w3']);
  // Truncated-away words are not in the vocabulary.
  assert.ok(!ds.vocab.includes('w4'));
  assert.throws(() => buildTextDataset({ train: { name: 't.txt', content: '1 a' } }, cfg({ maxLength: 0 }), new Rng(1)), RangeError);
});

test('an empty sentence is an error naming its file and line', () => {
  throwsAt(
    () => buildTextDataset({ train: { name: 'r.jsonl', content: '{"text":"ok","label":1}\n{"text":"\\n \\t","label":0}\n' } }, cfg(), new Rng(1)),
    'r.jsonl',
    2,
    /empty/,
  );
  throwsAt(
    () =>
      buildTextDataset(
        { train: { name: 'train.txt', content: '1 ok\n' }, test: { name: 'test.csv', content: 'text,label\nfine,1\n" ",0\n' } },
        cfg(),
        new Rng(1),
      ),
    'test.csv',
    3,
    /empty text/,
  );
});

// ---------------------------------------------------------------------------------------------
// Splits

/** n one-word sentences whose label c<i> names them, so a split's labels say which it holds. */
function numbered(n: number): string {
  return Array.from({ length: n }, (_, i) => `c${i} s${i} common`).join('\n');
}

/** The first word of each sentence of a split. */
function ids(ds: Dataset, s: Split): string[] {
  return Array.from({ length: s.n }, (_, i) => words(ds, s, i)[0]!);
}

test('splits from separate files: file order kept, rng unused', () => {
  const files = {
    train: { name: 'train.txt', content: '1 a\n0 b\n1 c\n' },
    validation: { name: 'dev.jsonl', content: '{"text":"d","label":0}\n' },
    test: { name: 'test.tsv', content: 'label\ttext\n1\te\n0\ta\n' },
  };
  const rng = new Rng(5);
  const ds = buildTextDataset(files, cfg({ validationFraction: 0.5, testFraction: 0.3 }), rng);
  assert.deepEqual([ds.train.n, ds.validation.n, ds.test.n], [3, 1, 2]);
  assert.deepEqual(ids(ds, ds.train), ['a', 'b', 'c']);
  assert.deepEqual(ids(ds, ds.test), ['<unk>', 'a']);
  assert.equal(rng.nextU32(), new Rng(5).nextU32(), 'rng must not be consumed');
});

test('splits by fraction: sizes round(n·f), disjoint, cover train, deterministic per seed', () => {
  const n = 37;
  const c = cfg({ validationFraction: 0.1, testFraction: 0.25 });
  const files = { train: { name: 't.txt', content: numbered(n) } };
  const ds = buildTextDataset(files, c, new Rng(42));
  const nv = Math.round(n * 0.1);
  const nt = Math.round(n * 0.25);
  assert.deepEqual([ds.validation.n, ds.test.n, ds.train.n], [nv, nt, n - nv - nt]);
  const all = [...labelsOf(ds, ds.train), ...labelsOf(ds, ds.validation), ...labelsOf(ds, ds.test)];
  assert.equal(new Set(all).size, n, 'disjoint and complete');
  // Each sN occurs once, so a held-out sentence's sN is not in the (train-only) vocabulary.
  assert.ok(ids(ds, ds.validation).every((w) => w === '<unk>'));
  assert.ok(ids(ds, ds.test).every((w) => w === '<unk>'));
  assert.deepEqual(ids(ds, ds.train), labelsOf(ds, ds.train).map((l) => `s${l.slice(1)}`));
  assert.deepEqual(buildTextDataset(files, c, new Rng(42)), ds);
  const other = buildTextDataset(files, c, new Rng(43));
  assert.notDeepEqual(labelsOf(other, other.test), labelsOf(ds, ds.test));
});

test('splits by fraction: validation = first slice of the seeded shuffle, test = next, train = rest', () => {
  const n = 20;
  const c = cfg({ validationFraction: 0.2, testFraction: 0.2 });
  const ds = buildTextDataset({ train: { name: 't.txt', content: numbered(n) } }, c, new Rng(9));
  const order = new Rng(9).shuffle(Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(labelsOf(ds, ds.validation), order.slice(0, 4).map((i) => `c${i}`));
  assert.deepEqual(labelsOf(ds, ds.test), order.slice(4, 8).map((i) => `c${i}`));
  assert.deepEqual(labelsOf(ds, ds.train), order.slice(8).map((i) => `c${i}`));
});

test('only the missing split is held out when the other has a file', () => {
  const files = { train: { name: 't.txt', content: numbered(10) }, test: { name: 'test.txt', content: '1 x\n' } };
  const ds = buildTextDataset(files, cfg({ validationFraction: 0.3, testFraction: 0.5 }), new Rng(3));
  assert.deepEqual([ds.train.n, ds.validation.n, ds.test.n], [7, 3, 1]);
});

test('zero fractions give empty splits with n = 0 and T = 1; train keeps file order', () => {
  const rng = new Rng(1);
  const ds = buildTextDataset({ train: { name: 't.txt', content: numbered(5) } }, cfg(), rng);
  assert.equal(ds.train.n, 5);
  assert.deepEqual(labelsOf(ds, ds.train), ['c0', 'c1', 'c2', 'c3', 'c4'], 'nothing held out: file order');
  assert.equal(rng.nextU32(), new Rng(1).nextU32(), 'rng must not be consumed');
  for (const s of [ds.validation, ds.test]) {
    assert.equal(s.n, 0);
    assert.equal(s.T, 1);
    assert.equal(s.tokens.length, 0);
  }
});

test('fractions that leave no training sentences, or out of range, are errors', () => {
  const t = { train: { name: 't.txt', content: numbered(4) } };
  assert.throws(() => buildTextDataset(t, cfg({ validationFraction: 0.5, testFraction: 0.5 }), new Rng(1)), /leaves none to train on/);
  assert.throws(() => buildTextDataset(t, cfg({ validationFraction: -0.1 }), new Rng(1)), RangeError);
  assert.throws(() => buildTextDataset(t, cfg({ testFraction: 1 }), new Rng(1)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Labels

test('classes: numeric labels sorted numerically, others lexicographically, from all splits', () => {
  assert.deepEqual(orderLabels(['10', '2', '1', '2', '-1', '0.5']), ['-1', '0.5', '1', '2', '10']);
  assert.deepEqual(orderLabels(['pos', 'neg', 'Neutral']), ['Neutral', 'neg', 'pos']);
  assert.deepEqual(orderLabels(['10', '2', 'x']), ['10', '2', 'x']);
  const ds = buildTextDataset(
    {
      train: { name: 'train.txt', content: '10 a\n2 b\n' },
      validation: { name: 'dev.txt', content: '2 c\n' },
      test: { name: 'test.txt', content: '3 d\n' },
    },
    cfg(),
    new Rng(1),
  );
  assert.deepEqual(ds.classes, ['2', '3', '10']);
  assert.deepEqual(Array.from(ds.train.labels), [2, 0]);
  assert.deepEqual(Array.from(ds.test.labels), [1]);
});

test('format: explicit format overrides the extension; auto detects per file', () => {
  const jsonl = '{"text": "a b", "label": "x"}\n';
  const ds = buildTextDataset({ train: { name: 'data.txt', content: jsonl } }, cfg({ format: 'jsonl' }), new Rng(1));
  assert.deepEqual(ds.classes, ['x']);
  assert.throws(() => buildTextDataset({ train: { name: 'data.txt', content: '1' } }, cfg(), new Rng(1)), DataFormatError);
});

// ---------------------------------------------------------------------------------------------
// Reading files

test('loadTextDataset reads real files relative to baseDir (BOM, CRLF, mixed formats)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-lens-text-'));
  try {
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'train.csv'), '\uFEFFtext,label\r\n"Great, fun",pos\r\nawful mess,neg\r\n', 'utf8');
    fs.writeFileSync(path.join(dir, 'data', 'dev.jsonl'), '\uFEFF{"text":"great","label":"pos"}\n', 'utf8');
    fs.writeFileSync(path.join(dir, 'data', 'test.txt'), 'neg awful\n', 'utf8');
    const ds = loadTextDataset(
      cfg({ train: 'data/train.csv', validation: 'data/dev.jsonl', test: 'data/test.txt' }),
      dir,
      new Rng(1),
    );
    assert.deepEqual(ds.classes, ['neg', 'pos']);
    assert.deepEqual(words(ds, ds.train, 0), ['great,', 'fun']);
    assert.deepEqual(words(ds, ds.validation, 0), ['<unk>']);
    assert.deepEqual(words(ds, ds.test, 0), ['awful']);

    // A format error names the file as written in the config.
    fs.writeFileSync(path.join(dir, 'data', 'bad.csv'), 'text,label\na,1\nb\n', 'utf8');
    throwsAt(() => loadTextDataset(cfg({ train: 'data/bad.csv' }), dir, new Rng(1)), 'data/bad.csv', 3, /expected 2 columns, found 1/);

    // Invalid UTF-8 is refused rather than silently replaced.
    fs.writeFileSync(path.join(dir, 'latin1.txt'), new Uint8Array([0x31, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]));
    assert.throws(() => loadTextDataset(cfg({ train: 'latin1.txt' }), dir, new Rng(1)), /latin1\.txt: not valid UTF-8/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadTextDataset: a missing file is an Error naming the resolved path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-lens-text-'));
  try {
    fs.writeFileSync(path.join(dir, 'train.txt'), '1 ok\n', 'utf8');
    const missing = path.join(dir, 'nope', 'test.txt');
    assert.throws(
      () => loadTextDataset(cfg({ train: 'train.txt', test: 'nope/test.txt' }), dir, new Rng(1)),
      (e: unknown) => e instanceof Error && !(e instanceof DataFormatError) && e.message.includes(missing) && /no such file/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the example data files load and are balanced', () => {
  const root = path.resolve(__dirname, '../../..');
  const sst = loadTextDataset(cfg({ train: 'examples/data/sst-tiny.txt', validationFraction: 0.1, testFraction: 0.2 }), root, new Rng(7));
  assert.deepEqual(sst.classes, ['0', '1']);
  const nSst = sst.train.n + sst.validation.n + sst.test.n;
  assert.ok(nSst >= 50 && nSst <= 80, `sst-tiny has ${nSst} sentences`);
  const rev = loadTextDataset(cfg({ train: 'examples/data/reviews.jsonl', validationFraction: 0.1, testFraction: 0.2 }), root, new Rng(7));
  assert.deepEqual(rev.classes, ['neg', 'pos']);
  const nRev = rev.train.n + rev.validation.n + rev.test.n;
  assert.ok(nRev >= 30 && nRev <= 50, `reviews has ${nRev} sentences`);
  for (const ds of [sst, rev]) {
    const all = [...ds.train.labels, ...ds.validation.labels, ...ds.test.labels];
    const pos = all.filter((l) => l === 1).length;
    assert.ok(Math.abs(2 * pos - all.length) <= 2, 'about half positive');
  }
});
