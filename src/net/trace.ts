// NODE_DEBUG=twisted-pb: every PB message each broker sends and receives, through node:util's
// debuglog (pb has the hook; Node lives here).
import { debuglog } from "node:util";
import { describeMessage, setDefaultTraceHook } from "../pb/log.ts";

const debug = debuglog("twisted-pb");

if (debug.enabled) {
  setDefaultTraceHook((direction, message, broker) => debug("%s %s %s", broker.role, direction === "in" ? "<-" : "->", describeMessage(message)));
}
