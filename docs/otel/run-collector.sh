#!/usr/bin/env bash
# End-to-end telemetry check against a real OpenTelemetry Collector.
#
#   bash docs/otel/run-collector.sh
#
# 1. builds a collector from the Go module proxy with the OpenTelemetry
#    Collector Builder (manifest: otelcol-builder.yaml; OTLP/HTTP receiver,
#    debug exporter) -- a few minutes the first time, cached afterwards;
# 2. starts it with otelcol-config.yaml (prints every span and metric);
# 3. builds and starts the fake upstream (cmd/fakeupstream) and the
#    gateway, configured only through ONGOINGAI_* and standard OTEL_*
#    variables, exporting to the collector;
# 4. sends a chat completion and a streamed one through the gateway, with a
#    known traceparent;
# 5. stops the gateway (which flushes its spans and metrics) and checks that
#    the collector received the gateway's client span in the caller's trace,
#    with its gen_ai.* attributes, and the GenAI metrics.
#
# Not part of CI (it downloads and compiles the collector). Needs Go and
# curl; nothing is installed outside the work directory and the Go caches.
#
# Environment:
#   WORK_DIR        where binaries, logs and the database go (default: a new
#                   temporary directory, removed on success)
#   OTELCOL_CACHE   where the built collector is kept between runs
#                   (default: ${XDG_CACHE_HOME:-~/.cache}/ongoingai/otelcol-v0.162.0)
#   COLLECTOR_PORT, GATEWAY_PORT, UPSTREAM_PORT   loopback ports
#                   (defaults 14318, 18080, 18099)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/docs/otel"
builder_version=v0.162.0 # keep in step with otelcol-builder.yaml
collector_port="${COLLECTOR_PORT:-14318}"
gateway_port="${GATEWAY_PORT:-18080}"
upstream_port="${UPSTREAM_PORT:-18099}"
cache="${OTELCOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ongoingai/otelcol-$builder_version}"
keep_work=1
if [[ -z "${WORK_DIR:-}" ]]; then
  WORK_DIR="$(mktemp -d -t ongoingai-otel.XXXXXX)"
  keep_work=0
fi
mkdir -p "$WORK_DIR" "$cache"

# The caller's W3C trace context: the gateway must continue this trace.
trace_id=4bf92f3577b34da6a3ce929d0e0e4736
traceparent="00-$trace_id-00f067aa0ba902b7-01"

pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -eq 0 && $keep_work -eq 0 ]]; then
    rm -rf "$WORK_DIR"
  else
    echo "work directory kept: $WORK_DIR (collector.log, gateway.log, upstream.log)" >&2
  fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_http URL [SECONDS]: until URL answers at all (any status).
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-30}))
  until curl -s -o /dev/null "$url"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

step "collector: build ($builder_version)"
collector="$cache/otelcol/otelcol-ongoingai"
if [[ -x "$collector" && "$cache/otelcol-builder.yaml" -nt "$here/otelcol-builder.yaml" ]]; then
  echo "cached: $collector"
else
  GOBIN="$cache/bin" GOFLAGS= go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
  cp "$here/otelcol-builder.yaml" "$cache/otelcol-builder.yaml"
  # The builder writes the collector's sources and binary under
  # output_path, relative to where it runs; GOFLAGS from the caller (for
  # example -mod=vendor) must not leak into the collector's module.
  (cd "$cache" && GOFLAGS= "$cache/bin/builder" --config "$cache/otelcol-builder.yaml") >"$cache/build.log" 2>&1 ||
    { tail -30 "$cache/build.log" >&2; fail "collector build failed (log: $cache/build.log)"; }
  echo "built: $collector"
fi

step "collector: start (OTLP/HTTP on 127.0.0.1:$collector_port)"
OTELCOL_HTTP_ENDPOINT="127.0.0.1:$collector_port" \
  "$collector" --config "$here/otelcol-config.yaml" >"$WORK_DIR/collector.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$collector_port/v1/traces" ||
  { cat "$WORK_DIR/collector.log" >&2; fail "collector did not start"; }
echo "collector up"

step "gateway and fake upstream: build"
(cd "$repo" && CGO_ENABLED=0 go build -o "$WORK_DIR/ongoingai" ./cmd/ongoingai &&
  go build -o "$WORK_DIR/fakeupstream" ./cmd/fakeupstream)

step "fake upstream: start (127.0.0.1:$upstream_port)"
"$WORK_DIR/fakeupstream" -addr "127.0.0.1:$upstream_port" >"$WORK_DIR/upstream.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$upstream_port/" || fail "fake upstream did not start"

step "gateway: start (127.0.0.1:$gateway_port, exporting to the collector)"
env \
  ONGOINGAI_HOST=127.0.0.1 \
  ONGOINGAI_PORT="$gateway_port" \
  ONGOINGAI_STORAGE_DRIVER=sqlite \
  ONGOINGAI_STORAGE_PATH="$WORK_DIR/gateway.db" \
  ONGOINGAI_OPENAI_UPSTREAM="http://127.0.0.1:$upstream_port" \
  ONGOINGAI_ANTHROPIC_UPSTREAM="http://127.0.0.1:$upstream_port" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$collector_port" \
  OTEL_SERVICE_NAME=ongoingai-otel-smoke \
  OTEL_METRIC_EXPORT_INTERVAL=1000 \
  "$WORK_DIR/ongoingai" serve >"$WORK_DIR/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
