import { BlockList, isIP } from 'node:net';
import { matchesAddress, matchesHostName, type HostPattern } from '../net/host-pattern.js';

/**
 * Which destinations a sandbox in allowlist mode may reach. Pure: the proxy resolves names and
 * asks here, and connects only to the addresses this returns (so a name cannot be re-resolved
 * elsewhere between check and connect).
 */

/** LLM APIs: reachable only through the caged gateway, so every token is metered. */
const PROVIDER_SUFFIXES = [
  'anthropic.com',
  'claude.ai',
  'openai.com',
  'chatgpt.com',
  'openai.azure.com',
  'generativelanguage.googleapis.com',
  'aiplatform.googleapis.com',
  'api.mistral.ai',
  'api.groq.com',
  'api.deepseek.com',
  'openrouter.ai',
  'api.together.xyz',
  'api.x.ai',
  'api.cohere.com',
  'api.cohere.ai',
  'api.fireworks.ai',
  'api.perplexity.ai',
];

export function isProviderHost(host: string): boolean {
  const name = normalizeHost(host);
  return PROVIDER_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`)) || /^bedrock(-runtime)?[.-].*\.amazonaws\.com$/.test(name);
}

const SPECIAL: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['100::', 64, 'ipv6', 'reserved'],
  ['fc00::', 7, 'ipv6', 'private (unique local, cloud metadata)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const SPECIAL_LISTS = SPECIAL.map(([address, prefix, family, label]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, family, label };
});

/** What kind of non-public address `ip` is (loopback, private, link-local, …), or undefined for a public one. */
export function specialAddress(ip: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return SPECIAL_LISTS.find((entry) => entry.family === family && entry.list.check(address, family))?.label;
}

export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

export type NameVerdict = { ok: false; reason: string } | { ok: true; byName: boolean };

/** The check that needs no DNS: provider hosts, and whether any entry could allow this name. */
export function checkName(host: string, port: number, allowed: readonly HostPattern[]): NameVerdict {
  const name = normalizeHost(host);
  if (isProviderHost(name)) {
    return { ok: false, reason: `${name} is an LLM provider API: use the caged gateway (ANTHROPIC_BASE_URL / OPENAI_BASE_URL), which meters the budget` };
  }
  if (isIP(name) !== 0) return { ok: true, byName: false };
  // Names are matched by name before any lookup: resolving unlisted names would open a DNS side channel.
  if (allowed.some((pattern) => matchesHostName(pattern, name, port))) return { ok: true, byName: true };
  return { ok: false, reason: `${name}:${port} is not in allowed_hosts` };
}

export type AddressVerdict = { ok: false; reason: string } | { ok: true; addresses: string[] };

/**
 * Of the addresses `host` resolved to (or the literal address it is), those the sandbox may connect
 * to: any address an IP/CIDR entry names, and public addresses of a name an entry allows.
 * Loopback, private, link-local and metadata addresses need an explicit IP/CIDR entry.
 */
export function checkAddresses(host: string, port: number, allowed: readonly HostPattern[], addresses: readonly string[], byName: boolean): AddressVerdict {
  const name = normalizeHost(host);
  const usable = addresses.filter((address) => allowed.some((pattern) => matchesAddress(pattern, address, port)) || (byName && specialAddress(address) === undefined));
  if (usable.length > 0) return { ok: true, addresses: usable };
  const special = addresses.map((address) => [address, specialAddress(address)] as const).find(([, label]) => label !== undefined);
  if (byName && special) {
    const via = isIP(name) === 0 ? `${name} resolves to ${special[0]}, ` : `${special[0]} is `;
    return { ok: false, reason: `${via}a ${special[1]} address: only an IP/CIDR entry in allowed_hosts allows it` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${name} has no address` };
  return { ok: false, reason: `${name}:${port} is not in allowed_hosts` };
}
