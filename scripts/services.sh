#!/usr/bin/env bash
# PostgreSQL + Redis for development and tests.
#
#   scripts/services.sh ensure   use servers that already answer, else start throwaway ones;
#                                writes .local/services.env (MASH_PG_ADMIN_URL, MASH_REDIS_URL)
#   scripts/services.sh stop     stop the throwaway servers this script started (by data dir / pidfile)
#   scripts/services.sh env      print .local/services.env
#   scripts/services.sh database NAME [--fresh]
#                                the two database roles (see below) and database NAME owned by the
#                                owner, created if missing (--fresh: dropped first); prints
#                                `export DATABASE_URL=... MASH_DATABASE__MIGRATE_URL=...` for eval
#
# Database roles (cluster-wide, created if missing, LOGIN and nothing else; the server trusts local
# users, so they have no passwords):
#   MASH_PG_OWNER_ROLE   (mash_triage_owner)  owns the database and its tables; `migrate` runs as it
#   MASH_PG_RUNTIME_ROLE (mash_triage_app)    serves; owns nothing; `migrate` grants it what it needs
#
# Probed first (never stopped or reconfigured by this script):
#   PostgreSQL MASH_PG_HOST:MASH_PG_PORT (127.0.0.1:5432), user postgres, no password, superuser
#   Redis      MASH_REDIS_HOST:MASH_REDIS_PORT (127.0.0.1:6379), must answer PONG
# Throwaway fallbacks, on 127.0.0.1 only, nothing kept on disk that matters:
#   PostgreSQL MASH_PG_LOCAL_PORT (55432): data in .local/svc/pg-PORT, or /tmp/mash-svc-PORT as root
#              (initdb refuses root, so the server then runs as the postgres user)
#   Redis      MASH_REDIS_LOCAL_PORT (56379): --save '' --appendonly no, pidfile in .local/svc/redis-PORT
# Missing Debian packages are installed with apt-get (one `apt-get update` per run) when needed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_dir=$root/.local
env_file=$local_dir/services.env

pg_host=${MASH_PG_HOST:-127.0.0.1};       pg_port=${MASH_PG_PORT:-5432}
redis_host=${MASH_REDIS_HOST:-127.0.0.1}; redis_port=${MASH_REDIS_PORT:-6379}
pg_local_port=${MASH_PG_LOCAL_PORT:-55432}
redis_local_port=${MASH_REDIS_LOCAL_PORT:-56379}

as_pg=()
pg_dir=$local_dir/svc/pg-$pg_local_port
if [[ $(id -u) == 0 ]]; then
  as_pg=(runuser -u postgres --)
  pg_dir=/tmp/mash-svc-$pg_local_port
