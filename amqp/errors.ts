// Typed AMQP errors. A handler throws one; the channel or connection turns it into
// channel.close (soft codes) or connection.close (hard codes), as RabbitMQ's map_exception does.

export const REPLY_TEXT: Record<number, string> = {
  311: 'CONTENT_TOO_LARGE',
  312: 'NO_ROUTE',
  313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

export abstract class AmqpError extends Error {
  abstract readonly hard: boolean;
  /** Full reply text as RabbitMQ sends it, e.g. "NOT_FOUND - no queue 'q' in vhost '/'". */
  readonly replyText: string;
  constructor(
    readonly replyCode: number,
    detail: string,
    /** The failing method; 0/0 until the channel that ran it fills them in. */
    public classId = 0,
    public methodId = 0,
  ) {
    const text = `${REPLY_TEXT[replyCode] ?? 'ERROR'} - ${detail}`;
    super(text);
    this.replyText = cutReplyText(text);
  }

  /** The reply text without the name of its code ("no queue 'q' in vhost '/'"), as RabbitMQ's API and a re-raise give it. */
  get explanation(): string {
    return this.replyText.replace(/^[A-Z_]+ - /, '');
  }
}

/**
 * A reply text must fit a shortstr. Like RabbitMQ (rabbit_binary_generator), a longer one
 * keeps its first 252 bytes and ends in "...", but never splits a UTF-8 character.
 */
export function cutReplyText(text: string): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: short texts need no measuring.
  if (text.length <= 85) return text;
  const b = Buffer.from(text, 'utf8');
  if (b.length <= 255) return text;
  let end = 252;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end) + '...';
}

/** Soft error: closes the channel only. */
export class ChannelError extends AmqpError {
  readonly hard = false;
}

/** Hard error: closes the whole connection. */
export class ConnectionError extends AmqpError {
  readonly hard = true;
}

/** Malformed bytes on the wire; the connection answers with 501/502. */
export class FrameError extends ConnectionError {
  constructor(detail: string, replyCode = 501) {
    super(replyCode, detail);
  }
}

export const HARD_CODES = new Set([320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541]);

/** Builds the right error class for a reply code, the way the spec classifies it. */
export function amqpError(replyCode: number, detail: string, classId = 0, methodId = 0): AmqpError {
  return HARD_CODES.has(replyCode)
    ? new ConnectionError(replyCode, detail, classId, methodId)
    : new ChannelError(replyCode, detail, classId, methodId);
}
