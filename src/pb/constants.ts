// PB wire constants, named as twisted/spread/pb.py names them.

/** Broker.version: both sides send [version, 6] once the dialect is chosen. */
export const PB_VERSION = 6;
/** pb.MAX_BROKER_REFS: most entries in a broker's local object table (and, separately, its cache table). */
export const MAX_BROKER_REFS = 1024;
/** pb.portno: Twisted's default PB port. */
export const PORTNO = 8787;
/** The name the listener's root object has on the wire (never a luid). */
export const ROOT_NAME = "root";
/** The copy tag of a failure sent as an error answer. */
export const COPYABLE_FAILURE_TAG = "twisted.spread.pb.CopyableFailure";
