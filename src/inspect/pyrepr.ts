// Python's repr() of the scalar values banana and jelly carry: bytes, str, int, float.
// Written from CPython's rules (unicode_repr, bytes_repr, float_repr_style "short").

const HEX = "0123456789abcdef";
const hex2 = (c: number): string => "\\x" + HEX[c >> 4] + HEX[c & 15];

/** Python's quote choice: single quotes unless the text holds a ' and no ". */
function quoteFor(hasSingle: boolean, hasDouble: boolean): string {
  return hasSingle && !hasDouble ? '"' : "'";
}

/** repr(b"...") of a byte string, shortened after `max` bytes (Infinity: never). */
export function bytesRepr(b: Uint8Array, max = Infinity): string {
  const n = Math.min(b.length, max);
  let hasSingle = false;
  let hasDouble = false;
  for (let i = 0; i < n; i++) {
    if (b[i] === 0x27) hasSingle = true;
    else if (b[i] === 0x22) hasDouble = true;
  }
  const q = quoteFor(hasSingle, hasDouble);
  let s = "b" + q;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x5c) s += "\\\\";
    else if (c === q.charCodeAt(0)) s += "\\" + q;
    else if (c === 0x09) s += "\\t";
    else if (c === 0x0a) s += "\\n";
    else if (c === 0x0d) s += "\\r";
    else if (c < 0x20 || c >= 0x7f) s += hex2(c);
    else s += String.fromCharCode(c);
  }
  s += q;
  if (n < b.length) s += `...(${b.length} bytes)`;
  return s;
}

// str.isprintable() is false for these categories (and true for the space character).
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** repr("...") of a text string, shortened after `max` code points. */
export function strRepr(text: string, max = Infinity): string {
  const q = quoteFor(text.includes("'"), text.includes('"'));
  let s = q;
  let count = 0;
  let total = 0;
  for (const ch of text) {
    total++;
    if (count >= max) continue;
    count++;
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") s += "\\\\";
    else if (ch === q) s += "\\" + q;
    else if (ch === "\t") s += "\\t";
    else if (ch === "\n") s += "\\n";
    else if (ch === "\r") s += "\\r";
    else if (cp < 0x20 || cp === 0x7f) s += hex2(cp);
    else if (cp < 0x7f) s += ch;
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) {
      if (cp < 0x100) s += hex2(cp);
      else if (cp < 0x10000) s += "\\u" + cp.toString(16).padStart(4, "0");
      else s += "\\U" + cp.toString(16).padStart(8, "0");
    } else s += ch;
  }
  s += q;
  if (count < total) s += `...(${total} characters)`;
  return s;
}

/** repr(float): the shortest digits that round-trip, fixed notation for 1e-4 <= |x| < 1e16. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-tripping digits, as repr does.
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(x).toExponential());
  if (!m) return String(x);
  const digits = m[1] + (m[2] ?? "");
  const exp = Number(m[3]);
  const decpt = exp + 1; // where the decimal point goes, counted from the first digit
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return sign + "0." + "0".repeat(-decpt) + digits;
    if (decpt >= digits.length) return sign + digits + "0".repeat(decpt - digits.length) + ".0";
    return sign + digits.slice(0, decpt) + "." + digits.slice(decpt);
  }
  const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
  const e = Math.abs(exp);
  return sign + mant + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" + e : String(e));
}

/** The Python name of an exception type as a traceback shows it (builtins and __main__ unqualified). */
export function exceptionName(qualified: string): string {
  for (const prefix of ["builtins.", "exceptions.", "__main__."]) {
    if (qualified.startsWith(prefix) && !qualified.slice(prefix.length).includes(".")) return qualified.slice(prefix.length);
  }
  return qualified;
}
