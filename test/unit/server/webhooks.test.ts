import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, verifyWebhookSignature, webhookSignature, outboundTargetProblem } from '../../../src/server/webhooks.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = '{"type":"sandbox.completed"}';

  it('is sha256= and the hex HMAC of timestamp + "." + body', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(webhookSignature(secret, '1700000000', body)).toBe(`sha256=${expected}`);
  });

  it('verifies a fresh signature and refuses tampering, other secrets and stale timestamps', () => {
    const now = 1_700_000_000_000;
    const timestamp = String(now / 1000);
    const signature = webhookSignature(secret, timestamp, body);
    expect(verifyWebhookSignature(secret, { signature, timestamp }, body, { now })).toBe(true);
    expect(verifyWebhookSignature(secret, { signature, timestamp }, `${body} `, { now })).toBe(false);
    expect(verifyWebhookSignature('whsec_other', { signature, timestamp }, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, { signature, timestamp }, body, { now: now + 301_000 })).toBe(false);
    expect(verifyWebhookSignature(secret, { signature: undefined, timestamp }, body, { now })).toBe(false);
    expect(verifyWebhookSignature(secret, { signature, timestamp: 'soon' }, body, { now })).toBe(false);
  });
});

describe('webhook targets', () => {
  it('knows loopback, private, link-local, CGNAT and v4-mapped addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.17.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '224.0.0.1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', 'example.com']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });

  it('refuses inward targets unless allowed, and URLs with credentials always', () => {
    expect(outboundTargetProblem('https://hooks.example.com/done', false)).toBeUndefined();
    expect(outboundTargetProblem('http://localhost:8080/x', false)).toMatch(/loopback or private/);
    expect(outboundTargetProblem('http://[::1]:8080/x', false)).toMatch(/loopback or private/);
    expect(outboundTargetProblem('http://10.0.0.5/x', false)).toMatch(/--allow-private-targets/);
    expect(outboundTargetProblem('http://127.0.0.1:8080/x', true)).toBeUndefined();
    expect(outboundTargetProblem('https://user:pw@hooks.example.com/', true)).toBe('must not carry credentials');
    expect(outboundTargetProblem('ftp://hooks.example.com/', true)).toBe('must be an http(s) URL');
  });
});
