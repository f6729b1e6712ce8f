/**
 * Why a connection's socket is not being read, as bits: the store's flow control and the
 * resource alarms pause publishers independently, and reading resumes when no bit is left.
 */
export const PAUSE_FLOW = 1;
export const PAUSE_ALARM = 2;
