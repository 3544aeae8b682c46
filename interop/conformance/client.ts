// The conformance client driver, TypeScript side; its Python twin is interop/peers/conformance_client.py. It runs a
// scenario's steps on one connection and describes what each step got; it never judges (the
// harness compares, in compare.ts). The connection is anything with a Broker: a TCP connection
// (tcpConnection) or the replay of a recording (replay.ts).
import { createHash } from "node:crypto";
import {
  Broker,
  PBClient,
  Referenceable,
  RemoteCache,
  RemoteReference,
  getAllPages,
  joinPages,
  kwargs as kwargsOf,
  login,
  loginAnonymous,
  tuple,
} from "../../src/index.ts";
import { ValueError } from "./classes.ts";
import type { Desc, Scenario, Step } from "./scenario.ts";
import { buildArg, describe, describeFailure, type ArgContext, type FailureDesc } from "./values.ts";

export type Result =
  | { value: Desc }
  | { failure: FailureDesc }
  | { sent: true }
  | { ok: true }
  | { each: Result[] }
  | { error: string };

export interface StepResult {
  i: number;
  op: string;
  result: Result;
}

/** What the driver needs of a connection. */
export interface ClientConnection {
  broker: Broker;
  /** Closes the connection and resolves once it is gone. */
  disconnect(): Promise<void>;
}

