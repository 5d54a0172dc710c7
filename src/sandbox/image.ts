import type Docker from 'dockerode';
import { dockerStatus } from './docker-errors.js';

const TEMPLATE_REPOSITORY = 'caged/template';

/** The image of a caged template, e.g. `node-20` → `caged/template:node-20`. */
export function templateImage(name: string): string {
  return `${TEMPLATE_REPOSITORY}:${name}`;
}

/** An explicit image wins over the template. */
export function sandboxImage(source: { template: string; image?: string }): string {
  return source.image ?? templateImage(source.template);
}

export class MissingImageError extends Error {
  constructor(readonly image: string) {
    super(
      image.startsWith(`${TEMPLATE_REPOSITORY}:`)
        ? `image ${image} is not on this Docker engine: run \`npm run setup\` to build the caged templates`
        : `image ${image} is not on this Docker engine: pull or build it first (caged does not pull images), ` +
            'or use a template (`npm run setup` builds them)',
    );
    this.name = 'MissingImageError';
  }
}

/** Fails fast with what to do when the image is absent; caged never pulls behind the user's back. */
export async function requireImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) throw new MissingImageError(image);
    throw error;
  }
}
