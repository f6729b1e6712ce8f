/** The segment store's options and counters (docs/persistence.md). */
import type { StoreError } from './errors.js';
import type { StoreFs, StoreLogger } from './fs-api.js';
import type { RecoveredRecord } from './recovery.js';

export type SyncMode = 'batch' | 'never';

export interface SegmentStoreOptions {
  /** Directory of the segment and ack files (created if missing). */
  dir: string;
  /** Target segment size; a record larger than this gets a segment of its own. Default 8 MiB, at most 128 MiB. */
  segmentBytes?: number;
  /**
   * 'batch' (default): a batch of appends is written, then fdatasync'd, then reported
   * by onDurable. 'never': reported once written to the OS (survives a process crash,
   * not a power cut).
   */
  sync?: SyncMode;
  /**
   * Least time between the starts of two batches, in ms. 0 (default): a batch starts on
   * the next event-loop turn after the first append, and the appends that arrive while
   * it is being written and synced form the next batch (batches grow with load). Larger
   * values trade latency for fewer fdatasyncs.
   */
  syncIntervalMs?: number;
  /** With syncIntervalMs > 0, start the batch early once this many bytes wait. Default 4 MiB. */
  syncBatchBytes?: number;
  /** Size of the pooled write buffers. Default 1 MiB. */
  writeBufferBytes?: number;
  /** Compact mostly-dead segments in the background (default true). */
  autoCompact?: boolean;
  /** A segment is a compaction candidate when live bytes ≤ this fraction of its record bytes. Default 0.5. */
  compactLiveRatio?: number;
  /** Least time between two automatic compactions, in ms. Default 1000. */
  compactIntervalMs?: number;
  /** Called in append order: every record with id ≤ upToId is durable. */
  onDurable?: (upToId: number) => void;
  /**
   * Called when a write or sync failed: the records with fromId ≤ id ≤ toId are not
   * stored (their ids are invalid from now on); err.code is ERR_STORE_IO, err.cause the errno error.
   */
  onFailed?: (fromId: number, toId: number, err: StoreError) => void;
  /** Called during open for each live record, in append order (see RecoveredRecord). */
  onRecord?: (rec: RecoveredRecord) => void;
  fs?: StoreFs;
  logger?: StoreLogger;
}

export interface StoreStats {
  appends: number;
  appendedBytes: number;
  releases: number;
  /** Batches started (each is one or more fs.write calls). */
  batches: number;
  writes: number;
  fdatasyncs: number;
  dirSyncs: number;
  failures: number;
  ackWriteErrors: number;
  compactions: number;
  segmentsCreated: number;
  segmentsDeleted: number;
}
