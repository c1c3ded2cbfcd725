# One image for every KIM-Netz process: `kim node api`, `kim node worker` or `kim node portal`, chosen by command,
# and the command line for operators' one-shots (`kim node init|link|join`, `kim story`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kimnetz ./kimnetz
COPY kimctl ./kimctl
COPY services ./services
COPY protos ./protos
RUN python -m venv /opt/kim \
 && /opt/kim/bin/pip install --no-cache-dir . \
 && /opt/kim/bin/python -c "from kimctl import protogen; protogen.generate()" \
 && /opt/kim/bin/pip install --no-cache-dir --no-deps --force-reinstall .

# The portal's assets (KERN UX) from its lockfile; axe-core (dev) is for the browser tests only.
FROM node:20-slim AS assets
WORKDIR /portal
COPY services/portal/package.json services/portal/package-lock.json services/portal/.npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
# LibreOffice converts generated documents to PDF/A (documents service).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home kim \
 && mkdir -p /var/lib/kim/pki /var/lib/kim-out \
 && chown -R 10001:10001 /var/lib/kim /var/lib/kim-out
COPY --from=build /opt/kim /opt/kim
COPY --from=assets /portal/node_modules /opt/kim/portal/node_modules
# Federation files a node may name in KIM_FEDERATION_FILE (the demo's local.yaml); an operator
# mounts the federation's own file instead.
COPY services/identity/federations /etc/kim/federations
# KIM_HOME: node configurations, certificates and secrets of `kim node init` (a volume in
# compose; its owner comes from here, so the non-root user can write it).
ENV PATH=/opt/kim/bin:$PATH PYTHONUNBUFFERED=1 KIM_GRPC_HOST=0.0.0.0 KIM_HOME=/var/lib/kim \
    KIM_PORTAL_STATIC_DIR=/opt/kim/portal
USER 10001
# 50051: the api for people (token); 50061: mutual TLS for peer nodes (KIM_FEDERATION_PORT);
# 8400: the portal (KIM_PORTAL_PORT, `kim node portal`).
EXPOSE 50051 50061 8400
CMD ["kim", "node", "api"]
