# caged template: python-312 — Python 3.12, pip, git; user `agent` (uid 1000) owns /workspace.
# BASE_IMAGE is the public Python image where it can be pulled. `npm run setup` builds from a
# local Debian base when it cannot, and then installs Debian's python3 (the image's
# dev.caged.template.contents label says which version it really holds).
ARG BASE_IMAGE=python:3.12-slim-bookworm
FROM ${BASE_IMAGE}
COPY provision.sh /tmp/caged-provision.sh
RUN sh /tmp/caged-provision.sh python && rm /tmp/caged-provision.sh
USER 1000:1000
WORKDIR /workspace
ENV HOME=/home/agent
CMD ["sleep", "infinity"]
