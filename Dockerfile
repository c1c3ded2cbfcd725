# One image for every KIM-Netz process: `kim node api` or `kim node worker`, chosen by command.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kim ./kim
COPY services ./services
COPY protos ./protos
RUN python -m venv /opt/kim \
 && /opt/kim/bin/pip install --no-cache-dir . \
 && /opt/kim/bin/python -c "from kim import protogen; protogen.generate()" \
 && /opt/kim/bin/pip install --no-cache-dir --no-deps --force-reinstall .

FROM python:3.11-slim
# LibreOffice converts generated documents to PDF/A (documents service).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home kim
COPY --from=build /opt/kim /opt/kim
ENV PATH=/opt/kim/bin:$PATH PYTHONUNBUFFERED=1 KIM_GRPC_HOST=0.0.0.0
USER 10001
EXPOSE 50051
CMD ["kim", "node", "api"]
