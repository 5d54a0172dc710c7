import Docker from 'dockerode';

/**
 * Integration tests need a real Docker engine. They never skip: without one the run fails
 * here with what to do, in CI and locally alike.
 */
export default async function requireDocker(): Promise<void> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `Integration tests need a reachable Docker engine (${process.env.DOCKER_HOST ?? '/var/run/docker.sock'}): ${(error as Error).message}. ` +
        'Run `npm run setup` first, or `npm run test:unit` for the unit tests alone.',
      { cause: error },
    );
  }
}
