// PB over TLS, client side: connect to a Twisted server listening with listenSSL, verifying its
// certificate. For a local try, make a self-signed certificate for localhost:
//   openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
//     -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem
//   python3 examples/twisted/server.py --tls cert.pem key.pem
//   TLS_CA=cert.pem npx tsx examples/tls-client.ts
import { readFileSync } from "node:fs";
import { PBClient } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);
const loginPort = Number(process.env.PB_LOGIN_PORT ?? 8788);
// Any node:tls connect option goes in `tls`; `true` uses Node's defaults (the system's CAs).
const tls = { ca: readFileSync(process.env.TLS_CA ?? "cert.pem"), servername: "localhost" };

const client = await PBClient.connect({ host: "127.0.0.1", port, tls });
const root = await client.getRootObject();
console.log("echo over TLS:", await root.callRemote("echo", "secure"));
console.log("protocol:", (client.socket as import("node:tls").TLSSocket).getProtocol());
await client.disconnect();

const other = await PBClient.connect({ host: "127.0.0.1", port: loginPort, tls });
const avatar = await other.login("alice", "secret");
console.log("logged in over TLS as", await avatar.callRemote("whoami"));
await other.disconnect();
