#!/usr/bin/env bash
# Installs, starts and stops the MongoDB-API servers that bench/store.py compares, each under
# .services/candidates/<name>/ on its own 127.0.0.1 port, each stopped by its own PID. Nothing here
# touches the servers of scripts/services.sh (their FerretDB binary is only reused, read-only).
#
# Usage: bench/store_candidates.sh install NAME   -> prints "installed SECONDS" or "cached [SECONDS]"
#        bench/store_candidates.sh start NAME PORT -> fresh data dir; prints "pids PID..." (the
#                                                     server processes whose CPU the bench reads)
#        bench/store_candidates.sh stop NAME
#        bench/store_candidates.sh client NAME     -> the Python that runs the workload client
# NAME: ferretdb-sqlite | ferretdb-pg | secantus-py | mongo-java | secantus-rs
# Exit 3 from install/start: the candidate is not available here (reason on stderr).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
base=$top/.services/candidates
ferretdb_version=v1.24.2
secantus_version=0.7.0b3
mjs_version=1.47.0 # the newest de.bwaldvogel:mongo-java-server-h2-backend on Maven Central (2026-12)
pg_bin=/usr/lib/postgresql/15/bin
pg_port=${PHONY_BENCH_PG_PORT:-27122}
mkdir -p "$base"

log() { printf '[candidates] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  log "$2 did not open port $1 in $3 s; see $base/$2/server.log"
  tail -n 30 "$base/$2/server.log" >&2 || true
  return 1
}
now() { date +%s.%N; }

# The FerretDB binary: scripts/services.sh's if it built one, else our own build (same recipe).
ferretdb_bin() {
  if [ -x "$top/.services/bin/ferretdb" ]; then echo "$top/.services/bin/ferretdb"; else echo "$base/ferretdb-bin/ferretdb"; fi
}

# The SecantusDB Rust server is not built here (cargo install of secantus-mdb takes 11 minutes on 2
# cores, most of it WiredTiger's cmake build): give one as $PHONY_BENCH_SECANTUS_RS, or on the PATH.
rust_bin() {
  if [ -n "${PHONY_BENCH_SECANTUS_RS:-}" ] && [ -x "$PHONY_BENCH_SECANTUS_RS" ]; then
    echo "$PHONY_BENCH_SECANTUS_RS"
  else
    command -v secantusd-rs
  fi
}

# ---------------------------------------------------------------- install
install_ferretdb() {
  [ -x "$(ferretdb_bin)" ] && return 10
  log "building FerretDB $ferretdb_version with go install into $base/ferretdb-bin"
  local src="$base/src/ferretdb-$ferretdb_version" mod
  if [ ! -d "$src" ]; then
    mod=$(GOPATH="$base/go" GOFLAGS=-modcacherw GOTOOLCHAIN=local go mod download -json \
      "github.com/FerretDB/FerretDB@$ferretdb_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$base/src"
    cp -r "$mod" "$src.tmp" && chmod -R u+w "$src.tmp"
    echo "$ferretdb_version" >"$src.tmp/build/version/version.txt"
    mv "$src.tmp" "$src"
  fi
  (cd "$src" && GOBIN="$base/ferretdb-bin" GOPATH="$base/go" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    nice -n 5 go install ./cmd/ferretdb)
}

install_postgres() {
  [ -x "$pg_bin/postgres" ] && return 10
  log "installing Debian's postgresql"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >/dev/null
  }
}

install_secantus_py() {
  local d=$base/secantus-py
  [ -x "$d/venv/bin/secantusd-py" ] && return 10
  log "installing SecantusDB $secantus_version (PyPI) into its own venv $d/venv"
  rm -rf "$d/venv"
  mkdir -p "$d"
  python3.11 -m venv "$d/venv"
  nice -n 5 "$d/venv/bin/pip" install -q --no-cache-dir "SecantusDB==$secantus_version" >&2
}

install_mongo_java() {
  local d=$base/mongo-java
  [ -f "$d/classes/PhonyMongoJavaServer.class" ] && [ -x "$d/client-venv/bin/python" ] && return 10
  log "resolving de.bwaldvogel:mongo-java-server-h2-backend $mjs_version from Maven Central"
  rm -rf "$d/lib" "$d/classes" "$d/client-venv"
  mkdir -p "$d/src" "$d/classes"
  cat >"$d/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.phony</groupId><artifactId>phony-mongo-java-server</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server</artifactId><version>$mjs_version</version></dependency>
    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server-h2-backend</artifactId><version>$mjs_version</version></dependency>
  </dependencies>
</project>
EOF
  nice -n 5 mvn -q -B -f "$d/pom.xml" -Dmaven.repo.local="$d/m2" dependency:copy-dependencies \
    -DoutputDirectory="$d/lib.tmp" -DincludeScope=runtime >&2
  mv "$d/lib.tmp" "$d/lib"
  cat >"$d/src/PhonyMongoJavaServer.java" <<'EOF'
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

/** mongo-java-server on its H2 (MVStore) backend: args = host port file. */
public final class PhonyMongoJavaServer {
    public static void main(String[] args) throws Exception {
        H2Backend backend = new H2Backend(args[2]);
        MongoServer server = new MongoServer(backend);
        server.bind(args[0], Integer.parseInt(args[1]));
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
        Thread.currentThread().join();
    }
}
EOF
  javac -d "$d/classes" -cp "$d/lib/*" "$d/src/PhonyMongoJavaServer.java"
  # The server reports wire version 8, which pymongo >= 4.14 refuses: its own client venv.
  python3.11 -m venv "$d/client-venv"
  nice -n 5 "$d/client-venv/bin/pip" install -q --no-cache-dir "pymongo<4.14" >&2
}

