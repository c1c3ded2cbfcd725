#!/usr/bin/env bash
# Local real infrastructure for development and tests, without Docker: RabbitMQ (Debian package),
# FerretDB 1.24.2 (built from the Go module proxy) on SQLite or on PostgreSQL (Debian's server, its
# cluster under $KIM_HOME made by initdb) and Keycloak 26 (fetched by Maven).
# Everything lives under $KIM_HOME (default .kim/, ignored by git). Every command is idempotent.
#
# The store's backend is KIM_STORE_BACKEND=sqlite|postgresql (default: see DEFAULT_STORE_BACKEND);
# the first start records it in $KIM_HOME/ferretdb/backend, and later starts keep it: asking for
# the other one refuses and names `scripts/infra.sh migrate-store BACKEND`, which copies every
# database to a FerretDB on the other backend, verifies it and switches (docs/operations.md).
#
#   scripts/infra.sh provision [rabbitmq|ferretdb|keycloak ...]   install what is missing
#   scripts/infra.sh start     [...]                               provision, start, wait until ready
#   scripts/infra.sh stop      [...]
#   scripts/infra.sh status
#   scripts/infra.sh logs      COMPONENT
#   scripts/infra.sh env                                           print the URIs for the services
#   scripts/infra.sh secure-rabbitmq                               own administrator, no guest (start does it)
#   scripts/infra.sh migrate-store sqlite|postgresql               copy the store to the other backend, switch
#   scripts/infra.sh tools                                         install tools the tests use (LibreOffice, kustomize, Chromium)
#   scripts/infra.sh kustomize                                     print the path of the kustomize binary
#
# A component whose URI is given from outside (MONGODB_URI, AMQP_URI, KEYCLOAK_URL) is neither
# provisioned nor started: the project uses that server instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIM_HOME=${KIM_HOME:-$ROOT/.kim}
case "$KIM_HOME" in /*) ;; *) KIM_HOME=$ROOT/$KIM_HOME ;; esac

# Ports (all on 127.0.0.1); defaults chosen next to, not on, the servers' standard ports.
KIM_MONGO_PORT=${KIM_MONGO_PORT:-27018}
KIM_FERRETDB_DEBUG_PORT=${KIM_FERRETDB_DEBUG_PORT:-28088}
KIM_AMQP_PORT=${KIM_AMQP_PORT:-5673}
KIM_RABBITMQ_MGMT_PORT=${KIM_RABBITMQ_MGMT_PORT:-15673}
KIM_RABBITMQ_DIST_PORT=${KIM_RABBITMQ_DIST_PORT:-25673}
KIM_EPMD_PORT=${KIM_EPMD_PORT:-4369}
KIM_KEYCLOAK_PORT=${KIM_KEYCLOAK_PORT:-8081}
KIM_KEYCLOAK_MGMT_PORT=${KIM_KEYCLOAK_MGMT_PORT:-9001}
KIM_POSTGRES_PORT=${KIM_POSTGRES_PORT:-5433}
# A second FerretDB during `migrate-store` only (the target backend).
KIM_MIGRATE_MONGO_PORT=${KIM_MIGRATE_MONGO_PORT:-$((KIM_MONGO_PORT + 100))}
KIM_MIGRATE_DEBUG_PORT=${KIM_MIGRATE_DEBUG_PORT:-$((KIM_FERRETDB_DEBUG_PORT + 100))}

# Measured faster: PostgreSQL (bench/store_paths.py, docs/decisions.md "The embedded store's backend").
DEFAULT_STORE_BACKEND=postgresql

FERRETDB_VERSION=1.24.2
KEYCLOAK_VERSION=${KIM_KEYCLOAK_VERSION:-26.4.7}
KEYCLOAK_ADMIN_USER=${KIM_KEYCLOAK_ADMIN_USER:-admin}
KEYCLOAK_ADMIN_PASSWORD=${KIM_KEYCLOAK_ADMIN_PASSWORD:-admin}
# Maven's own client fetches Keycloak, so an organisation's settings.xml (mirror, proxy) apply;
# no repository host is written into the project.
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
REALMS_DIR=$ROOT/services/identity/realms

say() { printf '\033[1m[infra]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[infra] error:\033[0m %s\n' "$*" >&2; exit 1; }

external() {  # is this component supplied from outside?
  case "$1" in
    ferretdb|postgresql) [ -n "${MONGODB_URI:-}" ] ;;
    rabbitmq) [ -n "${AMQP_URI:-}" ] ;;
    keycloak) [ -n "${KEYCLOAK_URL:-}" ] ;;
  esac
}

pidfile() { echo "$KIM_HOME/$1/pid"; }
running() {
  local f; f=$(pidfile "$1")
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  printf '\033[1m[infra]\033[0m waiting for %s ' "$name" >&2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start > limit )); then
      echo >&2
      die "$name did not become ready within ${limit}s; see: scripts/infra.sh logs $name"
    fi
    if ! running "$name"; then
      echo >&2
      die "$name exited while starting; see: scripts/infra.sh logs $name"
    fi
    printf '.' >&2; sleep 1
  done
  printf ' ready (%ss)\n' "$((SECONDS - start))" >&2
}

apt_install() {  # apt_install WHY PACKAGE...
  local why=$1; shift
  command -v apt-get >/dev/null || die "$why needs the Debian packages $*; install them by hand"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing $* ($why)"
  # RUNLEVEL=1: a package with a service (rabbitmq-server) does not start a system-wide copy.
  $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "$@" \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "$@"; } \
    || die "could not install $* with apt-get"
}

go_build_module() {  # go_build_module MODULE VERSION PACKAGE_DIR OUTPUT: a module's source from
  # the Go module proxy, built in a writable copy ('go install pkg@version' asks the proxy for
  # the module's version list, which it refuses for some modules).
  local module=$1 version=$2 package=$3 output=$4
  command -v go >/dev/null || die "building $module needs Go 1.22 or newer (https://go.dev/doc/install or Debian's golang)"
  local build=$KIM_HOME/build/$(basename "$output")
  mkdir -p "$build" "$(dirname "$output")"
  ( cd "$build"
    [ -f go.mod ] || go mod init kimnetz.local/build >/dev/null 2>&1
    local src
    src=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -d "$src" ] || die "could not download $module $version from the Go module proxy"
    rm -rf source && cp -r "$src" source && chmod -R u+w source
    [ -z "${PREPARE_SOURCE:-}" ] || (cd source && eval "$PREPARE_SOURCE")
    cd source
    go build -trimpath -o "$output" "$package" &
    local pid=$!
    while kill -0 $pid 2>/dev/null; do printf '.' >&2; sleep 3; done
    echo >&2
    wait $pid ) || die "building $module failed (see the go output above)"
}

# Servers start in a session of their own (setsid): a test or tool that ends its own process
# group (timeouts, job control) must not take a server it happened to (re)start with it.

# --- RabbitMQ ---------------------------------------------------------------------------------

rabbitmq_env() {
  local d=$KIM_HOME/rabbitmq
  export HOME=$d  # the Erlang cookie lives here, shared by server and rabbitmqctl
  export RABBITMQ_NODENAME=${KIM_RABBITMQ_NODENAME:-kim@localhost}
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$KIM_AMQP_PORT
  export RABBITMQ_DIST_PORT=$KIM_RABBITMQ_DIST_PORT
  export ERL_EPMD_PORT=$KIM_EPMD_PORT
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE=$d/mnesia
  export RABBITMQ_LOG_BASE=$d/log
  export RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins
  export RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf
  export RABBITMQ_PID_FILE=$d/pid
  export RABBITMQ_LOGS=$d/log/rabbit.log
}

provision_rabbitmq() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] \
    || apt_install "the local message broker, with Erlang; about 20 s" rabbitmq-server
  local d=$KIM_HOME/rabbitmq
  mkdir -p "$d/mnesia" "$d/log"
  echo '[rabbitmq_management,rabbitmq_federation,rabbitmq_federation_management,rabbitmq_shovel,rabbitmq_shovel_management].' > "$d/enabled_plugins"
  cat > "$d/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$KIM_AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $KIM_RABBITMQ_MGMT_PORT
loopback_users = none
EOF
  if [ ! -f "$d/.erlang.cookie" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/.erlang.cookie"
    chmod 400 "$d/.erlang.cookie"
  fi
}

start_rabbitmq() (  # subshell: the RabbitMQ environment stays here
  rabbitmq_env
  if running rabbitmq; then return; fi
  say "starting RabbitMQ on 127.0.0.1:$KIM_AMQP_PORT (management :$KIM_RABBITMQ_MGMT_PORT)"
  setsid nohup /usr/lib/rabbitmq/bin/rabbitmq-server > "$KIM_HOME/rabbitmq/log/console.log" 2>&1 &
  echo $! > "$(pidfile rabbitmq)"
  wait_for rabbitmq 90 /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup --timeout 5
  secure_rabbitmq_in_env
)

# No default account is left on the broker: an administrator of its own with a generated
# password ($KIM_HOME/rabbitmq-admin, "user:password", readable by the operator only), which
# `kim node init|link` and the tests use for the management API (KIM_RABBITMQ_ADMIN overrides);
# then `guest` is deleted. Every node logs in as its own user (kim node init), every federation
# link as a user of its own (kim node link). Idempotent.
secure_rabbitmq() ( rabbitmq_env; secure_rabbitmq_in_env )
secure_rabbitmq_in_env() {
  local ctl=/usr/lib/rabbitmq/bin/rabbitmqctl file=$KIM_HOME/rabbitmq-admin user password vhost
  if [ ! -s "$file" ]; then
    password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    (umask 077 && printf 'kim-admin:%s\n' "$password" > "$file.new") && mv "$file.new" "$file"
  fi
  chmod 600 "$file"
  user=$(cut -d: -f1 "$file"); password=$(cut -d: -f2- "$file")
  if "$ctl" -q list_users --no-table-headers 2>/dev/null | cut -f1 | grep -qx "$user"; then
    "$ctl" -q change_password "$user" "$password" >/dev/null
  else
    say "creating the broker administrator $user (password in $file)"
    "$ctl" -q add_user "$user" "$password" >/dev/null
  fi
  "$ctl" -q set_user_tags "$user" administrator >/dev/null
  for vhost in $("$ctl" -q list_vhosts --no-table-headers); do
    "$ctl" -q set_permissions -p "$vhost" "$user" '.*' '.*' '.*' >/dev/null
  done
  if "$ctl" -q list_users --no-table-headers 2>/dev/null | cut -f1 | grep -qx guest; then
    say "deleting the broker's default account guest"
    "$ctl" -q delete_user guest >/dev/null
  fi
}

stop_rabbitmq() (
  rabbitmq_env
  running rabbitmq || return 0
  say "stopping RabbitMQ"
  /usr/lib/rabbitmq/bin/rabbitmqctl -q stop "$(pidfile rabbitmq)" >/dev/null 2>&1 || kill "$(cat "$(pidfile rabbitmq)")" 2>/dev/null || true
  wait_gone rabbitmq
)

# --- FerretDB ---------------------------------------------------------------------------------

ferretdb_bin() { echo "$KIM_HOME/ferretdb/bin/ferretdb-$FERRETDB_VERSION"; }

provision_ferretdb() {
  local backend; backend=$(store_backend)
  [ "$backend" != postgresql ] || provision_postgresql
  [ -x "$(ferretdb_bin)" ] && return
  say "building FerretDB $FERRETDB_VERSION with $(go version 2>/dev/null | cut -d' ' -f3) (about 1-2 min on 2 cores)"
  # FerretDB refuses to start without its version file, which the module proxy's zip leaves out.
  PREPARE_SOURCE="echo v$FERRETDB_VERSION > build/version/version.txt" \
    go_build_module github.com/FerretDB/FerretDB "v$FERRETDB_VERSION" ./cmd/ferretdb "$(ferretdb_bin)"
}

# The backend of this $KIM_HOME's store. Recorded at the first start; a data directory from
# before the setting existed (SQLite files, no record) is SQLite. Asking for the other backend
# than the recorded one refuses: FerretDB would start on an empty store and the developer's
# nodes would seem to have lost their data.
backend_file() { echo "$KIM_HOME/ferretdb/backend"; }
recorded_backend() {
  local f; f=$(backend_file)
  if [ -s "$f" ]; then cat "$f"
  elif compgen -G "$KIM_HOME/ferretdb/data/*.sqlite" >/dev/null; then echo sqlite
  fi
}
check_backend_name() {
  case "$1" in sqlite|postgresql) ;; *) die "unknown store backend '$1' (KIM_STORE_BACKEND=sqlite|postgresql)" ;; esac
}
# Whether PostgreSQL, run as `postgres` when we are root, can reach $KIM_HOME: every folder
# above it must be searchable by others (checked by mode: the user may not exist before apt).
postgres_can_reach_home() {
  [ "$(id -u)" = 0 ] || return 0
  local dir mode
  dir=$(cd "$KIM_HOME" 2>/dev/null && pwd -P) || dir=$(cd "$(dirname "$KIM_HOME")" 2>/dev/null && pwd -P) \
    || return 0
  while [ -n "$dir" ] && [ "$dir" != / ]; do
    mode=$(stat -c %A "$dir") || return 1
    case "${mode:9:1}" in x|t) ;; *) return 1 ;; esac
    dir=$(dirname "$dir")
  done
}
store_backend() {
  local recorded requested=${KIM_STORE_BACKEND:-}
  [ -z "$requested" ] || check_backend_name "$requested"
  recorded=$(recorded_backend)
  if [ -z "$recorded" ] && [ -z "$requested" ] && [ "$DEFAULT_STORE_BACKEND" = postgresql ] \
      && ! postgres_can_reach_home; then
    # As root, PostgreSQL runs as Debian's `postgres` user, which must pass every folder above
    # $KIM_HOME; a checkout under a private folder (/root) cannot host the cluster. The default
    # then stays SQLite for this $KIM_HOME (recorded at the first start) rather than failing.
    printf '\033[33m[infra]\033[0m %s\n' "the postgres user cannot reach $KIM_HOME (a folder above it is private); the store uses SQLite here. For PostgreSQL: chmod o+x the folders above it, then scripts/infra.sh migrate-store postgresql" >&2
    echo sqlite; return
  fi
  if [ -z "$recorded" ]; then echo "${requested:-$DEFAULT_STORE_BACKEND}"; return; fi
  if [ -n "$requested" ] && [ "$requested" != "$recorded" ]; then
    die "the store in $KIM_HOME is on $recorded; KIM_STORE_BACKEND=$requested would start an empty store on $requested. Keep $recorded (unset KIM_STORE_BACKEND), or move the data with: scripts/infra.sh migrate-store $requested"
  fi
  echo "$recorded"
}

# ferretdb_args BACKEND: the backend's part of FerretDB's command line.
ferretdb_args() {
  case "$1" in
    sqlite) echo "--handler=sqlite --sqlite-url=file:$KIM_HOME/ferretdb/data/" ;;
    # Over the cluster's unix socket (trust, the socket's directory is the owner's only).
    postgresql) echo "--handler=postgresql --postgresql-url=postgres://kim@/ferretdb?host=$KIM_HOME/postgresql/run&port=$KIM_POSTGRES_PORT" ;;
  esac
}

# run_ferretdb NAME BACKEND PORT DEBUG_PORT: a FerretDB on BACKEND, pid in $KIM_HOME/NAME/pid.
run_ferretdb() {
  local name=$1 backend=$2 port=$3 debug=$4 d=$KIM_HOME/$1
  mkdir -p "$d/state" "$d/log"
  [ "$backend" = sqlite ] && mkdir -p "$KIM_HOME/ferretdb/data"
  [ "$backend" = postgresql ] && start_postgresql
  say "starting FerretDB $FERRETDB_VERSION ($backend backend) on 127.0.0.1:$port"
  # shellcheck disable=SC2046 # ferretdb_args splits into flags on purpose (no spaces in them)
  setsid nohup "$(ferretdb_bin)" $(ferretdb_args "$backend") \
    --listen-addr="127.0.0.1:$port" --debug-addr="127.0.0.1:$debug" \
    --state-dir="$d/state" --telemetry=disable --log-level=warn > "$d/log/ferretdb.log" 2>&1 &
  echo $! > "$(pidfile "$name")"
  wait_for "$name" 30 curl -sf "http://127.0.0.1:$debug/debug/readyz"
}

start_ferretdb() {
  local backend; backend=$(store_backend)
  if running ferretdb; then
    [ "$backend" != postgresql ] || running postgresql \
      || die "FerretDB runs but its PostgreSQL does not; run: scripts/infra.sh restart ferretdb"
    return
  fi
  run_ferretdb ferretdb "$backend" "$KIM_MONGO_PORT" "$KIM_FERRETDB_DEBUG_PORT"
  echo "$backend" > "$(backend_file)"
}

stop_ferretdb() {
  stop_plain ferretdb
  stop_postgresql
}

# --- PostgreSQL (the store's backend when KIM_STORE_BACKEND=postgresql) -----------------------

pg_bindir() {  # the newest installed server of Debian's postgresql packages
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$dir" ] && [ -x "$dir/postgres" ] && echo "$dir"
}

# PostgreSQL refuses to run as root; as root (containers, CI) the cluster belongs to Debian's
# `postgres` user, which the package creates.
PG_AS=()
[ "$(id -u)" != 0 ] || PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
pg_as() { "${PG_AS[@]}" "$@"; }

provision_postgresql() {
  pg_bindir >/dev/null || apt_install "the store's PostgreSQL backend, about 30 s" postgresql
  local bin d=$KIM_HOME/postgresql
  bin=$(pg_bindir) || die "the postgresql package is installed but no server is under /usr/lib/postgresql"
  [ -f "$d/data/PG_VERSION" ] && return
  mkdir -p "$d/data" "$d/run" "$d/log"
  pg_as test -x "$d" || die "the postgres user cannot reach $d (PostgreSQL does not run as root): make the folders above it searchable (chmod o+x)"
  # The cluster: the superuser `kim`, trust on its unix socket only (a directory of the owner
  # alone), a password (SCRAM) for TCP on 127.0.0.1, where the server listens (start_postgresql).
  local password_file=$KIM_HOME/postgresql-password
  if [ ! -s "$password_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$password_file")
  fi
  cp "$password_file" "$d/pwfile"  # for initdb, which may run as another user (pg_as)
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$d"
  chmod 700 "$d/data" "$d/run"
  chmod 600 "$d/pwfile"
  say "creating the PostgreSQL cluster in $d/data ($("$bin/postgres" --version))"
  pg_as "$bin/initdb" -D "$d/data" -U kim -E UTF8 --locale=C.UTF-8 --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$d/pwfile" > "$d/log/initdb.log" 2>&1 \
    || { rm -f "$d/pwfile"; die "initdb failed; see $d/log/initdb.log"; }
  rm -f "$d/pwfile"
}

start_postgresql() {
  provision_postgresql
  local bin d=$KIM_HOME/postgresql
  bin=$(pg_bindir)
  if ! running postgresql; then
    say "starting PostgreSQL on 127.0.0.1:$KIM_POSTGRES_PORT (socket in $d/run)"
    # Autovacuum every 10 s at 5 % dead rows (defaults: 60 s, 20 %): the pending read-model
    # entries are inserted and deleted by every write, changes are updated as the relay claims
    # and empties their outbox, and FerretDB reads the pending entries with an empty filter,
    # dead rows included until a vacuum.
    setsid nohup "${PG_AS[@]}" "$bin/postgres" -D "$d/data" -c listen_addresses=127.0.0.1 \
      -c port="$KIM_POSTGRES_PORT" -c unix_socket_directories="$d/run" \
      -c autovacuum_naptime=10s -c autovacuum_vacuum_scale_factor=0.05 \
      -c autovacuum_analyze_scale_factor=0.05 \
      > "$d/log/postgresql.log" 2>&1 &
    echo $! > "$(pidfile postgresql)"
    wait_for postgresql 30 pg_as "$bin/pg_isready" -q -h "$d/run" -p "$KIM_POSTGRES_PORT"
  fi
  if ! pg_as "$bin/psql" -h "$d/run" -p "$KIM_POSTGRES_PORT" -U kim -d postgres -tAc \
      "select 1 from pg_database where datname = 'ferretdb'" | grep -q 1; then
    pg_as "$bin/createdb" -h "$d/run" -p "$KIM_POSTGRES_PORT" -U kim ferretdb
  fi
  # The indexes FerretDB's filters can use (see the file); read here, as PostgreSQL's user may
  # not reach the checkout.
  PGOPTIONS=--client-min-messages=warning pg_as "$bin/psql" -h "$d/run" -p "$KIM_POSTGRES_PORT" \
    -U kim -d ferretdb -q -v ON_ERROR_STOP=1 < "$ROOT/scripts/postgresql-indexes.sql" \
    || die "the store's indexes could not be made in PostgreSQL (scripts/postgresql-indexes.sql)"
}

stop_postgresql() {
  running postgresql || return 0
  say "stopping PostgreSQL"
  kill -INT "$(cat "$(pidfile postgresql)")" 2>/dev/null || true  # fast shutdown
  wait_gone postgresql
}

# migrate-store TARGET: every database of the running store copied to a FerretDB on TARGET (a
# second one, on its own port, next to the running one), verified (kimctl/store_migration.py:
# counts, documents, audit chains), then this $KIM_HOME switched to TARGET. The old backend's
# data stays where it was (.kim/ferretdb/data or .kim/postgresql) until removed by hand.
migrate_store() {
  local target=${1:-} source python
  check_backend_name "$target"
  external ferretdb && die "the store is given from outside (MONGODB_URI); migrate it with: python -m kimctl.store_migration SOURCE_URI TARGET_URI"
  source=$(KIM_STORE_BACKEND='' store_backend)
  [ "$source" != "$target" ] || { say "the store in $KIM_HOME is already on $target"; return; }
  python=$ROOT/.venv/bin/python; [ -x "$python" ] || python=python3
  provision_ferretdb
  start_ferretdb
  running ferretdb-migrate && stop_plain ferretdb-migrate
  run_ferretdb ferretdb-migrate "$target" "$KIM_MIGRATE_MONGO_PORT" "$KIM_MIGRATE_DEBUG_PORT"
  say "copying every database from $source to $target (stop the nodes first: writes during the copy are lost)"
  if ! PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} "$python" -m kimctl.store_migration \
      "mongodb://127.0.0.1:$KIM_MONGO_PORT/" "mongodb://127.0.0.1:$KIM_MIGRATE_MONGO_PORT/"; then
    stop_plain ferretdb-migrate
    [ "$target" = postgresql ] && stop_postgresql
    die "the copy to $target did not verify; the store stays on $source"
  fi
  stop_plain ferretdb-migrate
  stop_ferretdb
  echo "$target" > "$(backend_file)"
  KIM_STORE_BACKEND='' start_ferretdb
  say "the store in $KIM_HOME is now on $target; the $source data is left in place"
}

# --- Keycloak ---------------------------------------------------------------------------------

keycloak_dir() { echo "$KIM_HOME/keycloak/keycloak-$KEYCLOAK_VERSION"; }

provision_keycloak() {
  command -v java >/dev/null || die "Keycloak needs Java 17 or newer: apt-get install openjdk-17-jre-headless (or set KEYCLOAK_URL)"
  local jv; jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ "${jv:-0}" -ge 17 ] || die "Keycloak needs Java 17 or newer, found Java ${jv:-?}: apt-get install openjdk-17-jre-headless"
  if [ ! -x "$(keycloak_dir)/bin/kc.sh" ]; then
    local name=keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz
    local dl=$KIM_HOME/downloads
    mkdir -p "$dl" "$KIM_HOME/keycloak"
    if [ ! -f "$dl/$name" ]; then
      command -v mvn >/dev/null || die "fetching Keycloak needs Maven: apt-get install maven (or set KEYCLOAK_URL)"
      say "fetching Keycloak $KEYCLOAK_VERSION with Maven (about 160 MB; your settings.xml mirrors apply)"
      # -C: refuse an artifact whose checksum does not match (Maven checks it against the repository's).
      mvn -B -C -q "$MAVEN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
        -DoutputDirectory="$dl" -Dmdep.overWriteReleases=true \
        || die "Maven could not fetch org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz"
      [ -f "$dl/$name" ] || die "Maven reported success but $dl/$name is missing"
    fi
    say "unpacking Keycloak"
    tar -xzf "$dl/$name" -C "$KIM_HOME/keycloak"
  fi
  # The realm files of the project are imported at start (existing realms are left alone).
  mkdir -p "$(keycloak_dir)/data/import"
  cp "$REALMS_DIR"/*.json "$(keycloak_dir)/data/import/"
}

start_keycloak() {
  running keycloak && return
  local d=$KIM_HOME/keycloak
  mkdir -p "$d/log"
  say "starting Keycloak $KEYCLOAK_VERSION (dev mode) on 127.0.0.1:$KIM_KEYCLOAK_PORT (health :$KIM_KEYCLOAK_MGMT_PORT)"
  KC_BOOTSTRAP_ADMIN_USERNAME=$KEYCLOAK_ADMIN_USER KC_BOOTSTRAP_ADMIN_PASSWORD=$KEYCLOAK_ADMIN_PASSWORD \
  JAVA_OPTS_KC_HEAP="-XX:MaxRAMPercentage=10" \
    setsid nohup "$(keycloak_dir)/bin/kc.sh" start-dev --import-realm \
      --http-host=127.0.0.1 --http-port="$KIM_KEYCLOAK_PORT" \
      --http-management-port="$KIM_KEYCLOAK_MGMT_PORT" --health-enabled=true \
      > "$d/log/keycloak.log" 2>&1 &
  echo $! > "$(pidfile keycloak)"
  wait_for keycloak 180 curl -sf "http://127.0.0.1:$KIM_KEYCLOAK_MGMT_PORT/health/ready"
}

# --- tools (not servers) ----------------------------------------------------------------------

KUSTOMIZE_VERSION=5.6.0

kustomize_bin() { echo "$KIM_HOME/tools/bin/kustomize-$KUSTOMIZE_VERSION"; }
BUF_VERSION=1.75.0
buf_bin() { echo "$KIM_HOME/tools/bin/buf-$BUF_VERSION"; }

provision_tools() {
  # PostgreSQL (Debian's server) is the store's other backend; the migration between the two
  # backends is tested on real servers.
  pg_bindir >/dev/null || apt_install "the store's PostgreSQL backend, about 30 s" postgresql
  # LibreOffice converts generated DOCX to PDF/A (kim documents --pdf) and checks that every
  # kind of document opens; the documents tests need it.
  command -v soffice >/dev/null || apt_install "PDF/A conversion of documents, about 1-2 min" \
    libreoffice-writer-nogui fonts-dejavu-core
  # Chromium and its WebDriver drive the portal's browser tests (tests/e2e/portal), headless.
  { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } \
    || apt_install "browser tests of the portal, about 1 min" chromium chromium-driver
  # kustomize builds the deploy/k8s overlays in the test run (kubectl is not on every machine).
  if [ ! -x "$(kustomize_bin)" ]; then
    say "building kustomize $KUSTOMIZE_VERSION (about 40 s on 2 cores)"
    go_build_module sigs.k8s.io/kustomize/kustomize/v5 "v$KUSTOMIZE_VERSION" . "$(kustomize_bin)"
  fi
  # buf lints the contracts and refuses a breaking change against the main branch (make test).
  if [ ! -x "$(buf_bin)" ]; then
    say "building buf $BUF_VERSION (about 2-3 min on 2 cores)"
    go_build_module github.com/bufbuild/buf "v$BUF_VERSION" ./cmd/buf "$(buf_bin)"
  fi
}

# --- common -----------------------------------------------------------------------------------

wait_gone() {
  local f; f=$(pidfile "$1")
  local pid; pid=$(cat "$f" 2>/dev/null || true)
  for _ in $(seq 1 60); do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

stop_plain() {
  running "$1" || return 0
  say "stopping $1"
  # kc.sh execs java in the same process group; stop the whole group.
  local pid; pid=$(cat "$(pidfile "$1")")
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$1"
}
stop_keycloak() { stop_plain keycloak; }

ALL=(rabbitmq ferretdb keycloak)

for_each() {  # for_each ACTION [COMPONENTS...]
  local action=$1; shift
  local components=("$@")
  [ ${#components[@]} -gt 0 ] || components=("${ALL[@]}")
  for c in "${components[@]}"; do
    case "$c" in rabbitmq|ferretdb|postgresql|keycloak) ;; *) die "unknown component '$c' (rabbitmq, ferretdb, postgresql, keycloak)" ;; esac
    if external "$c" && [ "$action" != stop ]; then
      say "$c: using the server given from outside"
      continue
    fi
    "${action}_$c"
  done
}

status() {
  local backend
  for c in "${ALL[@]}"; do
    if external "$c"; then printf '%-10s external\n' "$c"
    elif running "$c"; then printf '%-10s running (pid %s)\n' "$c" "$(cat "$(pidfile "$c")")"
    else printf '%-10s stopped\n' "$c"; fi
  done
  if ! external ferretdb; then
    backend=$(store_backend)
    printf '%-10s %s' store "$backend"
    [ -n "$(recorded_backend)" ] || printf ' (new: the default or KIM_STORE_BACKEND)'
    printf '\n'
    if [ "$backend" = postgresql ] || running postgresql; then
      if running postgresql; then printf '%-10s running (pid %s, 127.0.0.1:%s)\n' postgresql "$(cat "$(pidfile postgresql)")" "$KIM_POSTGRES_PORT"
      else printf '%-10s stopped\n' postgresql; fi
    fi
  fi
  print_env
}

print_env() {
  local admin="<scripts/infra.sh secure-rabbitmq>"
  [ -s "$KIM_HOME/rabbitmq-admin" ] && admin=$(cat "$KIM_HOME/rabbitmq-admin")
  echo "MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:$KIM_MONGO_PORT/}"
  echo "AMQP_URI=${AMQP_URI:-amqp://$admin@127.0.0.1:$KIM_AMQP_PORT/}"
  echo "KEYCLOAK_URL=${KEYCLOAK_URL:-http://127.0.0.1:$KIM_KEYCLOAK_PORT}"
}

logs() {
  case "${1:-}" in
    rabbitmq) tail -n 100 "$KIM_HOME/rabbitmq/log/rabbit.log" "$KIM_HOME/rabbitmq/log/console.log" ;;
    ferretdb) tail -n 100 "$KIM_HOME/ferretdb/log/ferretdb.log" ;;
    postgresql) tail -n 100 "$KIM_HOME/postgresql/log/postgresql.log" ;;
    keycloak) tail -n 100 "$KIM_HOME/keycloak/log/keycloak.log" ;;
    *) die "usage: scripts/infra.sh logs rabbitmq|ferretdb|postgresql|keycloak" ;;
  esac
}

cmd=${1:-status}; shift || true
mkdir -p "$KIM_HOME"
case "$cmd" in
  provision) for_each provision "$@" ;;
  start) for_each provision "$@"; for_each start "$@" ;;
  stop) for_each stop "$@" ;;
  secure-rabbitmq) external rabbitmq && die "the broker is given from outside (AMQP_URI)"; secure_rabbitmq ;;
  restart) for_each stop "$@"; for_each start "$@" ;;
  status) status ;;
  env) print_env ;;
  store-backend) store_backend ;;
  migrate-store) migrate_store "$@" ;;
  tools) provision_tools ;;
  kustomize) echo "$(kustomize_bin)" ;;
  buf) echo "$(buf_bin)" ;;
  logs) logs "$@" ;;
  *) die "unknown command '$cmd' (provision, start, stop, restart, status, logs, env, store-backend, migrate-store)" ;;
esac
