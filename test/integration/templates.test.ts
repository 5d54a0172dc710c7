import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

describe.each([
  ['node-20', 'node --version', /^v\d+\./],
  ['python-312', 'python3 --version', /^Python 3\./],
])('template %s (built by npm run setup)', (name, runtime, version) => {
  const image = `caged/template:${name}`;

  it('has the agent user with uid 1000 owning /workspace, git and its runtime', () => {
    expect(docker('run', '--rm', '--network', 'none', image, 'id', '-u', 'agent')).toBe('1000');
    expect(docker('run', '--rm', '--network', 'none', image, 'stat', '-c', '%u', '/workspace')).toBe('1000');
    expect(docker('run', '--rm', '--network', 'none', image, 'id', '-u')).toBe('1000');
    expect(docker('run', '--rm', '--network', 'none', image, 'git', '--version')).toMatch(/^git version /);
    expect(docker('run', '--rm', '--network', 'none', image, 'sh', '-c', runtime)).toMatch(version);
  });

  it('says what it really contains and what it was built from', () => {
    const labels = JSON.parse(docker('image', 'inspect', image, '--format', '{{json .Config.Labels}}')) as Record<string, string>;
    expect(labels['dev.caged.template.name']).toBe(name);
    expect(labels['dev.caged.template.base']).toBeTruthy();
    expect(labels['dev.caged.template.contents']).toMatch(/git version/);
    expect(labels['dev.caged.template.contents']).toContain(docker('run', '--rm', '--network', 'none', image, 'sh', '-c', runtime));
  });
});
