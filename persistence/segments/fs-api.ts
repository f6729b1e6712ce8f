/**
 * The file-system calls the store makes, so that tests can count fdatasyncs or inject
 * ENOSPC/EIO. The default is node:fs itself.
 */
import * as nodeFs from 'node:fs';

export type StoreFs = Pick<
  typeof nodeFs,
  | 'mkdirSync'
  | 'readdirSync'
  | 'openSync'
  | 'closeSync'
  | 'readSync'
  | 'writeSync'
  | 'fstatSync'
  | 'ftruncateSync'
  | 'fdatasyncSync'
  | 'fsyncSync'
  | 'renameSync'
  | 'unlinkSync'
  | 'statfsSync'
  | 'write'
  | 'fdatasync'
  | 'fsync'
>;

export const defaultFs: StoreFs = nodeFs;

/** Structured logger; a pino logger fits. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: StoreLogger = {
  info() {},
  warn() {},
  error() {},
};
