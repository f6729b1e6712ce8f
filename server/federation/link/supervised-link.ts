import type { Logger } from 'pino';
import { reportError } from '../../ops/scheduler.js';

/** RabbitMQ's status words for a shovel or federation link. */
export type LinkState = 'starting' | 'running' | 'terminated';

/**
 * A link (a shovel, a federation link) kept up as RabbitMQ's supervisors keep theirs: it
 * starts, and when it fails, it is torn down and started again after its reconnect delay
 * (0: it stays terminated). Each attempt has a generation number; events from the
 * connections of an older attempt are ignored.
 */
export abstract class SupervisedLink {
  state: LinkState = 'starting';
  /** Why it last stopped running (shown while terminated), as RabbitMQ's `reason`. */
  reason: string | null = null;
  /** The last failure, connecting or running; kept until the next success. */
  lastError: string | null = null;
  /** When the state last changed. */
  since = new Date();
  protected generation = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private attempting = false;
  /** A failure reported while setUp was still running: the attempt fails with it. */
  private failedDuringSetUp: unknown = null;

  constructor(
    /** Milliseconds between a failure and the next attempt; 0: no further attempt. */
    protected readonly reconnectDelayMs: number,
    protected readonly log: Logger,
  ) {}

  /** Connects and sets up (declarations, consumers); resolves once the link is running. */
  protected abstract setUp(generation: number): Promise<void>;

  /** Closes whatever setUp opened; `graceful` lets in-flight work finish first. Never throws. */
  protected abstract tearDown(graceful: boolean): Promise<void>;

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while `generation` is the current attempt and the link has not been stopped. */
  protected current(generation: number): boolean {
    return !this.stopped && generation === this.generation;
  }

  private setState(s: LinkState): void {
    this.state = s;
    this.since = new Date();
  }

  start(): void {
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.timer = null;
    const gen = ++this.generation;
    this.attempting = true;
    this.failedDuringSetUp = null;
    this.setState('starting');
    try {
      await this.setUp(gen);
      if (this.failedDuringSetUp !== null) throw this.failedDuringSetUp;
    } catch (err) {
      this.attempting = false;
      if (!this.current(gen)) {
        await this.tearDown(false);
        return;
      }
      this.lastError = errorText(err);
      this.log.error({ err: this.lastError }, 'could not start; will retry');
      await this.tearDown(false);
      this.retry();
      return;
    }
    this.attempting = false;
    if (!this.current(gen)) {
      await this.tearDown(false);
      return;
    }
    this.lastError = null;
    this.reason = null;
    this.setState('running');
    this.onRunning();
  }

  /** Hook: the link is up. */
  protected onRunning(): void {}

  /** A running link failed (a connection or channel closed under it): tear down, then retry. */
  protected fail(generation: number, err: unknown): void {
    if (!this.current(generation)) return;
    if (this.attempting) {
      this.failedDuringSetUp ??= err;
      return;
    }
    this.generation++;
    const text = errorText(err);
    this.lastError = text;
    this.reason = text;
    this.setState('terminated');
    this.log.error({ err: text, reconnectDelayMs: this.reconnectDelayMs }, 'link failed; restarting after the reconnect delay');
    this.tearDown(false).then(
      () => this.retry(),
      (e: unknown) => reportError(e, 'link teardown'),
    );
  }

  private retry(): void {
    if (this.stopped) return;
    if (this.reconnectDelayMs <= 0) {
      this.setState('terminated');
      return;
    }
    if (this.state !== 'terminated') this.since = new Date();
    this.timer = setTimeout(() => void this.attempt(), this.reconnectDelayMs);
    this.timer.unref();
  }

  /** Stops for good (the parameter was cleared, or the broker stops). */
  async stop(graceful = true): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.tearDown(graceful);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
