import { describe, expect, it } from 'vitest';
import { checkAddresses, checkName, isProviderHost, specialAddress } from '../../../src/gateway/egress-policy.js';
import { parseHostPattern } from '../../../src/net/host-pattern.js';

const allowed = ['registry.npmjs.org', '*.pypi.org', 'github.com:443', '10.20.0.0/16', '127.0.0.1'].map(parseHostPattern);

describe('egress policy', () => {
  it('refuses LLM provider hosts even when listed, pointing at the gateway', () => {
    const listed = [...allowed, parseHostPattern('api.anthropic.com')];
    for (const host of ['api.anthropic.com', 'API.OpenAI.com.', 'chatgpt.com', 'x.openai.azure.com', 'bedrock-runtime.us-east-1.amazonaws.com', 'generativelanguage.googleapis.com']) {
      const verdict = checkName(host, 443, listed);
      expect(verdict.ok, host).toBe(false);
      expect(!verdict.ok && verdict.reason).toContain('use the caged gateway');
    }
    expect(isProviderHost('anthropic.com.evil.example')).toBe(false);
  });

  it('allows listed names, suffixes and ports only', () => {
    expect(checkName('registry.npmjs.org', 443, allowed)).toEqual({ ok: true, byName: true });
    expect(checkName('files.pypi.org', 443, allowed)).toEqual({ ok: true, byName: true });
    expect(checkName('github.com', 443, allowed)).toEqual({ ok: true, byName: true });
    expect(checkName('github.com', 22, allowed)).toEqual({ ok: false, reason: 'github.com:22 is not in allowed_hosts' });
    // refused by name alone, before any lookup, even with IP/CIDR entries present
    expect(checkName('example.com', 443, allowed)).toEqual({ ok: false, reason: 'example.com:443 is not in allowed_hosts' });
    expect(checkName('10.20.3.4', 443, allowed)).toEqual({ ok: true, byName: false });
  });

  it('connects a listed name to its public addresses only; private ones need an IP/CIDR entry', () => {
    expect(checkAddresses('registry.npmjs.org', 443, allowed, ['104.16.0.35', '127.0.0.1', '192.168.1.5'], true)).toEqual({ ok: true, addresses: ['104.16.0.35', '127.0.0.1'] });
    const rebinding = checkAddresses('registry.npmjs.org', 443, allowed, ['192.168.1.5'], true);
    expect(rebinding).toEqual({ ok: false, reason: 'registry.npmjs.org resolves to 192.168.1.5, a private address: only an IP/CIDR entry in allowed_hosts allows it' });
    expect(checkAddresses('registry.npmjs.org', 443, allowed, ['169.254.169.254'], true)).toMatchObject({ ok: false, reason: expect.stringContaining('link-local (cloud metadata)') });
  });

  it('lets an IP/CIDR entry allow literal addresses, and private addresses of listed names', () => {
    expect(checkAddresses('10.20.3.4', 80, allowed, ['10.20.3.4'], false)).toEqual({ ok: true, addresses: ['10.20.3.4'] });
    expect(checkAddresses('registry.npmjs.org', 80, allowed, ['10.20.9.9'], true)).toEqual({ ok: true, addresses: ['10.20.9.9'] });
    expect(checkAddresses('10.30.0.1', 80, allowed, ['10.30.0.1'], false)).toEqual({ ok: false, reason: '10.30.0.1:80 is not in allowed_hosts' });
    expect(checkAddresses('169.254.169.254', 80, allowed, ['169.254.169.254'], false).ok).toBe(false);
  });

  it('classifies non-public addresses, IPv4-mapped IPv6 included', () => {
    expect(specialAddress('127.0.0.53')).toBe('loopback');
    expect(specialAddress('::1')).toBe('loopback');
    expect(specialAddress('::ffff:10.0.0.1')).toBe('private');
    expect(specialAddress('172.31.255.255')).toBe('private');
    expect(specialAddress('100.100.100.200')).toBe('shared (carrier-grade NAT)');
    expect(specialAddress('fd00:ec2::254')).toContain('unique local');
    expect(specialAddress('fe80::1')).toBe('link-local');
    expect(specialAddress('0.0.0.0')).toBe('unspecified');
    expect(specialAddress('8.8.8.8')).toBeUndefined();
    expect(specialAddress('2606:4700::1111')).toBeUndefined();
    expect(specialAddress('172.32.0.1')).toBeUndefined();
  });
});