wait_http "http://127.0.0.1:$gateway_port/api/health" ||
  { cat "$WORK_DIR/gateway.log" >&2; fail "gateway did not start"; }
"$WORK_DIR/ongoingai" version

step "requests through the gateway"
base="http://127.0.0.1:$gateway_port"
curl -sS --fail-with-body "$base/openai/v1/chat/completions" \
  -H 'Authorization: Bearer sk-fake-key-for-the-smoke-test' \
  -H 'Content-Type: application/json' \
  -H "traceparent: $traceparent" \
  -H 'X-Request-ID: otel-smoke-1' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}' >"$WORK_DIR/response-1.json"
echo "chat completion: $(head -c 200 "$WORK_DIR/response-1.json")..."
curl -sS --fail-with-body -N "$base/anthropic/v1/messages" \
  -H 'x-api-key: sk-ant-fake-key-for-the-smoke-test' \
  -H 'anthropic-version: 2023-06-01' \
  -H 'Content-Type: application/json' \
  -H "traceparent: $traceparent" \
  -H 'X-Request-ID: otel-smoke-2' \
  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}' >"$WORK_DIR/response-2.sse"
echo "anthropic stream: $(grep -c '^event:' "$WORK_DIR/response-2.sse") events"
echo "trace pipeline: $(curl -sS "$base/api/diagnostics/trace-pipeline")"

step "gateway: stop (flushes spans and metrics)"
kill -TERM "$gateway_pid"
wait "$gateway_pid" || fail "gateway exited with status $?"
grep -q '"msg":"request"' "$WORK_DIR/gateway.log" || fail "no access line in the gateway log"
grep '"request_id":"otel-smoke-1"' "$WORK_DIR/gateway.log" | grep -q "\"trace_id\":\"$trace_id\"" ||
  fail "the access line of otel-smoke-1 does not carry trace_id $trace_id"
echo "access lines carry the caller's trace id"

step "collector: what arrived"
# The debug exporter prints each span as a block: "Span #n", its ids,
# "Name", "Kind", then "Attributes:" with one "-> key: Type(value)" line
# each. Wait for the client span of the chat completion.
deadline=$((SECONDS + 30))
until grep -q 'gen_ai.usage.input_tokens' "$WORK_DIR/collector.log" &&
  grep -q 'gen_ai.client.token.usage' "$WORK_DIR/collector.log"; do
  ((SECONDS < deadline)) || { tail -50 "$WORK_DIR/collector.log" >&2; fail "no gen_ai span or metric reached the collector in 30s"; }
  sleep 0.5
done
# The block of the OpenAI client span: from its "Span #" line to the next.
awk -v RS='Span #' '/gen_ai.provider.name: Str\(openai\)/ {print "Span #" $0; exit}' "$WORK_DIR/collector.log" >"$WORK_DIR/openai-span.txt"
[[ -s "$WORK_DIR/openai-span.txt" ]] || fail "no span with gen_ai.provider.name=openai"
sed 's/^/  /' "$WORK_DIR/openai-span.txt"
check() { # check PATTERN WHAT
  grep -Eq -- "$1" "$WORK_DIR/openai-span.txt" || fail "the OpenAI client span lacks $2 ($1)"
  echo "ok: $2"
}
check "Trace ID +: $trace_id" "the caller's trace id"
check "Kind +: Client" "span kind client"
check "gen_ai.operation.name: Str\(chat\)" "gen_ai.operation.name=chat"
check "gen_ai.request.model: Str\(gpt-4o-mini\)" "gen_ai.request.model"
check "gen_ai.response.model: Str\(gpt-4o-mini\)" "gen_ai.response.model"
check "gen_ai.usage.input_tokens: Int\(11\)" "gen_ai.usage.input_tokens=11"
check "gen_ai.usage.output_tokens: Int\(5\)" "gen_ai.usage.output_tokens=5"
check "server.address: Str\(127.0.0.1\)" "server.address"
if grep -Eqi 'sk-fake-key|sk-ant-fake-key' "$WORK_DIR/collector.log"; then
  fail "a provider key reached the collector"
fi
echo "ok: no provider key in anything exported"
awk -v RS='Span #' '/gen_ai.provider.name: Str\(anthropic\)/ {found=1} END {exit !found}' "$WORK_DIR/collector.log" ||
  fail "no span with gen_ai.provider.name=anthropic"
echo "ok: the Anthropic stream's client span arrived too"
for metric in gen_ai.client.token.usage gen_ai.client.operation.duration ongoingai.gateway.requests ongoingai.trace.written; do
  grep -q -- "Name: $metric\$" "$WORK_DIR/collector.log" || fail "metric $metric did not arrive"
  echo "ok: metric $metric"
done
grep -q -- "error.type: Str(constraint)" "$WORK_DIR/collector.log" ||
  fail "ongoingai.trace.write_failures has no error.type series"
echo "ok: metric ongoingai.trace.write_failures, one series per error.type"

step "PASS: the collector received the gateway's GenAI spans and metrics"