/** The client's own objects the server calls (minds and callbacks); every call is recorded. */
export class Callback extends Referenceable {
  readonly calls: [string, unknown[]][] = [];
  constructor(readonly name: string) {
    super();
  }
  remote_greet(name: unknown, i: unknown) {
    this.calls.push(["greet", [name, i]]);
  }
  remote_ping(x: unknown) {
    this.calls.push(["ping", [x]]);
    return tuple("pong", x);
  }
  remote_called(x: unknown) {
    this.calls.push(["called", [x]]);
    return tuple("called", x);
  }
  remote_fail(msg: unknown) {
    this.calls.push(["fail", [msg]]);
    throw new ValueError(typeof msg === "string" ? msg : String(msg));
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const outcome = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const nextTurn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TsClientRunner {
  readonly results: StepResult[] = [];
  /** Every value received, held until the scenario ends (no decref/decache before a release step says so). */
  private keep: unknown[] = [];
  private readonly vars = new Map<string, unknown>();
  private readonly callbacks = new Map<string, Callback>();
  private readonly pending = new Map<string, Promise<Outcome>>();
  private root!: RemoteReference;
  private lost = false;

  constructor(
    readonly scenario: Scenario,
    readonly conn: ClientConnection,
  ) {
    void conn.broker.closed.then(() => (this.lost = true));
  }

  private callback(name: string): Callback {
    let cb = this.callbacks.get(name);
    if (!cb) this.callbacks.set(name, (cb = new Callback(name)));
    return cb;
  }

  private lookup(path: string): unknown {
    const [head, ...rest] = path.split(".");
    let obj: unknown;
    if (head === "root") obj = this.root;
    else if (this.vars.has(head)) obj = this.vars.get(head);
    else throw new Error(`nothing saved as ${head}`);
    for (const p of rest) obj = (obj as Record<string, unknown>)[p];
    return obj;
  }

  private ctx(index?: number): ArgContext {
    return { lookup: (p) => this.lookup(p), callback: (n) => this.callback(n), index };
  }

  private valueResult(value: unknown, save?: string): Result {
    this.keep.push(value);
    if (save) this.vars.set(save, value);
    return { value: describe(value) };
  }

  private outcomeResult(o: Outcome, save?: string): Result {
    return o.ok ? this.valueResult(o.value, save) : { failure: describeFailure(o.error) };
  }

  private async step(step: Step): Promise<Result> {
    switch (step.op) {
      case "call": {
        const target = this.lookup(step.target) as RemoteReference;
        const args = step.args.map((a) => buildArg(a, this.ctx()));
        const kwEntries = Object.entries(step.kwargs);
        if (kwEntries.length) args.push(kwargsOf(new Map(kwEntries.map(([k, v]) => [k, buildArg(v, this.ctx())]))));
        if (step.noAnswer) {
          try {
            target.callRemoteNoAnswer(step.method, ...args);
          } catch (e) {
            return { failure: describeFailure(e) };
          }
          return { sent: true };
        }
        const p = outcome(target.callRemote(step.method, ...args));
        if (step.async) {
          this.pending.set(step.save ?? "_", p);
          return { ok: true };
        }
        return this.outcomeResult(await p, step.save);
      }
      case "await": {
        const p = this.pending.get(step.target);
        if (!p) throw new Error(`no call started as ${step.target}`);
        this.pending.delete(step.target);
        return this.outcomeResult(await p, step.save);
      }
      case "login": {
        const mind = step.mind ? this.callback(step.mind) : null;
        return this.outcomeResult(await outcome(login(this.root, step.username, step.password, mind)), step.save);
      }
      case "loginAnonymous": {
        const mind = step.mind ? this.callback(step.mind) : null;
        return this.outcomeResult(await outcome(loginAnonymous(this.root, mind)), step.save);
      }
      case "release": {
        for (const name of step.targets) {
          const obj = this.vars.get(name);
          if (obj === undefined) throw new Error(`nothing saved as ${name}`);
          this.vars.delete(name);
          this.keep = this.keep.filter((k) => k !== obj);
          if (obj instanceof RemoteReference) obj.release();
          else if (obj instanceof RemoteCache) obj.release();
          else throw new Error(`${name} is neither a reference nor a cache`);
        }
        return { ok: true };
      }
      case "mindCalls":
        return { value: describe(this.callback(step.target).calls.map(([m, a]) => tuple(m, a))) };
      case "cacheValue":
        return { value: describe((this.lookup(step.target) as Record<string, unknown>)[step.attr]) };
      case "read":
        return { value: describe(this.lookup(step.target)) };
      case "pages": {
        const target = this.lookup(step.target) as RemoteReference;
        const args = step.args.map((a) => buildArg(a, this.ctx()));
        const o = await outcome(getAllPages(target, step.method, ...args));
        if (!o.ok) return { failure: describeFailure(o.error) };
        const pages = o.value as unknown[];
        const data = joinPages(pages);
        return { value: describe(tuple(pages.length, data.length, createHash("sha256").update(data).digest("hex"))) };
      }
      case "inFlight": {
        const target = this.lookup(step.target) as RemoteReference;
        const calls: Promise<Outcome>[] = [];
        for (let i = 0; i < step.count; i++) {
          const args = step.args.map((a) => buildArg(a, this.ctx(i)));
          calls.push(outcome(target.callRemote(step.method, ...args)));
        }
        const outs = await Promise.all(calls);
        return { each: outs.map((o) => this.outcomeResult(o)) };
      }
      case "disconnect":
        await this.conn.disconnect();
        return { ok: true };
      case "waitLost": {
        const gone = await Promise.race([this.conn.broker.closed.then(() => true), sleep(step.timeoutMs).then(() => false)]);
        return gone ? { ok: true } : { error: `still connected after ${step.timeoutMs} ms` };
      }
      case "wait":
        await sleep(step.ms);
        return { ok: true };
    }
  }

  async run(): Promise<StepResult[]> {
    await this.conn.broker.ready;
    this.root = this.conn.broker.remoteForName("root");
    for (const [i, step] of this.scenario.steps.entries()) {
      let result: Result;
      try {
        result = await this.step(step);
      } catch (e) {
        result = { failure: describeFailure(e) };
      }
      this.results.push({ i, op: step.op, result });
      // one event-loop turn between steps, as an application's next event would come
      await nextTurn();
    }
    if (!this.lost && !this.conn.broker.isDisconnected) await this.conn.disconnect();
    return this.results;
  }

  /** Lets go of everything held (after the connection is gone). */
  dispose(): void {
    this.keep = [];
    this.vars.clear();
  }
}

/** A TCP connection for the driver (the library's PBClient, as an application would use it). */
export async function tcpConnection(port: number, host = "127.0.0.1"): Promise<ClientConnection & { abort(): void }> {
  const client = await PBClient.connect({ host, port });
  return {
    broker: client.broker,
    disconnect: () => client.disconnect(),
    abort: () => client.socket.destroy(),
  };
}
