// pb-inspect as a library: decode captured PB traffic into a transcript, or run the proxy.
export { Session, arrow, type Chunk, type Dir, type Entry, type EntryKind, type SessionOptions } from "./session.ts";
export { Pretty, pretty, DEFAULT_LIMITS, FULL_LIMITS, type PbHooks, type PrettyLimits } from "./pretty.ts";
export { summarizeFailure, type FailureSummary } from "./failure.ts";
export { ObjectTable, type TableChange, type TableEntry } from "./table.ts";
export { loadTraffic, parseCapture, captureTraffic, parseHexText, pairTraffic, InputError, type Capture, type CaptureWrite, type LoadedTraffic } from "./capture.ts";
export { interleave } from "./interleave.ts";
export { transcript, type DecodeOptions } from "./decode.ts";
export { entryText, entryJson, shouldColor } from "./render.ts";
export { startProxy, parseHostPort, type ProxyOptions, type RunningProxy } from "./proxy.ts";
export { pcapTraffic, readCaptureFile, isCaptureFile, parsePacket, TcpReassembler, matches, type PcapTraffic, type PcapConversation, type ConnectionFilter, type CaptureFile, type RawPacket, type TcpSegment, type TcpConnection, type StreamEvent } from "./pcap/index.ts";
export { pcapTranscript } from "./pcapdecode.ts";
export { Resync, wellFormedMessage, type Boundary } from "./resync.ts";
export { splitItems, ItemSplitter, trafficItems, type WireItem } from "./items.ts";
export { replay, challengeResponse, normalizeServerItem, ReplayConnectError, type ReplayOptions, type ReplayResult, type ReplayTarget } from "./replay.ts";
export { htmlPage, hexDump, escapeHtml, type HtmlConversation, type HtmlOptions } from "./html.ts";
export { endpointName, type ProxyTlsClient, type ProxyTlsServer } from "./proxy.ts";
