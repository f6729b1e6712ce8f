/**
 * End-of-turn batching. Work raised while handling a read (queues with messages for
 * consumers, connections with bytes to send) is done once, after the read, so that
 * each connection gets one socket write per turn instead of one per frame.
 */

interface Dispatchable {
  dispatchScheduled: boolean;
  deleted: boolean;
  dispatch(): boolean;
}

interface Flushable {
  flushScheduled: boolean;
  flush(): void;
}

/** Work that must be done before anything of this turn reaches a socket (e.g. an fsync). */
interface PreFlush {
  preFlushScheduled: boolean;
  preFlush(): void;
}

const preFlushList: PreFlush[] = [];
const dispatchList: Dispatchable[] = [];
const flushList: Flushable[] = [];
const deferred: Dispatchable[] = [];
let armed = false;
let deferredArmed = false;

/**
 * A bug in one queue's dispatch or one connection's flush must not take the broker down
 * (this runs outside any socket handler): it is reported here and the turn goes on.
 */
let onError: (err: unknown, where: string) => void = (err) => console.error(err);

export function setTurnErrorHandler(fn: (err: unknown, where: string) => void): void {
  onError = fn;
}

/** For other callbacks that run outside a socket handler (timers). */
export function reportError(err: unknown, where: string): void {
  onError(err, where);
}

export function scheduleDispatch(q: Dispatchable): void {
  if (q.dispatchScheduled) return;
  q.dispatchScheduled = true;
  dispatchList.push(q);
  arm();
}

export function schedulePreFlush(p: PreFlush): void {
  if (p.preFlushScheduled) return;
  p.preFlushScheduled = true;
  preFlushList.push(p);
  arm();
}

export function scheduleFlush(c: Flushable): void {
  if (c.flushScheduled) return;
  c.flushScheduled = true;
  flushList.push(c);
  arm();
}

let turnClock = 0;

/**
 * Wall-clock ms, read once per turn (the read or timer callback and the end-of-turn work
 * it raised) instead of once per delivery: Date.now() was 5 % of a stream's delivery
 * profile. Deliveries late in a turn get a time up to that turn's length (milliseconds)
 * early; the consumer timeout it serves is checked once a second (RabbitMQ: once a minute).
 */
export function turnNow(): number {
  if (turnClock === 0) {
    turnClock = Date.now();
    arm();
  }
  return turnClock;
}

function arm(): void {
  if (armed) return;
  armed = true;
  process.nextTick(runTurn);
}

function runTurn(): void {
  armed = false;
  try {
    runTurnLists();
  } finally {
    turnClock = 0;
  }
}

function runTurnLists(): void {
  // Dispatch may schedule more queues (a requeue, a cancel): the loop picks them up.
  for (let i = 0; i < dispatchList.length; i++) {
    const q = dispatchList[i]!;
    q.dispatchScheduled = false;
    if (q.deleted) continue;
    let more = false;
    try {
      more = q.dispatch();
    } catch (err) {
      onError(err, 'dispatch');
    }
    if (more) {
      // Budget spent: finish after pending I/O, so one busy queue cannot starve the rest.
      q.dispatchScheduled = true;
      deferred.push(q);
    }
  }
  dispatchList.length = 0;
  for (let i = 0; i < preFlushList.length; i++) {
    const p = preFlushList[i]!;
    p.preFlushScheduled = false;
    try {
      p.preFlush();
    } catch (err) {
      onError(err, 'pre-flush');
    }
  }
  preFlushList.length = 0;
  for (let i = 0; i < flushList.length; i++) {
    const c = flushList[i]!;
    c.flushScheduled = false;
    try {
      c.flush();
    } catch (err) {
      onError(err, 'flush');
    }
  }
  flushList.length = 0;
  if (deferred.length > 0 && !deferredArmed) {
    deferredArmed = true;
    setImmediate(runDeferred);
  }
}

function runDeferred(): void {
  deferredArmed = false;
  const list = deferred.splice(0);
  for (const q of list) {
    q.dispatchScheduled = false;
    scheduleDispatch(q);
  }
}
