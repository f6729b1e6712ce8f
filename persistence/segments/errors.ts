/** One error class for the store, with a stable code (as undici does). */
export type StoreErrorCode =
  /** The id is not in the store (never appended, failed, or its segment was deleted). */
  | 'ERR_STORE_UNKNOWN_ID'
  /** release() on a record whose references are all released already. */
  | 'ERR_STORE_RELEASED'
  /** A bad argument: refs out of 1..65535, slot out of range, option out of range. */
  | 'ERR_STORE_ARGUMENT'
  /** The store is closed. */
  | 'ERR_STORE_CLOSED'
  /** Segment numbers are exhausted (2^29 segments). */
  | 'ERR_STORE_FULL'
  /** A write, fdatasync or fsync failed (the cause is the errno error). */
  | 'ERR_STORE_IO';

export class StoreError extends Error {
  constructor(
    public readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
