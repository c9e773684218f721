#!/usr/bin/env bash
# Makes a Postgres server available on 127.0.0.1:5432 (or $ONGOINGAI_PG_PORT)
# for the tests: user postgres, trust auth (see internal/testdb). Safe to run
# any number of times:
#   - the server binaries are installed with apt if missing (fault tests
#     start throwaway clusters of their own with them);
#   - a server already answering there is used as it is;
#   - otherwise a throwaway
#     cluster tuned for tests (fsync off: its data is disposable) is created
#     in $ONGOINGAI_PG_DIR (default /tmp/ongoingai-postgres, which the
#     postgres user must be able to reach) and started;
#   - a cluster left there by an earlier run is started again, not recreated.
# Run it as root (CI does): Postgres refuses to run as root, so the cluster
# belongs to the postgres user.
set -euo pipefail

host=127.0.0.1
port=${ONGOINGAI_PG_PORT:-5432}
dir=${ONGOINGAI_PG_DIR:-/tmp/ongoingai-postgres}

ready() {
  command -v pg_isready >/dev/null && pg_isready -q -h "$host" -p "$port"
}

# Debian installs the server binaries outside PATH, one directory per major
# version; a hand-built server (as on some images) is on PATH.
find_bindir() {
  if command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
    return
  fi
  local d
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -n $d && -x $d/initdb ]]; then
    echo "$d"
  fi
}

bindir=$(find_bindir)
if [[ -z $bindir ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "postgres.sh: Postgres is not installed, and installing it needs root" >&2
    exit 1
  fi
  echo "postgres.sh: installing Postgres"
  # Debian would otherwise create and start a "main" cluster on 5432 with
  # password auth over TCP, which the tests cannot use.
  mkdir -p /etc/postgresql-common
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Options::=--force-confold postgresql >/dev/null
  bindir=$(find_bindir)
  if [[ -z $bindir ]]; then
    echo "postgres.sh: installed postgresql but found no initdb" >&2
    exit 1
  fi
fi

# As root, run the server as the postgres user; as anyone else, as oneself.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi
  as_owner=(runuser -u postgres --)
fi

# Fault tests (internal/testdb.StartCluster) start clusters of their own, so
# the server binaries and the postgres user are needed even when a server
# already answers.
if ready; then
  echo "postgres.sh: Postgres is already accepting connections on $host:$port"
  exit 0
fi

mkdir -p "$dir"
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$dir"
fi

if [[ ! -f $dir/data/PG_VERSION ]]; then
  echo "postgres.sh: creating a throwaway cluster in $dir/data"
  "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" --username=postgres \
    --auth=trust --encoding=UTF8 --no-locale >/dev/null
fi

echo "postgres.sh: starting Postgres on $host:$port (log: $dir/server.log)"
# fsync, synchronous_commit and full_page_writes off: a crash loses the
# cluster, which only ever holds test databases. The socket goes to /tmp, so
# no system directory (Debian's /var/run/postgresql) has to exist.
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=$host -c port=$port -c unix_socket_directories=/tmp -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null

for _ in $(seq 1 60); do
  if pg_isready -q -h "$host" -p "$port" 2>/dev/null || "$bindir/pg_isready" -q -h "$host" -p "$port" 2>/dev/null; then
    echo "postgres.sh: ready"
    exit 0
  fi
  sleep 0.5
done
echo "postgres.sh: Postgres did not become ready; last lines of $dir/server.log:" >&2
tail -n 20 "$dir/server.log" >&2 || true
exit 1
