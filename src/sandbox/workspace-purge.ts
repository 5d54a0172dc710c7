import type Docker from 'dockerode';
import { AGENT_USER } from './container.js';
import { ignoreGone } from './docker-errors.js';
import { removeWorkspace } from './workspace.js';

const PURGE_MEMORY = 256 * 1024 * 1024;

/**
 * Removes a workspace. A controller that is neither root nor uid 1000 cannot delete what the
 * agent created (uid 1000, mode 755 directories), so on EACCES/EPERM the agent user empties it
 * from a throwaway, network-less container, and the host removes what is left.
 */
export async function purgeWorkspace(docker: Docker, dir: string, image: string | undefined, labels: Record<string, string>): Promise<void> {
  try {
    await removeWorkspace(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'EACCES' && code !== 'EPERM') || !image) throw error;
  }
  await emptyAsAgent(docker, dir, image, labels);
  await removeWorkspace(dir);
}

export async function emptyAsAgent(docker: Docker, dir: string, image: string, labels: Record<string, string>): Promise<void> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['find'],
    Cmd: ['/w', '-mindepth', '1', '-delete'],
    User: AGENT_USER,
    Labels: labels,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: PURGE_MEMORY,
      MemorySwap: PURGE_MEMORY,
      PidsLimit: 64,
      Mounts: [{ Type: 'bind', Source: dir, Target: '/w', ReadOnly: false }],
    },
  });
  try {
    const exited = container.wait({ condition: 'next-exit' });
    await container.start();
    const { StatusCode } = (await exited) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`could not empty workspace ${dir} as the agent user (find exited with ${StatusCode})`);
  } finally {
    await ignoreGone(() => container.remove({ force: true }));
  }
}
