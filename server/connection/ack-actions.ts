/**
 * What becomes of a delivery when the client settles it. Shared by the channel (basic.ack,
 * nack, reject, recover) and the publisher (which defers them inside a transaction), so
 * that neither has to import the other for it.
 */
export const ACK = 0;
export const REQUEUE = 1;
export const DISCARD = 2;
export type AckAction = typeof ACK | typeof REQUEUE | typeof DISCARD;
