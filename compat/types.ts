/** The shapes shared by the compatibility catalog, its runner, the diff and the CLI. */
import type { Ctx } from './context.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One observable thing: an operation's reply, a delivery, a return, a close. Plain JSON. */
export type Event = { [key: string]: Json };

/** What a scenario observed on one broker, after normalisation. */
export interface Outcome {
  events: Event[];
}

export interface Scenario {
  /** Unique, `area/what`, e.g. `topic/pattern a.#`. */
  name: string;
  /** One line: what the scenario checks. */
  description: string;
  /** Milliseconds for the whole scenario (default 8000). */
  timeoutMs?: number;
  /** Runs (partly) as the restricted user of compat/users.json, which must exist on the broker. */
  restricted?: boolean;
  run(ctx: Ctx): Promise<void>;
}

/** Outcomes of a catalog run keyed by scenario name, as committed in compat/recorded/. */
export interface Recording {
  broker: { product: string; version: string };
  recordedAt: string;
  outcomes: Record<string, Outcome>;
}
