# The gateway as a container: a static binary (CGO_ENABLED=0; the SQLite
# driver is pure Go) on distroless static (CA certificates for the HTTPS
# upstreams, tzdata, no shell, no package manager), running as the
# unprivileged user nonroot (65532). The health check is the binary's own
# `ongoingai healthcheck`, since the image has no curl or wget.
#
#   docker build -t ongoingai/gateway .
#   docker run -p 8080:8080 -v ongoingai-data:/var/lib/ongoingai ongoingai/gateway
#
# Base images are pinned by digest: the defaults below are versions.env's,
# which is the contract (a CI check keeps the two equal). Build arguments
# VERSION, COMMIT and DATE stamp `ongoingai version` and the OCI labels.
# No `# syntax=` line: it would pull a frontend image by tag; the builder's
# own Dockerfile frontend (BuildKit, Docker 23+) reads this file.

ARG GO_IMAGE=golang:1.26-alpine@sha256:7a3e50096189ad57c9f9f865e7e4aa8585ed1585248513dc5cda498e2f41812c
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= \
        -X github.com/ongoingai/gateway/internal/version.Version=${VERSION} \
        -X github.com/ongoingai/gateway/internal/version.Commit=${COMMIT} \
        -X github.com/ongoingai/gateway/internal/version.Date=${DATE}" \
      -o /out/ongoingai ./cmd/ongoingai \
 && mkdir -p /out/data /out/etc

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
LABEL org.opencontainers.image.title="OngoingAI Gateway" \
      org.opencontainers.image.description="An AI gateway: proxies OpenAI and Anthropic SDK calls, prices their usage and stores a trace of each" \
      org.opencontainers.image.source="https://github.com/ongoingai/gateway" \
      org.opencontainers.image.url="https://github.com/ongoingai/gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}"
COPY --from=build /out/ongoingai /usr/local/bin/ongoingai
# The data directory belongs to the runtime user; the config directory is
# for a mounted ongoingai.yaml.
COPY --from=build --chown=65532:65532 --chmod=0750 /out/data /var/lib/ongoingai
COPY --from=build --chmod=0755 /out/etc /etc/ongoingai
USER 65532:65532
WORKDIR /var/lib/ongoingai
# Listen on every interface inside the container; keep the SQLite file on
# the volume. Postgres: set ONGOINGAI_STORAGE_DRIVER=postgres and
# ONGOINGAI_STORAGE_DSN (see docker-compose.yml). A config file can be
# mounted at /etc/ongoingai/ongoingai.yaml and passed with --config.
ENV ONGOINGAI_HOST=0.0.0.0 \
    ONGOINGAI_PORT=8080 \
    ONGOINGAI_STORAGE_PATH=/var/lib/ongoingai/ongoingai.db
VOLUME ["/var/lib/ongoingai"]
EXPOSE 8080
# /api/health is O(1) and needs no key. The start period covers migrations.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ongoingai", "healthcheck"]
# The gateway drains in-flight requests and queued traces on SIGTERM (up to
# server.shutdown_timeout, 30s, plus twice server.trace_drain_timeout, 10s):
# give `docker stop` at least that long.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ongoingai"]
CMD ["serve"]
