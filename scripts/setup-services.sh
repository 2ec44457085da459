#!/usr/bin/env bash
# Installs and starts what FacePass needs on Debian/Ubuntu without Docker:
# PostgreSQL with pgvector, Redis, the two databases (db_main, db_vector), and Chromium for the console's tests.
# Idempotent: each step is skipped when already done. Run as root (or with sudo).
set -euo pipefail

PGUSER_NAME=${PGUSER_NAME:-postgres}
DB_MAIN=${DB_MAIN:-facepass_main}
DB_VECTOR=${DB_VECTOR:-facepass_vector}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

log() { printf '[setup] %s\n' "$*"; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# --- Chromium (the web console's browser tests drive Debian's build with playwright-core) ----------
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium"
  apt_install chromium
fi

# --- PostgreSQL -------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL"
  apt_install postgresql
fi
PGVER=$(ls /etc/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  log "starting PostgreSQL $PGVER"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$PGVER" main start || $SUDO pg_ctlcluster "$PGVER" main start
fi
psql_admin() { $SUDO -u "$PGUSER_NAME" psql -v ON_ERROR_STOP=1 -qAt "$@" 2>/dev/null || psql -U "$PGUSER_NAME" -h 127.0.0.1 -v ON_ERROR_STOP=1 -qAt "$@"; }

# --- memory -----------------------------------------------------------------
# PostgreSQL's default shared_buffers (128 MB) cannot hold the event HNSW indexes next to the rows
# exact scans read, and searches then wait on page copies (README, "Vector search"). Raise it to a
# quarter of RAM (at most 8 GB; PG_SHARED_BUFFERS_MB overrides); never lower a larger setting.
mem_mb=$(awk '/^MemTotal:/{print int($2/1024)}' /proc/meminfo)
want_mb=${PG_SHARED_BUFFERS_MB:-$(( mem_mb / 4 > 8192 ? 8192 : mem_mb / 4 ))}
have_mb=$(psql_admin -d postgres -c "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'")
if [ "$have_mb" -lt "$want_mb" ]; then
  log "raising shared_buffers from ${have_mb} MB to ${want_mb} MB and restarting PostgreSQL"
  psql_admin -d postgres -c "ALTER SYSTEM SET shared_buffers = '${want_mb}MB'"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$PGVER" main restart || $SUDO pg_ctlcluster "$PGVER" main restart
fi

# --- pgvector ---------------------------------------------------------------
# FacePass needs pgvector >= 0.8 (subvector, iterative index scans) and refuses to start on older ones.
PGVECTOR_MIN=0.8.0
sharedir=$(/usr/lib/postgresql/"$PGVER"/bin/pg_config --sharedir 2>/dev/null || pg_config --sharedir)
have_vector=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$sharedir/extension/vector.control" 2>/dev/null || true)
if [ -z "$have_vector" ] || dpkg --compare-versions "$have_vector" lt "$PGVECTOR_MIN"; then
  [ -z "$have_vector" ] || log "pgvector $have_vector is older than $PGVECTOR_MIN: upgrading"
  candidate=$(apt-cache policy "postgresql-$PGVER-pgvector" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && dpkg --compare-versions "$candidate" ge "$PGVECTOR_MIN" \
    && apt_install "postgresql-$PGVER-pgvector"; then
    log "installed postgresql-$PGVER-pgvector $candidate"
  else
    # Not packaged for this release (e.g. bookworm): build Debian's own source package from trixie,
    # fetched through the machine's mirror without touching its apt sources.
    log "building pgvector from Debian's trixie source package"
    apt_install "postgresql-server-dev-$PGVER" make gcc
    d=$(mktemp -d); mkdir -p "$d/lists/partial"
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    echo "deb-src $m trixie main" > "$d/sources.list"
    O="-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$d/lists"
    # shellcheck disable=SC2086
    $SUDO apt-get $O update -qq
    # shellcheck disable=SC2086
    (cd "$d" && apt-get $O source --download-only pgvector >/dev/null)
    tar xzf "$d"/pgvector_*.orig.tar.gz -C "$d"
    $SUDO make -s -C "$d"/pgvector-*/ PG_CONFIG=/usr/lib/postgresql/"$PGVER"/bin/pg_config install >/dev/null
    rm -rf "$d"
  fi
fi

# --- databases --------------------------------------------------------------
for db in "$DB_MAIN" "$DB_VECTOR"; do
  if [ "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != "1" ]; then
    log "creating database $db"
    psql_admin -d postgres -c "CREATE DATABASE $db"
  fi
done
psql_admin -d "$DB_VECTOR" -c "CREATE EXTENSION IF NOT EXISTS vector"
# A database created under an older pgvector keeps its old extension version until updated.
psql_admin -d "$DB_VECTOR" -c "ALTER EXTENSION vector UPDATE"

# --- Redis ------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing Redis"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/facepass.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

log "ready: postgres://$PGUSER_NAME@127.0.0.1:5432/$DB_MAIN, postgres://$PGUSER_NAME@127.0.0.1:5432/$DB_VECTOR, redis://127.0.0.1:6379"