fi
redis_dir=$local_dir/svc/redis-$redis_local_port
owner_role=${MASH_PG_OWNER_ROLE:-mash_triage_owner}
runtime_role=${MASH_PG_RUNTIME_ROLE:-mash_triage_app}
redis_pidfile=$redis_dir/redis.pid

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- packages ---------------------------------------------------------------------------
apt_updated=
apt_install() { # PKG... — install only when called; update the package lists once per run
  local sudo=()
  [[ $(id -u) == 0 ]] || { command -v sudo >/dev/null && sudo=(sudo -n); } || die "need root to install: $*"
  if [[ -z $apt_updated ]]; then
    log "apt-get update"
    "${sudo[@]}" apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
pg_bin() { compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n1 || true; }

need_clients() {
  local pkgs=()
  command -v pg_isready >/dev/null && command -v psql >/dev/null || pkgs+=(postgresql-client)
  command -v redis-cli >/dev/null || pkgs+=(redis-tools)
  [[ ${#pkgs[@]} == 0 ]] || apt_install "${pkgs[@]}"
}
need_pg_server() {
  local b; b=$(pg_bin)
  [[ -n $b && -x $b/initdb && -x $b/pg_ctl ]] || apt_install postgresql
}
need_redis_server() { command -v redis-server >/dev/null || apt_install redis-server; }

# --- probes -----------------------------------------------------------------------------
pg_url() { echo "postgres://postgres@$1:$2/postgres"; }
pg_ok() { # HOST PORT: answers, and user postgres gets in without a password as a superuser
  pg_isready -q -t 3 -h "$1" -p "$2" || return 1
  local r
  r=$(env -u PGPASSWORD -u PGSERVICE PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=3 \
      psql -w -X -Atc 'select rolsuper from pg_roles where rolname = current_user' "$(pg_url "$1" "$2")" 2>/dev/null) || return 1
  [[ $r == t ]]
}
redis_ok() { [[ $(timeout 5 redis-cli -h "$1" -p "$2" ping 2>/dev/null) == PONG ]]; }

# --- throwaway PostgreSQL ----------------------------------------------------------------
pg_local_running() {
  [[ -f $pg_dir/data/PG_VERSION ]] && "${as_pg[@]}" "$(pg_bin)/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1
}
pg_local_start() {
  local bin; bin=$(pg_bin)
  if pg_isready -q -t 2 -h 127.0.0.1 -p "$pg_local_port"; then
    die "port $pg_local_port already has a PostgreSQL server that this script did not start; set MASH_PG_LOCAL_PORT"
  fi
  if [[ ${#as_pg[@]} -gt 0 ]]; then
    getent passwd postgres >/dev/null || die "user 'postgres' does not exist (install package postgresql)"
    if [[ -e $pg_dir ]]; then # refuse a directory someone else planted in /tmp
      [[ ! -L $pg_dir && $(stat -c %U "$pg_dir") =~ ^(root|postgres)$ ]] || die "$pg_dir is not ours; remove it or set MASH_PG_LOCAL_PORT"
    else
      mkdir -m 700 "$pg_dir"
    fi
    chown postgres: "$pg_dir"
  else
    mkdir -p "$pg_dir"
  fi
  if [[ ! -f $pg_dir/data/PG_VERSION ]]; then
    log "initdb $pg_dir/data"
    "${as_pg[@]}" "$bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 \
      || { cat "$pg_dir/initdb.log" >&2; die "initdb failed"; }
  fi
  log "starting throwaway PostgreSQL on 127.0.0.1:$pg_local_port ($pg_dir)"
  # TCP only (no Unix socket), durability off: this instance is disposable.
  "${as_pg[@]}" "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $pg_local_port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { tail -n 20 "$pg_dir/server.log" >&2; die "PostgreSQL did not start"; }
}
pg_local_stop() {
  local bin; bin=$(pg_bin)
  if [[ -n $bin && -f $pg_dir/data/PG_VERSION ]] && pg_local_running; then
    log "stopping throwaway PostgreSQL ($pg_dir)"
    "${as_pg[@]}" "$bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t 60 stop >/dev/null
  fi
}

# --- throwaway Redis ---------------------------------------------------------------------
redis_local_pid() { # prints the pid if the pidfile names a live redis-server on our port
  [[ -f $redis_pidfile ]] || return 1
  local pid; pid=$(<"$redis_pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server.*:$redis_local_port\b" || return 1
  echo "$pid"
}
redis_local_start() {
  if redis_ok 127.0.0.1 "$redis_local_port"; then
    die "port $redis_local_port already has a Redis server that this script did not start; set MASH_REDIS_LOCAL_PORT"
  fi
  mkdir -p "$redis_dir"
  log "starting throwaway Redis on 127.0.0.1:$redis_local_port ($redis_dir)"
  "$(command -v redis-server)" --port "$redis_local_port" --bind 127.0.0.1 --dir "$redis_dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$redis_pidfile" --logfile "$redis_dir/redis.log"
  for _ in $(seq 100); do
    redis_local_pid >/dev/null && redis_ok 127.0.0.1 "$redis_local_port" && return 0
    sleep 0.1
  done
  tail -n 20 "$redis_dir/redis.log" >&2
  die "Redis did not start"
}
redis_local_stop() {
  local pid
  if pid=$(redis_local_pid); then
    log "stopping throwaway Redis (pid $pid)"
    kill "$pid"
    for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    [[ ! -d /proc/$pid ]] || die "Redis pid $pid did not exit"
  fi
  rm -f "$redis_pidfile"
}

# --- commands ----------------------------------------------------------------------------
ensure() {
  need_clients
  mkdir -p "$local_dir"
  local pg redis
  # Prefer the servers that already answer; installing a Debian package may also start one.
  if ! pg_ok "$pg_host" "$pg_port" && ! pg_local_running; then
    need_pg_server
    pg_ok "$pg_host" "$pg_port" || pg_local_start
  fi
  if pg_ok "$pg_host" "$pg_port"; then
    pg=$(pg_url "$pg_host" "$pg_port")
  else
    pg_ok 127.0.0.1 "$pg_local_port" || die "throwaway PostgreSQL on port $pg_local_port does not accept user postgres"
    pg=$(pg_url 127.0.0.1 "$pg_local_port")
  fi
  if ! redis_ok "$redis_host" "$redis_port" && ! redis_local_pid >/dev/null; then
    need_redis_server
    redis_ok "$redis_host" "$redis_port" || redis_local_start
  fi
  if redis_ok "$redis_host" "$redis_port"; then
    redis=redis://$redis_host:$redis_port
  else
    redis_ok 127.0.0.1 "$redis_local_port" || die "throwaway Redis on port $redis_local_port does not answer"
    redis=redis://127.0.0.1:$redis_local_port
  fi
  printf '# written by scripts/services.sh ensure\nexport MASH_PG_ADMIN_URL=%q\nexport MASH_REDIS_URL=%q\n' \
    "$pg" "$redis" >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  log "PostgreSQL $pg, Redis $redis (in ${env_file#"$root"/})"
}

database() {
  local name=${1:-} fresh=${2:-} role
  for role in "$name" "$owner_role" "$runtime_role"; do
    [[ $role =~ ^[a-z_][a-z0-9_]*$ ]] || die "'$role' is not a plain lower-case SQL name"
  done
  [[ -f $env_file ]] || die "no $env_file yet: run '$0 ensure'"
  # shellcheck source=/dev/null
  source "$env_file"
  local admin=$MASH_PG_ADMIN_URL hostport=${MASH_PG_ADMIN_URL#*@}
  hostport=${hostport%%/*}
  # CREATE ROLE has no IF NOT EXISTS; a concurrent creator makes duplicate_object or unique_violation.
  for role in "$owner_role" "$runtime_role"; do
    psql "$admin" -Xq -v ON_ERROR_STOP=1 -c "do \$\$ begin create role $role login;
      exception when duplicate_object or unique_violation then null; end \$\$" >/dev/null
  done
  local owner
  owner=$(psql "$admin" -XAt -v ON_ERROR_STOP=1 -c "select pg_get_userbyid(datdba) from pg_database where datname = '$name'")
  if [[ -n $owner && ($fresh == --fresh || $owner != "$owner_role") ]]; then
    # A database made before the two roles has tables the owner role does not own, so it could not
    # migrate them: start it again (make run's database holds demo data only).
    [[ $fresh == --fresh ]] || log "database $name is owned by $owner, not $owner_role: dropping and re-creating it"
    psql "$admin" -Xq -v ON_ERROR_STOP=1 -c "drop database $name" >/dev/null
    owner=
  fi
  if [[ -z $owner ]]; then
    psql "$admin" -Xq -v ON_ERROR_STOP=1 -c "create database $name owner $owner_role" >/dev/null
    log "created database $name (owner $owner_role, served as $runtime_role)"
  fi
  printf 'export DATABASE_URL=%q\nexport MASH_DATABASE__MIGRATE_URL=%q\n' \
    "postgres://$runtime_role@$hostport/$name" "postgres://$owner_role@$hostport/$name"
}


stop() {
  pg_local_stop
  redis_local_stop
  # The env file may point at what was just stopped; `ensure` writes it again.
  if [[ -f $env_file ]] && grep -Eq ":($pg_local_port|$redis_local_port)(/|\$|')" "$env_file"; then rm -f "$env_file"; fi
}

case ${1:-} in
  ensure) ensure ;;
  stop) stop ;;
  env) [[ -f $env_file ]] || die "no $env_file yet: run '$0 ensure'"; cat "$env_file" ;;
  database) shift; database "$@" ;;
  *) echo "usage: $0 ensure|stop|env|database NAME [--fresh]" >&2; exit 2 ;;
esac
