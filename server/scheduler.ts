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

function arm(): void {
  if (armed) return;
  armed = true;
  process.nextTick(runTurn);
}

function runTurn(): void {
  armed = false;
  // Dispatch may schedule more queues (a requeue, a cancel): the loop picks them up.
  for (let i = 0; i < dispatchList.length; i++) {
    const q = dispatchList[i]!;
    q.dispatchScheduled = false;
    if (q.deleted) continue;
    if (q.dispatch()) {
      // Budget spent: finish after pending I/O, so one busy queue cannot starve the rest.
      q.dispatchScheduled = true;
      deferred.push(q);
    }
  }
  dispatchList.length = 0;
  for (let i = 0; i < preFlushList.length; i++) {
    const p = preFlushList[i]!;
    p.preFlushScheduled = false;
    p.preFlush();
  }
  preFlushList.length = 0;
  for (let i = 0; i < flushList.length; i++) {
    const c = flushList[i]!;
    c.flushScheduled = false;
    c.flush();
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
