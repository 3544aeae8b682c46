// Memory one never-reading peer makes a server hold: 200 pipelined calls for a 600 KB answer,
// with the output limits (defaults) and without them (as before issue 12). A script, not a test:
//   node --expose-gc --import tsx test/hostile-net/measure-never-reading.ts
import { PBClient, PBServer, Root, type PBLimits } from "../../src/index.ts";

const BIG = new Uint8Array(600 * 1024).fill(7);
class BigRoot extends Root {
  remote_big() {
    return BIG;
  }
}
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (n: number) => +(n / 2 ** 20).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(label: string, limits?: Partial<PBLimits>) {
  const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new BigRoot(), limits });
  const hostile = await PBClient.connect({ host: "127.0.0.1", port: server.port });
  const root = await hostile.getRootObject();
  await sleep(50);
  gc();
  const base = process.memoryUsage();
  hostile.socket.pause();
  for (let i = 0; i < 200; i++) root.callRemote("big").catch(() => {});
  let peak = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 1500) {
    await sleep(20);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base.arrayBuffers);
  }
  const stillConnected = server.connectionCount;
  hostile.socket.destroy();
  await sleep(1000);
  gc();
  await sleep(100);
  gc();
  const after = process.memoryUsage().arrayBuffers - base.arrayBuffers;
  console.log(`${label.padEnd(28)} peak ${String(mb(peak)).padStart(6)} MB   connections held after 1.5 s: ${stillConnected}   after the peer left + gc: ${mb(after)} MB`);
  await server.close(100);
}

await measure("no output limits (before)", { outputHighWaterMark: 2 ** 40, maxOutputBuffer: 2 ** 40, outputStallTimeout: 2 ** 31 - 1 });
await measure("default limits (after)");
process.exit(0);
