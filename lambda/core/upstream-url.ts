/**
 * Checks an operator-configured upstream base URL. The upstream URL never comes from a caller; this
 * check keeps a mistyped or malicious config from pointing the relay (and its provider credential)
 * at instance metadata, link-local or unspecified addresses, or at plain http outside local mode.
 */

export type HostKind = 'loopback' | 'link-local' | 'unspecified' | 'metadata' | 'other';

const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data']);

function classifyIpv4(octets: number[]): HostKind {
  const [a, b] = octets;
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 169 && b === 254) return 'link-local';
  return 'other';
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return octets.every((o) => o >= 0 && o <= 255) ? octets : undefined;
}

/** Expands an IPv6 literal (as WHATWG URL normalises it) into 8 16-bit groups. */
function parseIpv6(text: string): number[] | undefined {
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  const dotted = parseIpv4(body.slice(lastColon + 1));
  if (dotted) {
    tail = [(dotted[0] << 8) | dotted[1], (dotted[2] << 8) | dotted[3]];
    body = body.slice(0, lastColon + 1) + '0';
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = toGroups(halves[0]);
  const rest = halves.length === 2 ? toGroups(halves[1]) : [];
  if (dotted) (halves.length === 2 ? rest : head).pop();
  const fill = 8 - head.length - rest.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array(fill).fill(0), ...rest, ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyIpv6(groups: number[]): HostKind {
  if (groups.every((g) => g === 0)) return 'unspecified';
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return 'loopback';
  if ((groups[0] & 0xffc0) === 0xfe80) return 'link-local';
  // AWS instance metadata over IPv6.
  if (groups[0] === 0xfd00 && groups[1] === 0x0ec2) return 'metadata';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms are judged as the IPv4 address.
  const v4Prefix = groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || groups[5] === 0);
  if (v4Prefix) {
    return classifyIpv4([groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff]);
  }
  return 'other';
}

/** Classifies a URL hostname (already normalised by WHATWG URL). */
export function classifyHost(hostname: string): HostKind {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('[') && host.endsWith(']')) {
    const groups = parseIpv6(host.slice(1, -1));
    return groups ? classifyIpv6(groups) : 'unspecified';
  }
  const v4 = parseIpv4(host);
  if (v4) return classifyIpv4(v4);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (METADATA_HOSTNAMES.has(host)) return 'metadata';
  return 'other';
}

/**
 * Returns the normalised base URL (no trailing slash) or a sentence saying what is wrong.
 * Plain http is allowed only for loopback hosts and only when `allowLoopbackHttp` (local mode).
 */
export function checkUpstreamUrl(
  value: string,
  allowLoopbackHttp: boolean,
): { ok: true; url: string } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `expected an absolute URL such as "https://api.openai.com/v1", got ${JSON.stringify(value)}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, problem: `expected an https URL, got scheme "${url.protocol}"` };
  }
  if (url.username || url.password) {
    return { ok: false, problem: 'must not contain credentials; store the provider key with `mixroute providers set-key`' };
  }
  if (url.search || url.hash) {
    return { ok: false, problem: 'must not contain a query string or fragment' };
  }
  const kind = classifyHost(url.hostname);
  if (kind === 'link-local' || kind === 'unspecified' || kind === 'metadata') {
    return { ok: false, problem: `host ${url.hostname} is a ${kind} address, which is never a valid upstream` };
  }
  if (url.protocol === 'http:' && !(allowLoopbackHttp && kind === 'loopback')) {
    return {
      ok: false,
      problem: allowLoopbackHttp
        ? `expected https (plain http is allowed only for loopback addresses), got ${url.origin}`
        : `expected https, got ${url.origin}`,
    };
  }
  return { ok: true, url: url.href.replace(/\/+$/, '') };
}
