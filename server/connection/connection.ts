import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AmqpError, ConnectionError, FrameError } from '../../amqp/errors.js';
import { writeHeartbeat, writeMethod } from '../../amqp/frame-writer.js';
import { FrameReader, frameErrorText, type FrameSink } from '../../amqp/frame-reader.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE, M } from '../../amqp/generated/constants.js';
import { frameText } from './content-assembler.js';
import type { Method } from '../../amqp/generated/methods.js';
import { decodeMethodFrame } from '../../amqp/method-frame.js';
import { Reader } from '../../amqp/reader.js';
import type { FieldTable } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';
import { clientCapabilities, login } from './handshake/login.js';
import { PROTOCOL_HEADER, ProtocolHeaderReader } from './handshake/protocol-header.js';
import { offeredMechanisms } from './handshake/mechanisms.js';
import type { Broker } from '../broker.js';
import { Channel } from './channel.js';
import { scheduleFlush } from '../ops/scheduler.js';
import { PAUSE_ALARM } from '../ops/read-pause.js';
import { readIntoSharedBuffer } from './shared-read-buffer.js';
import { plainAddress } from './naming.js';
import { ConnectionCounters } from '../ops/stats.js';
import { WriteLeases, writeChunks } from './socket-write.js';
import type { BodyLease } from '../queue/body-pool.js';
import type { ClientCapabilities, Session } from './session.js';
import type { WheelTimer } from '../ops/timer-wheel.js';
import { HEARTBEAT_NONE, HEARTBEAT_SEND, HeartbeatState, PEER_SILENT } from './heartbeat.js';
import { clientName, negotiate } from './handshake/tune.js';
import type { VirtualHost } from '../vhost/vhost.js';
import type { AccessControl } from '../access/access-control.js';
import type { User } from '../access/users.js';

const enum State {
  Handshake,
  Starting,
  Tuning,
  Opening,
  Running,
  /** We sent connection.close; only close-ok (or close) matters now. */
  Closing,
  Closed,
}

const STATE_NAME = ['handshake', 'starting', 'tuning', 'opening', 'running', 'closing', 'closed'];
/** How long we wait for close-ok before dropping the socket. */
const CLOSE_TIMEOUT_MS = 3000;
/** RabbitMQ's silent close delay after a failed handshake. */
const HANDSHAKE_CLOSE_DELAY_MS = 3000;

let nextId = 1;
const reader = new Reader();

/** One client connection: handshake, tuning, heartbeats, the channel table and close. */
export class Connection implements Session, FrameSink, WheelTimer {
  readonly id = nextId++;
  readonly writer = new Writer();
  readonly log: Logger;
  private readonly frames: FrameReader;
  private state = State.Handshake;
  private readonly protocolHeader = new ProtocolHeaderReader();
  private readonly channels = new Map<number, Channel>();
  private readonly pendingChannels: Channel[] = [];
  vhost!: VirtualHost;
  user = '';
  /** The authenticated user (set at start-ok). */
  account!: User;
  /** True once connection.open counted this connection against the user's and vhost's limits. */
  private counted = false;
  frameMax: number;
  channelMax: number;
  heartbeat = 0;
  writable = true;
  private readonly leases: WriteLeases;
  /** Why reading is paused, as bits (PAUSE_FLOW, PAUSE_ALARM); 0 = reading. */
  private readPaused = 0;
  /** While a resource alarm is on: its reason ("low on disk"); the next publish blocks this connection. */
  private alarm: string | null;
  private sentBlocked = false;
  flushScheduled = false;
  capabilities: ClientCapabilities = clientCapabilities({});
  clientProperties: FieldTable = {};
  /** Bytes read from the socket (RabbitMQ's recv_oct): the heartbeat check looks for growth. */
  bytesIn = 0;
  wheelSlot = 0;
  /** Deadlines and heartbeat bookkeeping, in the broker's wheel time (monotonic ms). */
  private readonly handshakeDeadline: number;
  private closeDeadline = 0;
  private readonly hb = new HeartbeatState();
  readonly remote: string;
  /** Reads go into the shared read buffer (and large bodies straight into place), not 'data' events. */
  readonly sharedReads: boolean;
  /** Bytes and packets in and out, for the management plane. */
  readonly counters = new ConnectionCounters();
  readonly connectedAt = Date.now();
  /** RabbitMQ's connection name: "peer:port -> local:port". */
  readonly name: string;
  authMechanism = '';

