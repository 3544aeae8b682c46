// attachBroker's listeners are shared functions that find the connection on the socket; a second
// broker attached to the same socket (an odd thing to do, but possible with the public
// attachBroker) still gets listeners of its own: each broker hears the socket's bytes and close.
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { attachBroker, Broker, PBConnectionLost } from "../../src/index.ts";

describe("attachBroker", () => {
  it("two brokers on one socket each see its data and its close (with the clean-close reason)", async () => {
    const server = net.createServer((s) => {
      // The listener's dialect offer, then a hang-up.
      s.end(Buffer.from("02800282706204826e6f6e65", "hex"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const a = attachBroker(socket, new Broker({ role: "initiator", log: () => {} }));
    const b = attachBroker(socket, new Broker({ role: "initiator", log: () => {} }));
    const [ra, rb] = await Promise.all([a.closed, b.closed]);
    // Both negotiated from the offer they both received.
    expect(a.negotiatedDialect).toBe("pb");
    expect(b.negotiatedDialect).toBe("pb");
    for (const r of [ra, rb]) {
      expect(r).toBeInstanceOf(PBConnectionLost);
      expect(r!.message).toBe("Connection was closed cleanly.");
    }
    server.close();
  });
});
