// Memory for byte arrays that are completely written before anyone sees them.

/**
 * A plain Uint8Array of n bytes over an ArrayBuffer of exactly n bytes, like `new Uint8Array(n)`,
 * but not zeroed first when Node's Buffer.allocUnsafeSlow (unpooled) is there: only for arrays
 * the caller fills entirely before handing them out.
 */
export const allocUninitialized: (n: number) => Uint8Array =
  typeof Buffer === "function" && typeof Buffer.allocUnsafeSlow === "function"
    ? (n) => {
        const b = Buffer.allocUnsafeSlow(n);
        return new Uint8Array(b.buffer, b.byteOffset, n);
      }
    : (n) => new Uint8Array(n);
