// The broker's Transport over a Node socket: one write per event-loop turn, pull-producer flow
// control for pagers, and bounded output. The broker never sees the socket; memory a peer can
// make us hold is bounded here, where the unsent bytes are.
import type * as net from "node:net";
import { DEFAULT_PB_LIMITS, type PBLimits } from "../pb/limits.ts";
import type { Transport } from "../pb/transport.ts";
import { OutputBufferExceeded } from "./errors.ts";

/** Up to this many bytes, a turn's writes are copied into one buffer; above, handed over as they are. */
const COPY_LIMIT = 64 * 1024;

/**
 * V8 keeps typed arrays of up to this many bytes inside its heap, without an ArrayBuffer of their
 * own; a socket write needs one, and making it (a malloc and a copy) costs about 0.5 us. A message
 * this small that is not already a Buffer (the encoder's are plain Uint8Arrays: banana runs in
 * browsers) is copied into one from Node's pool instead, about 5x cheaper: a small call or
 * answer is exactly this size.
 */
const ON_HEAP_MAX = 64;

/**
 * A turn that writes more messages than this (a chunk of pipelined calls being answered, or a
 * batch of calls made at once) sends them in slices of this many: the peer starts on the first
 * slice while this side makes the rest, so the two processes work at the same time instead of
 * taking turns. Measured with 100 small calls in flight between two processes: 1.6x the rate of
 * one write per turn, and still a 32th of the system calls of one write per message.
 */
const SLICE_WRITES = 32;

// A settled promise: then() on it queues a microtask (cheaper than queueMicrotask in Node).
const resolved = Promise.resolve();

/** The output limits the socket transport enforces (from PBLimits). */
export type OutputLimits = Pick<PBLimits, "outputHighWaterMark" | "maxOutputBuffer" | "outputStallTimeout">;

/** How socketTransport bounds its output, and whom it tells when it drops the connection. */
export interface SocketTransportOptions {
  limits?: Partial<OutputLimits>;
  /**
   * Called once, synchronously, when the output limits drop the connection (the socket is
   * already destroyed). attachBroker passes broker.connectionLost, so that the rest of a chunk
   * of pipelined calls is not run for a peer that is gone.
   */
  onOverflow?: (reason: OutputBufferExceeded) => void;
}

/** A Transport over a socket, which also tells how much output is waiting. */
export interface SocketTransport extends Transport {
  /** Bytes written by the broker and not yet taken by the kernel. */
  readonly bufferedAmount: number;
  /** True while reading is paused because the peer is not taking our output. */
  readonly readingPaused: boolean;
  /** Bytes accepted by write() since the connection began. */
  readonly bytesAccepted: number;
  /**
   * Tells the transport a chunk from the peer was handled; `acceptedBefore` is bytesAccepted
   * from just before (attachBroker calls it around broker.dataReceived).
   */
  inputHandled(acceptedBefore: number): void;
}

/**
 * Adapts a Node socket to the broker's Transport. When answering what the peer sent leaves more
 * than `outputHighWaterMark` unsent bytes, it stops reading from the peer (a peer that sends
 * calls but never reads their answers gets no more answers made) until the output drains; past
 * `maxOutputBuffer` unsent bytes (from any writer), or when reading has stayed paused for
 * `outputStallTimeout`, it drops the connection.
 */
export function socketTransport(socket: net.Socket, options: SocketTransportOptions = {}): SocketTransport {
  return new SocketOutput(socket, options.limits, options.onOverflow ?? null);
}

/** Who is told when the output limits drop the connection (a broker: its connectionLost). */
interface OverflowListener {
  connectionLost(reason: OutputBufferExceeded): void;
}

/**
 * socketTransport for attachBroker: `broker.connectionLost` is called on overflow without a
 * closure made for it.
 * @internal
 */
export function brokerTransport(socket: net.Socket, limits: Partial<OutputLimits>, broker: OverflowListener): SocketTransport {
  return new SocketOutput(socket, limits, broker);
}

const OUTPUT = Symbol("twisted-pb.output");
type OutputSocket = net.Socket & { [OUTPUT]: SocketOutput; [ORIGINAL_END]: net.Socket["end"] };
const ORIGINAL_END = Symbol("twisted-pb.end");

