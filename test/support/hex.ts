export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
export const unhex = (h: string): Uint8Array => Uint8Array.from(h.replace(/\s+/g, "").match(/../g) ?? [], (x) => parseInt(x, 16));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
