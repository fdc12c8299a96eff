/**
 * The run store: every run, from VS Code or the command line, as a folder of append-only,
 * checksummed files (format.ts; docs/run-format.md). RunWriter records a run as it trains;
 * openRun / RunFollower read one back; listRuns lists a runs root.
 */
export { crc32 } from './crc32';
export { checkMetaChecksum, DEFAULT_RUNS_DIR, FILES, FORMAT_VERSION, metaChecksum, parseTempFileName, StoreError, type RunMeta, type StoreProblem, type StreamCounts } from './format';
export { configureReads, type ReadOptions, type StoreFs } from './io';
export { gitCommit } from './git';
export { createRunDir, listRun, listRuns, makeRunId, type RunListing } from './listing';
export { AttentionReader, openRun, readRows, RunFollower, scanAttention, toScalarChunk, type RunUpdate, type StoredIdentity, type StoredRun, type StoredScalars } from './reader';
export { rebuildAttentionIndex } from './repair';
export { annotateRun, RunWriter, StoreWriteError, writeJsonAtomic, writeMetaAtomic, type RunMetaInit, type RunWriterOptions } from './writer';