// Whoever ends the socket (PBClient.disconnect, PBServer.close, or code holding client.socket),
// what was queued goes out before the end, as it did unqueued. One shared function: the
// connection's output is found on the socket.
function endAfterFlush(this: OutputSocket, ...args: unknown[]): net.Socket {
  this[OUTPUT].flush();
  return (this[ORIGINAL_END] as (...a: unknown[]) => net.Socket).apply(this, args);
}

// One object per connection with its methods on the prototype: the closures this used to be
// made cost a few KiB per connection. The few callbacks Node needs are made on first use.
class SocketOutput implements SocketTransport {
  private readonly hwm: number;
  private readonly max: number;
  private readonly stallMs: number;
  private producer: (() => void) | null = null;
  private scheduled = false;
  private paused = false;
  private accepted = 0;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  private overflowed = false;
  /** A close listener clears the stall timer (added at the first pause: most connections never pause). */
  private closeWatched = false;
  // Writes made in one turn of the event loop leave in one socket write (Twisted, too, writes
  // what a reactor iteration produced at once): a chunk of 100 calls gets its 100 answers in
  // one syscall instead of 100. The bytes and their order are the same. The flush is a
  // nextTick queued from a microtask, so it runs once the promise jobs of the turn have all
  // run: answers of async methods, and calls made by code awaiting an answer (a login's
  // second step), leave with the rest.
  // The first message of a turn has a field of its own: a turn of one message (a call made, or
  // a call answered, one at a time) makes no array.
  private first: Uint8Array | null = null;
  /** The turn's further messages, in order (made at the second). */
  private rest: Uint8Array[] | null = null;
  private queuedBytes = 0;
  private flushSoonFn: (() => void) | null = null;
  private scheduleFn: (() => void) | null = null;
  private onDrainFn: (() => void) | null = null;
  /** See Transport.deliversFromIO: socket reads arrive from I/O callbacks, except right after a resume. */
  deliversFromIO = true;

  constructor(
    private readonly socket: net.Socket,
    limits: Partial<OutputLimits> | undefined,
    private readonly onOverflow: ((reason: OutputBufferExceeded) => void) | OverflowListener | null,
  ) {
    this.hwm = limits?.outputHighWaterMark ?? DEFAULT_PB_LIMITS.outputHighWaterMark;
    this.max = limits?.maxOutputBuffer ?? DEFAULT_PB_LIMITS.maxOutputBuffer;
    this.stallMs = limits?.outputStallTimeout ?? DEFAULT_PB_LIMITS.outputStallTimeout;
    const s = socket as OutputSocket;
    if (s[OUTPUT] === undefined) {
      s[OUTPUT] = this;
      s[ORIGINAL_END] = socket.end;
      socket.end = endAfterFlush as net.Socket["end"];
    } else {
      // A second transport on the same socket: its flush runs before the first one's end.
      const end = socket.end;
      const output = this;
      socket.end = function (this: net.Socket, ...args: unknown[]) {
        output.flush();
        return (end as (...a: unknown[]) => net.Socket).apply(this, args);
      } as net.Socket["end"];
    }
  }

  // ---- the Transport ----------------------------------------------------------------------

  write(data: Uint8Array): void {
    const socket = this.socket;
    if (socket.destroyed || this.overflowed) return;
    // After the end nothing is queued: the socket refuses the write (and says so) as before.
    if (socket.writableEnded) return void socket.write(data);
    this.accepted += data.length;
    this.queuedBytes += data.length;
    if (this.first === null) {
      void resolved.then((this.flushSoonFn ??= () => process.nextTick(flushOutput, this)));
      this.first = data;
    } else {
      const rest = (this.rest ??= []);
      rest.push(data);
      if (rest.length + 1 >= SLICE_WRITES) return this.flush();
    }
    // Big messages go at once: holding them saves no syscall, and the peer can start on them.
    if (this.queuedBytes > COPY_LIMIT) this.flush();
  }

  loseConnection(reason?: unknown): void {
    // What was written before the hang-up still goes out first (socket.end flushes too).
    if (reason) {
      this.flush();
      this.socket.destroy();
    } else this.socket.end();
  }

  registerProducer(resume: () => void): void {
    this.producer = resume;
    this.schedule();
  }

  unregisterProducer(): void {
    this.producer = null;
  }

  get bufferedAmount(): number {
    return this.socket.destroyed ? 0 : this.queuedBytes + this.socket.writableLength;
  }

  get readingPaused(): boolean {
    return this.paused;
  }

  get bytesAccepted(): number {
    return this.accepted;
  }

