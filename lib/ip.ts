/**
 * IP address literals: parsing (dotted-quad IPv4, RFC 4291 IPv6 text with `::` and an embedded
 * IPv4 tail) and whether an address is reachable on the public internet. Linear scans only: these
 * run on untrusted input.
 */

/** The four bytes of a dotted-quad IPv4 address (`10.0.0.1`), or null. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** The sixteen bytes of an IPv6 address (`::1`, `fe80::1`, `::ffff:10.0.0.1`; no brackets, no zone), or null. */
export function parseIPv6(text: string): number[] | null {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

/** True when `bytes` (IPv4) starts with the `bits`-long prefix of `prefix`. */
function inRange(bytes: number[], prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const NON_PUBLIC_V4: Array<[number[], number]> = [
  [[0], 8], // "this network", 0.0.0.0
  [[10], 8],
  [[100, 64], 10], // carrier-grade NAT
  [[127], 8], // loopback
  [[169, 254], 16], // link-local, cloud metadata (169.254.169.254)
  [[172, 16], 12],
  [[192, 0, 0], 24],
  [[192, 0, 2], 24],
  [[192, 88, 99], 24],
  [[192, 168], 16],
  [[198, 18], 15],
  [[198, 51, 100], 24],
  [[203, 0, 113], 24],
  [[224], 4], // multicast
  [[240], 4], // reserved, broadcast
];

/** IPv6 ranges that are not the public internet, or that embed an IPv4 address (mapped, NAT64, 6to4). */
const NON_PUBLIC_V6: Array<[number[], number]> = [
  [[], 96], // ::, ::1 and IPv4-compatible ::a.b.c.d
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96], // IPv4-mapped ::ffff:a.b.c.d
  [[0, 0x64, 0xff, 0x9b], 32], // NAT64 64:ff9b::/96 and the local-use /48
  [[0x01, 0x00], 64], // discard-only
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
  [[0x20, 0x01, 0x00, 0x00], 23], // IETF protocol assignments (Teredo, benchmarking…)
  [[0x20, 0x02], 16], // 6to4
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // site-local (deprecated)
  [[0xff], 8], // multicast
];

/** Whether an IPv4 (4 bytes) or IPv6 (16 bytes) address is on the public internet. */
export function isPublicAddress(bytes: number[]): boolean {
  const ranges = bytes.length === 4 ? NON_PUBLIC_V4 : NON_PUBLIC_V6;
  return !ranges.some(([prefix, bits]) => inRange(bytes, prefix, bits));
}

/**
 * The part of a client address that identifies one client: an IPv4 address whole, an IPv6 address
 * by its /64 (one subscriber gets a whole /64). Anything unparsable is returned as it is.
 */
export function clientPrefix(address: string): string {
  const v6 = address.includes(":") ? parseIPv6(address) : null;
  if (!v6) return address;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((v6[i]! << 8) | v6[i + 1]!).toString(16));
  return `${groups.join(":")}::/64`;
}