  constructor(
    readonly socket: Socket,
    readonly broker: Broker,
  ) {
    this.leases = new WriteLeases(socket);
    this.frameMax = broker.config.frameMax;
    this.alarm = broker.alarmReason;
    this.channelMax = broker.config.channelMax;
    // Until tune-ok, frames are limited to the spec's minimum, as in RabbitMQ.
    this.frames = new FrameReader(this, FRAME_MIN_SIZE);
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.name = `${plainAddress(socket.remoteAddress)}:${socket.remotePort} -> ${plainAddress(socket.localAddress)}:${socket.localPort}`;
    broker.counters.connectionCreated++;
    this.log = broker.log.child({ conn: this.id, remote: this.remote });
    const limit = broker.config.handshakeTimeout;
    this.handshakeDeadline = limit > 0 ? broker.wheel.now + limit : Infinity;
    if (limit > 0) broker.wheel.schedule(this, this.handshakeDeadline);
    socket.setNoDelay(true);
    this.sharedReads = readIntoSharedBuffer(
      socket,
      (buf, n) => this.onData(buf, n),
      (shared) => this.frames.nextReadBuffer(shared),
    );
    if (!this.sharedReads) socket.on('data', (chunk: Buffer) => this.onData(chunk, chunk.length));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.onSocketClose());
  }

  get access(): AccessControl {
    return this.broker.access;
  }

  get maxMessageSize(): number {
    return this.broker.config.maxMessageSize;
  }

  get consumerTimeout(): number {
    return this.broker.config.consumerTimeout;
  }

  get now(): number {
    return this.broker.now;
  }

  /** The first len bytes of chunk were read; chunk may be the shared read buffer, so nothing keeps a view of it. */
  private onData(chunk: Buffer, len: number): void {
    this.bytesIn += len;
    this.counters.recvOct += len;
    this.counters.recvCnt++;
    if (this.state === State.Closed) return;
    try {
      if (this.state === State.Handshake) {
        const rest = this.onHandshake(Buffer.from(chunk.subarray(0, len)));
        if (rest === null) return;
        chunk = rest;
        len = rest.length;
      }
      this.frames.push(chunk, len);
    } catch (err) {
      this.onError(err);
      if (this.state === State.Closing) {
        // The byte stream can no longer be trusted after a framing error: stop reading.
        this.socket.pause();
      }
    }
  }

  /** Collects the 8-byte protocol header; returns the bytes after it, or null while incomplete. */
  private onHandshake(chunk: Buffer): Buffer | null {
    const h = this.protocolHeader.push(chunk);
    if (h === null) return null;
    if (!h.ok) {
      this.log.info({ header: h.header.toString('hex') }, 'bad protocol header, refusing');
      this.state = State.Closed;
      this.socket.end(PROTOCOL_HEADER);
      return null;
    }
    this.state = State.Starting;
    const mechanisms = offeredMechanisms(this.broker, this.socket).join(' ');
    const serverProperties = this.broker.serverProperties;
    this.sendMethod(0, { id: M.ConnectionStart, versionMajor: 0, versionMinor: 9, serverProperties, mechanisms, locales: 'en_US' });
    return h.rest;
  }

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (this.state >= State.Closing) {
      this.onFrameWhileClosing(type, channel, buf, start, end);
      return;
    }
    try {
      if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
        throw new FrameError(frameErrorText(type, buf, start, end, 'unknown_frame'));
      }
      if (channel === 0) {
        if (type === FRAME_HEARTBEAT) return;
        if (type !== FRAME_METHOD) throw new ConnectionError(505, frameText(type, buf, start, end));
        this.onConnectionMethod(decodeMethodFrame(reader, buf, start, end, true));
        return;
      }
      if (this.state !== State.Running) throw new ConnectionError(505, `unexpected frame on channel ${channel} before connection.open`);
      const ch = this.channels.get(channel);
      if (ch !== undefined) ch.onFrame(type, buf, start, end);
      else this.openChannel(channel, type, buf, start, end);
    } catch (err) {
      this.onError(err);
    }
  }

  /** A body frame arriving in pieces: its payload can be put straight into the body being assembled. */
  bodyTarget(channel: number, size: number): Buffer | null {
    if (this.state !== State.Running) return null;
    return this.channels.get(channel)?.assembler.bodyTarget(size) ?? null;
  }

  private onFrameWhileClosing(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (channel !== 0 || type !== FRAME_METHOD || end - start < 4) return;
    const id = buf.readUInt32BE(start);
    if (id === M.ConnectionCloseOk) {
      this.destroy();
    } else if (id === M.ConnectionClose) {
      this.sendMethod(0, { id: M.ConnectionCloseOk });
      this.endAfterFlush();
    }
  }

  private openChannel(channel: number, type: number, buf: Buffer, start: number, end: number): void {
    if (type === FRAME_HEARTBEAT) throw new ConnectionError(505, frameText(type, buf, start, end));
    if (type !== FRAME_METHOD) throw new ConnectionError(505, 'expected method frame, got non method frame instead');
    const m = decodeMethodFrame(reader, buf, start, end, false);
    if (m.id !== M.ChannelOpen) throw new ConnectionError(504, "expected 'channel.open'", m.id >>> 16, m.id & 0xffff);
    // Like RabbitMQ, only the number of open channels counts, not the channel number.
    if (this.channels.size >= this.channelMax) {
      throw new ConnectionError(
        530,
        `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
      );
    }
    // The user's max-channels counts channels over all of its connections.
    this.broker.access.openChannel(this.account);
    this.channels.set(channel, new Channel(channel, this));
    this.broker.counters.channelCreated++;
    this.sendMethod(channel, { id: M.ChannelOpenOk, channelId: '' });
  }

  private onConnectionMethod(m: Method): void {
    switch (m.id) {
      case M.ConnectionStartOk:
        if (this.state !== State.Starting) break;
        return this.onStartOk(m.clientProperties, m.mechanism, m.response);
      case M.ConnectionTuneOk:
        if (this.state !== State.Tuning) break;
        return this.onTuneOk(m.channelMax, m.frameMax, m.heartbeat);
      case M.ConnectionOpen: {
        if (this.state !== State.Opening) break;
        // Vhost and user connection limits, then the user's access to the vhost (530s).
        this.broker.access.openConnection(this.account, m.virtualHost);
        this.counted = true;
        const vhost = this.broker.vhosts.get(m.virtualHost)!;
        this.vhost = vhost;
        this.state = State.Running;
        // Heartbeat checks every half interval from now on (none with heartbeat 0).
        if (this.heartbeat === 0) this.broker.wheel.cancel(this);
        else this.broker.wheel.schedule(this, this.hb.start(this.bytesIn, this.socket, this.broker.wheel.now + this.heartbeat * 500));
        this.sendMethod(0, { id: M.ConnectionOpenOk, knownHosts: '' });
        this.log.info({ user: this.user, vhost: vhost.name, client: clientName(this.clientProperties) }, 'connection opened');
        return;
      }
      case M.ConnectionClose:
        this.log.info({ code: m.replyCode, text: m.replyText }, 'connection closed by client');
        this.cleanup();
        this.sendMethod(0, { id: M.ConnectionCloseOk });
        this.endAfterFlush();
        return;
      case M.ConnectionCloseOk:
        return;
      case M.ConnectionBlocked:
      case M.ConnectionUnblocked:
        return;
      case M.ConnectionUpdateSecret:
        if (this.state !== State.Running) break;
        return this.sendMethod(0, { id: M.ConnectionUpdateSecretOk });
    }
    throw new ConnectionError(504, `unexpected method in connection state ${STATE_NAME[this.state]}`, m.id >>> 16, m.id & 0xffff);
  }

  private onStartOk(props: FieldTable, mechanism: string, response: Buffer | string): void {
    this.clientProperties = props;
    this.authMechanism = mechanism;
    this.capabilities = clientCapabilities(props);
    const result = login(this.broker, this.socket, mechanism, response);
    if ('reason' in result) {
      this.broker.counters.authAmqpFailed++;
      this.log.warn({ user: result.user, reason: result.reason }, 'login refused');
      this.refuseLogin(mechanism);
      return;
    }
    this.account = result;
    this.user = result.name;
    this.broker.counters.authAmqpSucceeded++;
    this.state = State.Tuning;
    const c = this.broker.config;
    this.sendMethod(0, { id: M.ConnectionTune, channelMax: c.channelMax, frameMax: c.frameMax, heartbeat: c.heartbeat });
  }

  /** A refused login gets 403 only if the client asked for it; either way the socket closes after a pause. */
  private refuseLogin(mechanism: string): void {
    if (this.capabilities.authenticationFailureClose) {
      this.closeWith(
        new ConnectionError(403, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`),
      );
    }
    this.closeSilently();
  }

  /**
   * Handshake failures close the socket without a connection.close, after a delay, as
   * RabbitMQ does so that a client cannot hammer it with failed logins.
   */
  private closeSilently(): void {
    this.cleanup();
    this.state = State.Closing;
    this.closeBy(HANDSHAKE_CLOSE_DELAY_MS);
  }

  private closeBy(ms: number): void {
    this.closeDeadline = this.broker.wheel.now + ms;
    this.broker.wheel.schedule(this, this.closeDeadline);
  }

  private onTuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    const c = this.broker.config;
    negotiate('frame_max', FRAME_MIN_SIZE, c.frameMax, frameMax);
    negotiate('channel_max', 1, c.channelMax, channelMax);
    // 0 means "no limit" (only possible when the config sets frame_max to 0): bodies still need splitting.
    this.frameMax = frameMax === 0 ? 131072 : frameMax;
    this.channelMax = channelMax === 0 ? 65535 : channelMax;
    this.frames.frameMax = frameMax;
    this.heartbeat = heartbeat;
    this.state = State.Opening;
  }

  /** Turns any error into the right close; unexpected ones become 541 and are logged. */
  private onError(err: unknown): void {
    if (this.state < State.Opening && this.state !== State.Handshake) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'handshake failed, closing');
      this.closeSilently();
      return;
    }
    if (err instanceof AmqpError) {
      if (err.hard) {
        this.log.error({ code: err.replyCode, text: err.replyText }, 'connection error');
        this.closeWith(err);
      } else {
        // A soft error outside a channel (cannot happen from channel 0 methods); treat as hard.
        this.closeWith(new ConnectionError(err.replyCode, err.explanation, err.classId, err.methodId));
      }
      return;
    }
    this.log.error({ err }, 'internal error');
    this.closeWith(new ConnectionError(541, String((err as Error)?.message ?? err)));
  }

  /** Server-initiated close: tear down, send connection.close, wait for close-ok. */
  closeWith(err: AmqpError): void {
    if (this.state >= State.Closing) return;
    this.cleanup();
    this.state = State.Closing;
    this.closeBy(CLOSE_TIMEOUT_MS);
    this.sendMethod(0, {
      id: M.ConnectionClose,
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    });
  }

  sendMethod(channel: number, m: Method): void {
    writeMethod(this.writer, channel, m);
    this.scheduleFlush();
  }

  scheduleFlush(): void {
    if (!this.flushScheduled) scheduleFlush(this);
  }

  bodyWritten(lease: BodyLease): void {
    this.leases.add(lease);
  }

  outputPending(ch: Channel): void {
    this.pendingChannels.push(ch);
    this.scheduleFlush();
  }

  /** Writes everything encoded this turn with one socket write. */
  flush(): void {
    const pending = this.pendingChannels;
    for (let i = 0; i < pending.length; i++) pending[i]!.writePending();
    pending.length = 0;
    if (this.writer.length === 0 || this.socket.destroyed) return this.leases.drop();
    if (!writeChunks(this.socket, this.writer.takeChunks(), this.counters, this.leases.takeDone())) this.writable = false;
  }

  /** Stops reading from the socket until every reason given has been lifted. */
  pauseReading(reason: number): void {
    if (this.readPaused === 0 && this.state !== State.Closed) this.socket.pause();
    this.readPaused |= reason;
  }

  resumeReading(reason: number): void {
    if ((this.readPaused & reason) === 0) return;
    this.readPaused &= ~reason;
    if (this.readPaused !== 0) return;
    // Heartbeats could not be read meanwhile: the client's silence starts counting now.
    this.hb.missed = 0;
    if (this.state !== State.Closed) this.socket.resume();
  }

  /**
   * A resource alarm went on (reason) or off (null). As in RabbitMQ's reader, a connection
   * is only blocked when it next publishes; consumers are never blocked.
   */
  setAlarm(reason: string | null): void {
    this.alarm = reason;
    if (reason !== null || (this.readPaused & PAUSE_ALARM) === 0) return;
    if (this.sentBlocked) {
      this.sendMethod(0, { id: M.ConnectionUnblocked });
      this.sentBlocked = false;
    }
    this.resumeReading(PAUSE_ALARM);
    try {
      this.frames.release();
    } catch (err) {
      this.onError(err);
    }
  }

  /** A publish arrived: under an alarm, stop reading and tell a client that understands connection.blocked. */
  publishReceived(): void {
    if (this.alarm === null || (this.readPaused & PAUSE_ALARM) !== 0) return;
    this.pauseReading(PAUSE_ALARM);
    // Frames already read but not yet handled wait too, as in RabbitMQ.
    this.frames.held = true;
    if (this.capabilities.connectionBlocked) {
      this.sendMethod(0, { id: M.ConnectionBlocked, reason: this.alarm });
      this.sentBlocked = true;
    }
  }

  private onDrain(): void {
    if (this.writable) return;
    this.writable = true;
    for (const ch of this.channels.values()) ch.resume();
  }

  channelClosed(ch: Channel): void {
    if (this.channels.get(ch.id) !== ch) return;
    this.channels.delete(ch.id);
    this.broker.access.channelClosed(this.user);
    this.retire(ch);
  }

  /** A channel is gone: its counters join its vhost's, so totals never go down. */
  private retire(ch: Channel): void {
    this.broker.counters.channelClosed++;
    this.vhost?.counters.closedChannels.add(ch.counters);
  }

  /** The open channels, for the management plane. */
  channelList(): IterableIterator<Channel> {
    return this.channels.values();
  }

  /** RabbitMQ's connection state as the management API shows it. */
  get status(): string {
    if (this.state >= State.Closing) return 'closing';
    if ((this.readPaused & PAUSE_ALARM) !== 0) return 'blocked';
    if (this.readPaused !== 0) return 'flow';
    return this.state === State.Running ? 'running' : 'starting';
  }

  /** Called once a second by the broker: consumer timeouts. */
  tick(now: number): void {
    if (this.state === State.Running) for (const ch of this.channels.values()) ch.checkConsumerTimeout(now);
  }

  /** The wheel's call: the handshake and close deadlines, and heartbeats every half interval. */
  onTimer(now: number): void {
    switch (this.state) {
      case State.Closed:
        return;
      case State.Closing:
        if (now >= this.closeDeadline) this.destroy();
        else this.broker.wheel.schedule(this, this.closeDeadline);
        return;
      case State.Running:
        this.checkHeartbeats(now);
        return;
      default:
        if (now < this.handshakeDeadline) {
          this.broker.wheel.schedule(this, this.handshakeDeadline);
          return;
        }
        // As RabbitMQ's handshake_timeout: the socket goes, without a frame.
        this.log.error({ state: STATE_NAME[this.state], timeout: this.broker.config.handshakeTimeout }, 'handshake timeout, closing');
        this.drop();
    }
  }

  /**
   * Every half interval, as RabbitMQ's heartbeat sender and receiver: a heartbeat frame if
   * nothing else was written since the last check; the client is gone after two whole
   * intervals without a byte from it, or when our output has not drained for two intervals.
   */
  private checkHeartbeats(now: number): void {
    const half = this.heartbeat * 500;
    const verdict = this.hb.check(now, half, this.bytesIn, this.socket, this.readPaused !== 0);
    if (verdict === HEARTBEAT_SEND) {
      writeHeartbeat(this.writer);
      this.scheduleFlush();
    } else if (verdict !== HEARTBEAT_NONE) {
      const why = verdict === PEER_SILENT ? 'missed heartbeats from client' : 'client stopped reading: output not drained for two heartbeat intervals';
      this.log.error({ timeout: this.heartbeat, pending: this.socket.writableLength }, `${why}, closing`);
      this.drop();
      return;
    }
    this.broker.wheel.schedule(this, now + half);
  }

  /** A dead or timed-out peer: release what it holds and close the socket at once, without a frame. */
  private drop(): void {
    this.cleanup();
    this.state = State.Closed;
    this.broker.wheel.cancel(this);
    this.socket.destroy();
  }

  /** Broker shutdown: 320 CONNECTION_FORCED. */
  forceClose(reason: string): void {
    this.closeForced(`broker forced connection closure with reason '${reason}'`);
  }

  /** 320 CONNECTION_FORCED with this text (a deleted user or vhost, an operator's close). */
  closeForced(text: string): void {
    this.closeWith(new ConnectionError(320, text));
    this.flush();
  }

  private endAfterFlush(): void {
    this.state = State.Closed;
    this.flush();
    this.socket.end();
  }

  private destroy(): void {
    this.state = State.Closed;
    this.flush();
    this.socket.end();
    this.socket.destroySoon();
  }

  /** As rabbit_reader logs the end of a connection: clean at info, abrupt at warning, a bare probe at debug. */
  private onSocketClose(): void {
    const state = this.state;
    this.cleanup();
    this.state = State.Closed;
    this.broker.wheel.cancel(this);
    if (this.broker.connections.delete(this)) {
      this.broker.counters.connectionClosed++;
      this.vhost?.counters.closedConnections.add(this.counters);
    }
    const who = this.user === '' ? {} : { user: this.user, vhost: this.vhost?.name };
    if (state === State.Closed || state === State.Closing) {
      if (this.user !== '') this.log.info(who, 'connection closed');
    } else if (state === State.Handshake && this.bytesIn === 0) {
      // Probably a load balancer's health check: not a failure.
      this.log.debug('connection closed with no data received');
    } else {
      this.log.warn({ state: STATE_NAME[state], ...who }, 'client unexpectedly closed TCP connection');
    }
  }

  /** Requeues what channels hold and deletes this connection's exclusive queues. Idempotent. */
  private cleanup(): void {
    for (const ch of this.channels.values()) {
      ch.teardown();
      this.retire(ch);
    }
    if (this.channels.size > 0) this.broker.access.channelClosed(this.user, this.channels.size);
    this.channels.clear();
    if (this.counted) {
      this.counted = false;
      this.broker.access.connectionClosed(this.user, this.vhost.name);
    }
    this.pendingChannels.length = 0;
    if (this.vhost === undefined) return;
    for (const q of [...this.vhost.queues.values()]) if (q.owner === this) this.vhost.deleteQueue(q);
  }
}
