// Copyable both ways. A Twisted pb.Copyable arrives as an instance of the RemoteCopy class
// registered for its type tag (the Python class's qualified name); a twisted-pb Copyable goes
// to Twisted as its state plus its tag, and Twisted builds its own registered RemoteCopy.
// Against examples/twisted/server.py:   npx tsx examples/copyable.ts
import { Copyable, PBClient, RemoteCopy, setUnjellyableForClass } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);

// Twisted -> us: the server's __main__.Point (x, y) becomes a RemotePoint here.
class RemotePoint extends RemoteCopy {
  declare x: number;
  declare y: number;
  norm() {
    return Math.hypot(this.x, this.y);
  }
}
setUnjellyableForClass("__main__.Point", RemotePoint);

// Us -> Twisted: the tag is the static pythonType (else "__main__." + the class name); the
// state is getStateToCopy(), by default the instance's own fields.
class Point extends Copyable {
  static pythonType = "__main__.Point";
  constructor(
    public x: number,
    public y: number,
  ) {
    super();
  }
}

const client = await PBClient.connect({ host: "127.0.0.1", port });
const root = await client.getRootObject();
const received = (await root.callRemote("getPoint")) as RemotePoint;
console.log("received:", received instanceof RemotePoint, received.x, received.y, "norm", received.norm());
// String(): a Python 2 server's unicode text arrives as a PyUnicode (so it goes back as unicode).
console.log("Twisted got:", String(await root.callRemote("describePoint", new Point(3, 4))));
await client.disconnect();
