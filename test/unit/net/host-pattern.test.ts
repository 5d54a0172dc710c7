import { describe, expect, it } from 'vitest';
import { matchesAddress, matchesHostName, parseHostPattern } from '../../../src/net/host-pattern.js';

describe('allowed_hosts patterns', () => {
  it('matches exact hosts case-insensitively, with an optional port', () => {
    const plain = parseHostPattern('GitHub.com');
    expect(matchesHostName(plain, 'github.com', 443)).toBe(true);
    expect(matchesHostName(plain, 'api.github.com', 443)).toBe(false);
    const withPort = parseHostPattern('registry.example.com:8443');
    expect(matchesHostName(withPort, 'registry.example.com', 8443)).toBe(true);
    expect(matchesHostName(withPort, 'registry.example.com', 443)).toBe(false);
  });

  it('matches *.suffix subdomains but not the bare domain or look-alikes', () => {
    const pattern = parseHostPattern('*.example.com');
    expect(matchesHostName(pattern, 'a.example.com', 443)).toBe(true);
    expect(matchesHostName(pattern, 'a.b.example.com', 80)).toBe(true);
    expect(matchesHostName(pattern, 'example.com', 443)).toBe(false);
    expect(matchesHostName(pattern, 'evilexample.com', 443)).toBe(false);
  });

  it('matches IPs and CIDRs by address only', () => {
    const cidr = parseHostPattern('10.1.0.0/16');
    expect(matchesAddress(cidr, '10.1.2.3', 80)).toBe(true);
    expect(matchesAddress(cidr, '10.2.0.1', 80)).toBe(false);
    expect(matchesHostName(cidr, '10.1.2.3', 80)).toBe(false);
    const single = parseHostPattern('172.18.0.1:8080');
    expect(matchesAddress(single, '172.18.0.1', 8080)).toBe(true);
    expect(matchesAddress(single, '172.18.0.1', 8081)).toBe(false);
    const v6 = parseHostPattern('[::1]:9000');
    expect(matchesAddress(v6, '::1', 9000)).toBe(true);
    expect(parseHostPattern('fd00::/8')).toMatchObject({ kind: 'cidr', family: 6, prefix: 8 });
  });

  it.each([
    ['', 'empty host pattern'],
    ['*', 'would allow every host'],
    ['*.com', '"*." must be followed by a domain with a dot'],
    ['exa mple.com', 'not a valid host name'],
    ['host:0', 'port must be a number from 1 to 65535'],
    ['http://x.com', 'write a host name, not a URL'],
    ['300.1.1.1/8', 'CIDR must start with an IP address'],
  ])('rejects %j', (entry, message) => {
    expect(() => parseHostPattern(entry)).toThrow(message);
  });
});