  /**
   * Right after a chunk from the peer was handled: if handling it made us write (answers,
   * errors) and too much is unsent, stop reading. Our own calls never pause reading (not even
   * those made by code that awaited an answer in that chunk: they are written later, from
   * promise jobs): a client that pipelines many calls keeps reading their answers, so two
   * twisted-pb peers do not both stop reading and wait on each other. Answers of methods that
   * settle later are bounded by maxOutputBuffer, and pause reading at the next chunk that is
   * answered at once.
   */
  inputHandled(acceptedBefore: number): void {
    const socket = this.socket;
    const buffered = this.queuedBytes + socket.writableLength;
    // Answers (or anything else) written in response to this input, and too much unsent.
    if (!this.paused && this.accepted > acceptedBefore && buffered > this.hwm && !socket.destroyed && !this.overflowed) {
      this.paused = true;
      socket.pause();
      socket.once("drain", (this.onDrainFn ??= () => this.onDrain()));
      const timer = setTimeout(stallTimedOut, this.stallMs, this);
      timer.unref?.();
      this.stallTimer = timer;
      if (!this.closeWatched) {
        this.closeWatched = true;
        socket.once("close", () => this.clearStallTimer());
      }
    }
  }

  // ---- output --------------------------------------------------------------------------------

  flush(): void {
    const first = this.first;
    if (first === null) return;
    const rest = this.rest;
    const size = this.queuedBytes;
    this.first = null;
    this.rest = null;
    this.queuedBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (rest === null) {
      if (size <= ON_HEAP_MAX && !(first instanceof Buffer)) {
        const out = Buffer.allocUnsafe(size);
        out.set(first);
        socket.write(out);
      } else socket.write(first);
    } else if (size > COPY_LIMIT) {
      // Big messages are not copied: the socket gathers them in one writev.
      socket.cork();
      socket.write(first);
      for (let i = 0; i < rest.length; i++) socket.write(rest[i]);
      socket.uncork();
    } else {
      const out = Buffer.allocUnsafe(size);
      out.set(first);
      let at = first.length;
      for (let i = 0; i < rest.length; i++) {
        out.set(rest[i], at);
        at += rest[i].length;
      }
      socket.write(out);
    }
    // After every write: drop past the maximum, whoever wrote.
    const buffered = this.queuedBytes + socket.writableLength;
    if (buffered > this.max) {
      this.overflow(new OutputBufferExceeded(`unsent output to the peer reached ${buffered} bytes (maxOutputBuffer ${this.max}): the peer is not reading it fast enough`));
    }
  }

  // ---- pull producers (pagers) -----------------------------------------------------------

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(pumpOutput, this);
    }
  }

  pump(): void {
    this.scheduled = false;
    const socket = this.socket;
    if (!this.producer || socket.destroyed) return;
    this.producer();
    this.flush();
    if (!this.producer) return;
    if (socket.writableNeedDrain) socket.once("drain", (this.scheduleFn ??= () => this.schedule()));
    else this.schedule();
  }

  // ---- bounded output ---------------------------------------------------------------------

  private overflow(reason: OutputBufferExceeded): void {
    if (this.overflowed) return;
    this.overflowed = true;
    this.first = null;
    this.rest = null;
    this.queuedBytes = 0;
    this.clearStallTimer();
    this.socket.destroy();
    const told = this.onOverflow;
    if (typeof told === "function") told(reason);
    else told?.connectionLost(reason);
  }

  private onDrain(): void {
    if (!this.paused) return;
    this.paused = false;
    this.clearStallTimer();
    if (this.socket.destroyed) return;
    // What was read while paused flows in the resume's tick, in whatever phase 'drain' came
    // (a pager's setImmediate included): those calls' turns get the timer marker too.
    this.deliversFromIO = false;
    this.socket.resume();
    process.nextTick(fromIOAgain, this);
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  stalled(): void {
    if (this.paused) this.overflow(new OutputBufferExceeded(`unsent output to the peer stayed above ${this.hwm} bytes for ${this.stallMs} ms: the peer is not reading`));
  }
}

function flushOutput(output: SocketOutput): void {
  output.flush();
}

function pumpOutput(output: SocketOutput): void {
  output.pump();
}

function stallTimedOut(output: SocketOutput): void {
  output.stalled();
}

function fromIOAgain(output: SocketOutput): void {
  output.deliversFromIO = true;
}
