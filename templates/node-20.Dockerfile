# caged template: node-20 — Node.js 20, npm, git; user `agent` (uid 1000) owns /workspace.
# BASE_IMAGE is the public Node image where it can be pulled. `npm run setup` builds from a
# local Debian base when it cannot, and then installs Debian's nodejs (the image's
# dev.caged.template.contents label says which version it really holds).
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}
COPY provision.sh /tmp/caged-provision.sh
RUN sh /tmp/caged-provision.sh node && rm /tmp/caged-provision.sh
USER 1000:1000
WORKDIR /workspace
ENV HOME=/home/agent
CMD ["sleep", "infinity"]
