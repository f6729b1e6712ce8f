/** The disk message store. See docs/persistence.md. */
export { SegmentStore, type SegmentStoreOptions, type StoreStats, type SyncMode } from './segment-store.js';
export type { RecoveredRecord, RecoveryReport, TruncatedTail } from './recovery.js';
export { RecordRun } from './record-run.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { type StoreFs, type StoreLogger } from './fs-api.js';
export { crc32c } from './crc32c.js';
export { makeId, segmentOf, offsetOf, MAX_SEGMENT_BYTES, segmentFileName, ackFileName } from './format.js';
