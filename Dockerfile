# syntax=docker/dockerfile:1
#
# The gateway as a container: a static binary (CGO_ENABLED=0; the SQLite
# driver is pure Go) on a small Alpine base, running as an unprivileged
# user. Alpine rather than an empty image for two reasons: CA certificates
# for the HTTPS upstreams, and busybox wget for the health check, since the
# binary has no probe command of its own.
#
#   docker build -t ongoingai/gateway .
#   docker run -p 8080:8080 -v ongoingai-data:/var/lib/ongoingai ongoingai/gateway
#
# Build arguments VERSION, COMMIT and DATE stamp `ongoingai version`.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
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
      -ldflags "-s -w \
        -X github.com/ongoingai/gateway/internal/version.Version=${VERSION} \
        -X github.com/ongoingai/gateway/internal/version.Commit=${COMMIT} \
        -X github.com/ongoingai/gateway/internal/version.Date=${DATE}" \
      -o /out/ongoingai ./cmd/ongoingai

FROM alpine:${ALPINE_VERSION}
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 ongoingai \
 && adduser -S -D -H -u 10001 -G ongoingai -h /var/lib/ongoingai ongoingai \
 && install -d -o ongoingai -g ongoingai -m 0750 /var/lib/ongoingai \
 && install -d -m 0755 /etc/ongoingai
COPY --from=build /out/ongoingai /usr/local/bin/ongoingai
USER 10001:10001
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
  CMD wget -q -O /dev/null "http://127.0.0.1:${ONGOINGAI_PORT}/api/health" || exit 1
# The gateway drains in-flight requests and queued traces on SIGTERM (up to
# server.shutdown_timeout, 30s, plus twice server.trace_drain_timeout, 10s):
# give `docker stop` at least that long.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ongoingai"]
CMD ["serve"]
