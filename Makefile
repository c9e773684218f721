# The two commands a newcomer needs are `make run` and `make test`; the rest
# are for contributors. Everything here is plain `go` underneath.

.PHONY: run test generate check-generated build bench release reproducible container-check upgrade-fixture clean

# Run the gateway on the embedded SQLite store (./data/ongoingai.db, port 8080).
run:
	go run ./cmd/ongoingai serve

# The whole test suite: makes sure a Postgres answers on 127.0.0.1:5432
# (starting a throwaway cluster when none does), then runs every test on
# both stores.
test:
	bash .ci/postgres.sh
	go test -count=1 ./...

# Regenerate sqlc and templ code (go:generate in internal/store and web).
# Generated files are committed.
generate:
	go generate ./...

# Fails when committed generated code is stale.
check-generated:
	go tool -modfile=tools.mod sqlc diff
	go tool -modfile=tools.mod templ generate -include-version=false -path web
	@git diff --exit-code -- '*_templ.go' >/dev/null 2>&1 || (echo "templ output is stale: run make generate" && exit 1)
	@test -z "$$(git ls-files --others --exclude-standard -- '*_templ.go')" || (echo "templ output is not committed: git add web/*_templ.go" && exit 1)

# The quick benchmark (bench/, its own module): under two minutes, run it
# before a commit that touches the request path (see bench/README.md).
bench:
	cd bench && go run ./cmd/bench -quick

# A static binary.
build:
	CGO_ENABLED=0 go build -trimpath -o bin/ongoingai ./cmd/ongoingai

# A release in dist/: static binaries for linux, darwin and windows on amd64
# and arm64, CycloneDX and SPDX SBOMs, SHA256SUMS and its minisign
# signature (MINISIGN_KEY_FILE names the key). See release/release.sh.
release:
	VERSION=$(VERSION) bash release/release.sh

# Builds one target twice (another path, empty build cache) and fails
# unless the binaries are byte-identical.
reproducible:
	bash release/reproducible.sh

# Lints the Dockerfile (base images pinned by digest as versions.env says,
# non-root user, OCI labels) and validates docker-compose.yml, in a module
# of its own (release/containercheck) so its tools stay out of go.mod.
container-check:
	cd release/containercheck && go test -count=1 ./...

# Writes this checkout's upgrade fixture (a SQLite store and a Postgres
# dump with data in them, and the answers the gateway gave on them) to
# internal/upgradefixture/testdata/$(NAME); every later build must upgrade
# it. Each release adds one. Needs the test Postgres and pg_dump.
upgrade-fixture:
	@test -n "$(NAME)" || (echo "NAME is required: make upgrade-fixture NAME=v1.2.3" && exit 1)
	cd internal/upgradefixture && go run ./gen -out testdata/$(NAME)

clean:
	rm -rf dist bin
