// pb-inspect proxy over TLS (terminating TLS with a given certificate, connecting onward with TLS)
// and over Unix sockets, between a twisted-pb client and a twisted-pb server (the conformance
// service). test/inspect/tls/{cert,key}.pem: a self-signed test certificate for localhost and
// 127.0.0.1, made with
//   openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=localhost" \
//     -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout key.pem -out cert.pem
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { rootFactory } from "../../interop/conformance/service.ts";
import { PBClient, PBServer } from "../../src/index.ts";
import { endpointName, parseHostPort, startProxy, type ProxyOptions, type RunningProxy } from "../../src/inspect/proxy.ts";
import { BIN, ROOT, runBin, stopChild, waitForOutput } from "./support.ts";
import { spawn } from "node:child_process";

const cert = readFileSync(join(ROOT, "test", "inspect", "tls", "cert.pem"));
const key = readFileSync(join(ROOT, "test", "inspect", "tls", "key.pem"));

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(endpoint: Parameters<typeof PBServer.listen>[0]): Promise<PBServer> {
  const s = await PBServer.listen(endpoint, { root: rootFactory });
  cleanup.push(() => s.close(500));
  return s;
}

async function proxy(opts: Omit<ProxyOptions, "out">): Promise<{ p: RunningProxy; lines: string[]; log: string[] }> {
  const lines: string[] = [];
  const log: string[] = [];
  const p = await startProxy({ ...opts, out: (l) => lines.push(l), log: (l) => log.push(l) });
  cleanup.push(() => p.close());
  return { p, lines, log };
}

/** One echo call through the proxy; returns the answer. */
async function echo(endpoint: Parameters<typeof PBClient.connect>[0], value: unknown): Promise<unknown> {
  const client = await PBClient.connect(endpoint);
  try {
    const root = await client.getRootObject();
    return await root.callRemote("echo", value);
  } finally {
    await client.disconnect();
  }
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe("pb-inspect proxy over TLS", () => {
  it("terminates TLS from the client with the given certificate and connects onward with TLS; the transcript shows the conversation", async () => {
    const s = await server({ host: "127.0.0.1", port: 0, tls: { cert, key } });
    const { p, lines } = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: s.port }, tls: { cert, key }, targetTls: { ca: cert } });
    const answer = await echo({ host: "127.0.0.1", port: p.address.port, tls: { ca: cert } }, "over tls");
    expect(answer).toBe("over tls");
    await until(() => lines.some((l) => l.includes("closed")));
    const text = lines.join("\n");
    expect(text).toMatch(/== connection 1: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(TLS from the client, TLS to the target\)/);
    expect(text).toContain("dialects offered: pb, none");
    expect(text).toContain("message #1 -> root.echo('over tls')");
    expect(text).toContain("answer #1 (root.echo) = 'over tls'");
  });

  it("checks the target's certificate: an untrusted one fails the connection (and says so); --target-insecure skips the check", async () => {
    const s = await server({ host: "127.0.0.1", port: 0, tls: { cert, key } });
    const strict = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: s.port }, targetTls: {} });
    await expect(echo({ host: "127.0.0.1", port: strict.p.address.port }, 1)).rejects.toThrow();
    await until(() => strict.lines.some((l) => /target .*(self-signed|certificate)/i.test(l)));
    expect(strict.lines.join("\n")).toMatch(/target 127\.0\.0\.1:\d+: .*(self-signed|certificate)/i);
    const loose = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: s.port }, targetTls: { insecure: true } });
    expect(await echo({ host: "127.0.0.1", port: loose.p.address.port }, 2)).toBe(2);
    await until(() => loose.lines.some((l) => l.includes("certificate NOT checked")));
    expect(loose.lines.join("\n")).toContain("(TLS to the target (its certificate NOT checked))");
  });

  it("a client that does not speak TLS to a TLS listener is reported and does not stop the proxy", async () => {
    const s = await server({ host: "127.0.0.1", port: 0 });
    const { p, lines, log } = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: s.port }, tls: { cert, key } });
    // (a PB client waits for the server to speak first, so a plain one would just wait: send bytes that are not a TLS hello)
    const raw = createConnection({ host: "127.0.0.1", port: p.address.port });
    raw.on("error", () => {});
    raw.write("\x02\x80\x02\x82pb this is not TLS\r\n");
    await until(() => log.length > 0);
    raw.destroy();
    expect(log.join("\n")).toContain("TLS handshake with a client failed");
    // still serving TLS clients (the target is plain TCP here)
    expect(await echo({ host: "127.0.0.1", port: p.address.port, tls: { ca: cert } }, 3)).toBe(3);
    expect(lines.join("\n")).toContain("message #1 -> root.echo(3)");
  });
});

