import { BlockList, isIP } from 'node:net';

/**
 * One `allowed_hosts` entry: `example.com`, `*.example.com`, either with `:port`,
 * an IP (`10.0.0.5`, `[::1]:8080`) or a CIDR (`10.0.0.0/8`).
 */
export type HostPattern =
  | { kind: 'host'; host: string; port?: number; text: string }
  | { kind: 'suffix'; suffix: string; port?: number; text: string }
  | { kind: 'cidr'; address: string; prefix: number; family: 4 | 6; port?: number; text: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export class HostPatternError extends Error {}

function parsePort(text: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new HostPatternError(`"${entry}": port must be a number from 1 to 65535`);
  }
  return Number(text);
}

function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

export function parseHostPattern(entry: string): HostPattern {
  const text = entry.trim();
  if (text === '') throw new HostPatternError('empty host pattern');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new HostPatternError(`"${entry}": write a host name, not a URL (e.g. "${text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '')}")`);
  }
  if (text === '*') throw new HostPatternError('"*" would allow every host: use network_mode: open instead');

  let hostPart = text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  const bareIpv6 = isIP(text.split('/')[0]!) === 6;
  if (bracketed) {
    hostPart = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], entry);
  } else if (!bareIpv6 && text.includes(':')) {
    const at = text.lastIndexOf(':');
    hostPart = text.slice(0, at);
    port = parsePort(text.slice(at + 1), entry);
  }

  const slash = hostPart.indexOf('/');
  if (slash !== -1) {
    const address = hostPart.slice(0, slash);
    const family = isIP(address);
    const prefixText = hostPart.slice(slash + 1);
    const max = family === 6 ? 128 : 32;
    if (family === 0) throw new HostPatternError(`"${entry}": CIDR must start with an IP address`);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new HostPatternError(`"${entry}": CIDR prefix must be 0 to ${max}`);
    }
    return { kind: 'cidr', address, prefix: Number(prefixText), family: family as 4 | 6, port, text };
  }
  const family = isIP(hostPart);
  if (family !== 0) {
    return { kind: 'cidr', address: hostPart, prefix: family === 6 ? 128 : 32, family: family as 4 | 6, port, text };
  }
  const lower = hostPart.toLowerCase();
  if (lower.startsWith('*.')) {
    const suffix = lower.slice(2);
    if (!isHostname(suffix) || !suffix.includes('.')) {
      throw new HostPatternError(`"${entry}": "*." must be followed by a domain with a dot, like *.example.com`);
    }
    return { kind: 'suffix', suffix, port, text };
  }
  if (lower.includes('*')) {
    throw new HostPatternError(`"${entry}": a wildcard is only allowed as a leading "*." (like *.example.com)`);
  }
  if (!isHostname(lower)) {
    throw new HostPatternError(`"${entry}": not a valid host name (letters, digits, "-" and "." only)`);
  }
  return { kind: 'host', host: lower, port, text };
}

/** Does `pattern` allow a connection to `host` (a name as requested) on `port`? */
export function matchesHostName(pattern: HostPattern, host: string, port: number): boolean {
  if (pattern.port !== undefined && pattern.port !== port) return false;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (pattern.kind === 'host') return name === pattern.host;
  if (pattern.kind === 'suffix') return name.endsWith(`.${pattern.suffix}`);
  return false;
}

/** Does `pattern` explicitly allow this resolved address (only IP/CIDR entries do)? */
export function matchesAddress(pattern: HostPattern, address: string, port: number): boolean {
  if (pattern.kind !== 'cidr') return false;
  if (pattern.port !== undefined && pattern.port !== port) return false;
  const family = isIP(address);
  if (family === 0) return false;
  const list = new BlockList();
  list.addSubnet(pattern.address, pattern.prefix, pattern.family === 6 ? 'ipv6' : 'ipv4');
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
