// PB over Node sockets: TCP, TLS and Unix sockets, client (PBClient, ReconnectingPBClient) and
// server (PBServer). The only place brokers meet real connections.
// NODE_DEBUG=twisted-pb tracing is installed by importing the net layer.
import "./trace.ts";
export { filePager, FilePublishedStore } from "./files.ts";
export { attachBroker, connectSocket, DEFAULT_KEEPALIVE_MS, type ConnectionOptions, type Endpoint } from "./connection.ts";
export { socketTransport, type OutputLimits, type SocketTransport, type SocketTransportOptions } from "./transport.ts";
export { withDeadline, type WaitOptions } from "./deadline.ts";
export * from "./errors.ts";
export { PBClient, DEFAULT_HANDSHAKE_TIMEOUT, LIVENESS_OBJECT_NAME, type ClientOptions, type LivenessOptions } from "./client.ts";
export { PBServer, DEFAULT_FIRST_MESSAGE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SERVER_HANDSHAKE_TIMEOUT, type PBServerEvents, type ServeOptions } from "./server.ts";
export { ReconnectingPBClient, isLoginRefused, type ReconnectEvents, type ReconnectOptions, type Session } from "./reconnect.ts";
