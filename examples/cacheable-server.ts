// Serving a Cacheable to Twisted clients: each connection gets a copy once, then the updates we
// send through the observer it was given. The Twisted client registers a pb.RemoteCache for
// our tag ("example.Thermometer") with observe_setCelsius. Try it with:
//   npx tsx examples/cacheable-server.ts   then   python3 examples/twisted/client.py cache 8787
// Receiving a Twisted Cacheable: examples/cacheable-client.ts.
import { Cacheable, PBServer, Root, type RemoteCacheObserver } from "twisted-pb";

class Thermometer extends Cacheable {
  static pythonType = "example.Thermometer";
  private observers = new Set<RemoteCacheObserver>();
  constructor(private celsius: number) {
    super();
  }
  /** What a new copy starts from; the observer reaches that copy from now on. */
  override getStateToCacheAndObserveFor(_perspective: unknown, observer: RemoteCacheObserver) {
    this.observers.add(observer);
    return { celsius: this.celsius };
  }
  /** The copy was released (or its connection lost). */
  override stoppedObserving(_perspective: unknown, observer: RemoteCacheObserver) {
    this.observers.delete(observer);
  }
  async set(celsius: number) {
    this.celsius = celsius;
    await Promise.all([...this.observers].map((o) => o.callRemote("setCelsius", celsius)));
  }
}

const thermometer = new Thermometer(20);

class Api extends Root {
  remote_getThermometer() {
    return thermometer;
  }
  // Waits until every copy has been told, so the caller sees the new value in its copy.
  async remote_setCelsius(value: number) {
    await thermometer.set(value);
  }
}

const server = await PBServer.listen({ host: "127.0.0.1", port: Number(process.env.PB_PORT ?? 8787) }, { root: new Api() });
console.log(`listening on 127.0.0.1:${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGINT", stop).once("SIGTERM", stop);
