// PB over TLS, server side: Twisted clients connect with connectSSL. With the certificate and
// key made as in examples/tls-client.ts:
//   TLS_CERT=cert.pem TLS_KEY=key.pem npx tsx examples/tls-server.ts
//   python3 examples/twisted/client.py echo 8787 --tls cert.pem
import { readFileSync } from "node:fs";
import { PBServer, Root, tuple } from "twisted-pb";

class Echo extends Root {
  remote_echo(...args: unknown[]) {
    return tuple(...args);
  }
}

// Any node:tls server option goes in `tls` (cert, key, ca, requestCert for client certificates...).
const tls = { cert: readFileSync(process.env.TLS_CERT ?? "cert.pem"), key: readFileSync(process.env.TLS_KEY ?? "key.pem") };
const server = await PBServer.listen({ host: "127.0.0.1", port: Number(process.env.PB_PORT ?? 8787), tls }, { root: new Echo() });
console.log(`listening with TLS on 127.0.0.1:${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGINT", stop).once("SIGTERM", stop);