install() {
  local name=$1 d=$base/$1 t0 rc=0
  mkdir -p "$d"
  t0=$(now)
  # Each step runs in a subshell with errexit on: 10 = already installed, 0 = installed now.
  set +e
  case "$name" in
    ferretdb-sqlite) (set -e; install_ferretdb); rc=$? ;;
    ferretdb-pg)
      local a b
      (set -e; install_ferretdb); a=$?
      (set -e; install_postgres); b=$?
      if [ $a -eq 10 ] && [ $b -eq 10 ]; then rc=10
      elif [ $a -ne 0 ] && [ $a -ne 10 ]; then rc=$a
      elif [ $b -ne 0 ] && [ $b -ne 10 ]; then rc=$b
      else rc=0; fi
      ;;
    secantus-py) (set -e; install_secantus_py); rc=$? ;;
    mongo-java) (set -e; install_mongo_java); rc=$? ;;
    secantus-rs)
      set -e
      if [ -z "$(rust_bin)" ]; then
        log "secantus-rs: no secantusd-rs binary (PHONY_BENCH_SECANTUS_RS or PATH; not built here: build time)"
        exit 3
      fi
      echo "cached (binary built elsewhere: $(rust_bin))"
      return
      ;;
    *) log "unknown candidate $name"; exit 2 ;;
  esac
  set -e
  if [ $rc -eq 10 ]; then
    if [ -f "$d/install-seconds" ]; then echo "cached $(cat "$d/install-seconds")"; else echo cached; fi
  elif [ $rc -eq 0 ]; then
    awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }' >"$d/install-seconds"
    echo "installed $(cat "$d/install-seconds")"
  else
    log "$name: install failed ($rc)"
    exit $rc
  fi
}

# ---------------------------------------------------------------- start / stop
start() {
  local name=$1 port=$2 d=$base/$1
  if port_open "$port"; then log "127.0.0.1:$port is already served"; exit 1; fi
  stop "$name" 2>/dev/null || true
  rm -rf "$d/data"
  mkdir -p "$d/data"
  case "$name" in
    ferretdb-sqlite)
      mkdir -p "$d/data/db" "$d/data/state"
      nohup nice -n 5 "$(ferretdb_bin)" --handler=sqlite --sqlite-url="file:$d/data/db/" \
        --listen-addr="127.0.0.1:$port" --state-dir="$d/data/state" \
        --telemetry=disable --debug-addr=- --log-level=warn >"$d/server.log" 2>&1 &
      echo $! >"$d/server.pid"
      ;;
    ferretdb-pg)
      local pg=$d/data/pg
      mkdir -p "$pg" "$d/data/state"
      chown postgres: "$d/data"
      chown -R postgres: "$pg"
      runuser -u postgres -- "$pg_bin/initdb" -D "$pg" -U postgres --auth=trust -E UTF8 >"$d/initdb.log" 2>&1
      runuser -u postgres -- nice -n 5 "$pg_bin/pg_ctl" -D "$pg" -l "$d/data/postgres.log" -w -t 30 \
        -o "-p $pg_port -k $d/data -c listen_addresses=127.0.0.1" start >"$d/pg_ctl.log" 2>&1 || {
        cat "$d/pg_ctl.log" "$d/data/postgres.log" >&2
        exit 1
      }
      head -n 1 "$pg/postmaster.pid" >"$d/postgres.pid"
      psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c 'CREATE DATABASE ferretdb'
      nohup nice -n 5 "$(ferretdb_bin)" --handler=pg \
        --postgresql-url="postgres://postgres@127.0.0.1:$pg_port/ferretdb" \
        --listen-addr="127.0.0.1:$port" --state-dir="$d/data/state" \
        --telemetry=disable --debug-addr=- --log-level=warn >"$d/server.log" 2>&1 &
      echo $! >"$d/server.pid"
      ;;
    secantus-py)
      nohup nice -n 5 "$d/venv/bin/secantusd-py" --config "$top/scripts/secantusd.toml" --port "$port" \
        --storage-path "$d/data" >"$d/server.log" 2>&1 &
      echo $! >"$d/server.pid"
      ;;
    mongo-java)
      nohup nice -n 5 java -Xmx2g -XX:+UseG1GC -cp "$d/classes:$d/lib/*" PhonyMongoJavaServer \
        127.0.0.1 "$port" "$d/data/h2.mv" >"$d/server.log" 2>&1 &
      echo $! >"$d/server.pid"
      ;;
    secantus-rs)
      local bin
      bin=$(rust_bin) || { log "no secantusd-rs binary"; exit 3; }
      nohup nice -n 5 "$bin" --host 127.0.0.1 --port "$port" --storage-path "$d/data" \
        --standalone --log-level WARNING >"$d/server.log" 2>&1 &
      echo $! >"$d/server.pid"
      ;;
    *) log "unknown candidate $name"; exit 2 ;;
  esac
  wait_port "$port" "$name" 60
  printf 'pids %s' "$(cat "$d/server.pid")"
  [ -f "$d/postgres.pid" ] && printf ' %s' "$(cat "$d/postgres.pid")"
  echo
}

stop_pid() { # pidfile signal
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$2" "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop() {
  local d=$base/$1
  stop_pid "$d/server.pid" TERM
  stop_pid "$d/postgres.pid" INT # PostgreSQL's fast shutdown
}

client() {
  case "$1" in
    mongo-java) echo "$base/mongo-java/client-venv/bin/python" ;;
    *) echo "$top/.venv/bin/python" ;;
  esac
}

case "${1:-}" in
  install) install "$2" ;;
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  client) client "$2" ;;
  *) echo "usage: $0 install|start|stop|client NAME [PORT]" >&2; exit 2 ;;
esac