describe("pb-inspect proxy over Unix sockets", () => {
  it("listens on a Unix socket and forwards to a Unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-inspect-unix-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const s = await server({ path: join(dir, "server.sock") });
    const { p, lines } = await proxy({ listen: parseHostPort(`unix:${join(dir, "proxy.sock")}`), target: parseHostPort(`unix:${join(dir, "server.sock")}`) });
    expect(p.address.path).toBe(join(dir, "proxy.sock"));
    expect(endpointName(p.address)).toBe(`unix:${join(dir, "proxy.sock")}`);
    expect(await echo({ path: join(dir, "proxy.sock") }, [1, "two"])).toEqual([1, "two"]);
    await until(() => lines.some((l) => l.includes("closed")));
    const text = lines.join("\n");
    expect(text).toContain(`== connection 1: unix:${join(dir, "proxy.sock")} -> unix:${join(dir, "server.sock")}`);
    expect(text).toContain("message #1 -> root.echo([1, 'two'])");
    void s;
  });

  it("TCP in, Unix socket out (and TLS in, Unix out)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-inspect-unix-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await server({ path: join(dir, "s.sock") });
    const plain = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "", port: 0, path: join(dir, "s.sock") } });
    expect(await echo({ host: "127.0.0.1", port: plain.p.address.port }, 5)).toBe(5);
    const tls = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "", port: 0, path: join(dir, "s.sock") }, tls: { cert, key } });
    expect(await echo({ host: "127.0.0.1", port: tls.p.address.port, tls: { ca: cert } }, 6)).toBe(6);
  });

  it("--html: the proxy keeps a page of the closed connections", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-inspect-unix-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await server({ path: join(dir, "s.sock") });
    const page = join(dir, "page.html");
    const { p, lines } = await proxy({ listen: { host: "127.0.0.1", port: 0 }, target: parseHostPort(`unix:${join(dir, "s.sock")}`), html: page });
    expect(await echo({ host: "127.0.0.1", port: p.address.port }, "one")).toBe("one");
    expect(await echo({ host: "127.0.0.1", port: p.address.port }, "two")).toBe("two");
    await until(() => lines.filter((l) => l.includes("closed")).length >= 2 && existsSync(page) && readFileSync(page, "utf8").includes("connection 2:"));
    const html = readFileSync(page, "utf8");
    expect(html).toContain("message #1 -&gt; root.echo(&#39;one&#39;)");
    expect(html).toContain("answer #1 (root.echo) = &#39;two&#39;");
    expect(html.match(/<section class="conv"/g)?.length).toBe(2);
  });

  it("parses unix:PATH and refuses an empty path", () => {
    expect(parseHostPort("unix:/tmp/x.sock")).toEqual({ host: "", port: 0, path: "/tmp/x.sock" });
    expect(() => parseHostPort("unix:")).toThrow();
  });
});

describe("pb-inspect proxy TLS and Unix options (command line)", () => {
  it("--tls-cert/--tls-key, --target-tls/--target-ca, unix:PATH targets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-inspect-cli-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await server({ path: join(dir, "s.sock") });
    const tlsServer = await server({ host: "127.0.0.1", port: 0, tls: { cert, key } });
    const certPath = join(ROOT, "test", "inspect", "tls", "cert.pem");
    const keyPath = join(ROOT, "test", "inspect", "tls", "key.pem");
    // TLS in, Unix socket out
    const a = spawn(process.execPath, [BIN, "proxy", "--listen", "127.0.0.1:0", "--target", `unix:${join(dir, "s.sock")}`, "--tls-cert", certPath, "--tls-key", keyPath], { stdio: ["pipe", "pipe", "pipe"] });
    cleanup.push(() => stopChild(a));
    const portA = Number((await waitForOutput(a, "stderr", /listening on 127\.0\.0\.1:(\d+) \(TLS\), forwarding to unix:/))[1]);
    const answered = waitForOutput(a, "stdout", /answer #1 \(root\.echo\) = 'cli'/);
    expect(await echo({ host: "127.0.0.1", port: portA, tls: { ca: cert } }, "cli")).toBe("cli");
    await answered;
    // plain in, TLS out (checked against the given CA)
    const b = spawn(process.execPath, [BIN, "proxy", "--listen", "127.0.0.1:0", "--target", `127.0.0.1:${tlsServer.port}`, "--target-tls", "--target-ca", certPath], { stdio: ["pipe", "pipe", "pipe"] });
    cleanup.push(() => stopChild(b));
    const portB = Number((await waitForOutput(b, "stderr", /listening on 127\.0\.0\.1:(\d+), forwarding to 127\.0\.0\.1:\d+ \(TLS\)/))[1]);
    expect(await echo({ host: "127.0.0.1", port: portB }, 9)).toBe(9);
  }, 30_000);

  it("usage errors: a certificate without its key, a missing file", async () => {
    expect((await runBin(["proxy", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--tls-cert", "x.pem"])).code).toBe(2);
    const r = await runBin(["proxy", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--tls-cert", "nope.pem", "--tls-key", "nope.pem"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nope.pem: no such file");
  });
});
