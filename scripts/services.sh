#!/usr/bin/env bash
# Phony's real servers on 127.0.0.1, installed and started by the project itself:
#   Apache Kafka (KRaft, one combined node) from its Maven Central jars, SecantusDB (a MongoDB
#   wire-protocol server on WiredTiger, from PyPI, in its own venv; chosen by bench/store.py, see the
#   README) and Debian's redis-server.
# Usage: scripts/services.sh up|down|status|install
# Everything (downloads, builds, data, logs) lives under $PHONY_SERVICES_DIR (default .services/).
# Servers given from outside (PHONY_KAFKA_BOOTSTRAP / PHONY_MONGODB_URL / PHONY_REDIS_URL) are not
# started here.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${PHONY_SERVICES_DIR:-$top/.services}
kafka_port=${PHONY_SVC_KAFKA_PORT:-19092}
kafka_cport=${PHONY_SVC_KAFKA_CONTROLLER_PORT:-19093}
mongo_port=${PHONY_SVC_MONGO_PORT:-27018}
redis_port=${PHONY_SVC_REDIS_PORT:-16379}
secantus_version=0.7.0b3
mkdir -p "$dir/logs" "$dir/run" "$dir/bin"

log() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  log "$2 did not open port $1 in $3 s; see $dir/logs/$2.log"
  tail -n 30 "$dir/logs/$2.log" >&2 || true
  return 1
}

running() { [ -f "$dir/run/$1.pid" ] && kill -0 "$(cat "$dir/run/$1.pid")" 2>/dev/null; }

# to_start name port given: whether `up` must start this server here. Not when the URL of one is given
# (given non-empty), nor when ours runs, nor when something else already serves its port (another
# checkout's services, say): that one is used, and left alone by `down`.
to_start() {
  [ -z "$3" ] || return 1
  running "$1" && return 1
  rm -f "$dir/run/$1.pid"
  if port_open "$2"; then
    log "$1: 127.0.0.1:$2 is already served by a process not started here; using it"
    return 1
  fi
}

# ---------------------------------------------------------------- install
install_kafka() {
  if compgen -G "$dir/kafka/lib/kafka_2.13-*.jar" >/dev/null; then return; fi
  log "resolving Apache Kafka jars from Maven Central"
  mvn -q -B -f "$top/scripts/kafka-pom.xml" -Dmaven.repo.local="$dir/m2" \
    dependency:copy-dependencies -DoutputDirectory="$dir/kafka/lib.tmp" -DincludeScope=runtime
  mv "$dir/kafka/lib.tmp" "$dir/kafka/lib"
}

install_secantus() {
  local venv=$dir/secantus/venv
  if [ -f "$venv/.installed-$secantus_version" ]; then return; fi
  log "installing SecantusDB $secantus_version from PyPI into its own venv"
  # Its own venv: a separate server process (GPL-2.0-only), never imported by Phony. The marker is
  # written last, so an interrupted install is done again.
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "SecantusDB==$secantus_version"
  touch "$venv/.installed-$secantus_version"
}

install_redis() {
  if command -v redis-server >/dev/null; then return; fi
  log "installing redis-server from Debian"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null
  }
}

# ---------------------------------------------------------------- start
start_kafka() {
  install_kafka
  local k="$dir/kafka"
  mkdir -p "$k/data"
  cat >"$k/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$kafka_cport
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$kafka_cport
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$kafka_cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$k/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Workers use a 3 s session so a dead one is noticed quickly (the broker's default minimum is 6 s);
# transactions (one transactional id per partition fences a worker that lost it) need no more.
group.min.session.timeout.ms=1000
transaction.state.log.segment.bytes=10485760
auto.create.topics.enable=false
log.retention.hours=-1
EOF
  cat >"$k/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/logs/kafka-server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = INFO
EOF
  local cp="$k/lib/*"
  if [ ! -f "$k/data/meta.properties" ]; then
    local id
    id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -cp "$cp" -Dlog4j2.configurationFile="$k/log4j2.properties" kafka.tools.StorageTool format \
      -t "$id" -c "$k/server.properties" --standalone --ignore-formatted >"$dir/logs/kafka-format.log" 2>&1
  fi
  log "starting Kafka on 127.0.0.1:$kafka_port"
  nohup java -Xmx512m -Xms256m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$k/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$k/server.properties" >"$dir/logs/kafka.log" 2>&1 &
  echo $! >"$dir/run/kafka.pid"
}

start_secantus() {
  install_secantus
  mkdir -p "$dir/secantus/data"
  log "starting SecantusDB on 127.0.0.1:$mongo_port"
  nohup "$dir/secantus/venv/bin/secantusd-py" --config "$top/scripts/secantusd.toml" --port "$mongo_port" \
    --storage-path "$dir/secantus/data" >"$dir/logs/secantus.log" 2>&1 &
  echo $! >"$dir/run/secantus.pid"
}

start_redis() {
  install_redis
  log "starting Redis on 127.0.0.1:$redis_port"
  nohup redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --daemonize no --dir "$dir/run" >"$dir/logs/redis.log" 2>&1 &
  echo $! >"$dir/run/redis.pid"
}

# ---------------------------------------------------------------- status
status() {
  local rc=0
  if port_open "$kafka_port"; then
    # The broker reports its own version when it starts (AppInfoParser's log line).
    printf 'kafka     up    127.0.0.1:%s  %s\n' "$kafka_port" \
      "$(grep -ho 'Kafka version: [^ ]*' "$dir/logs/kafka-server.log" 2>/dev/null | tail -n 1 | sed 's/Kafka version: /Apache Kafka /')"
  else printf 'kafka     down  127.0.0.1:%s\n' "$kafka_port"; rc=1; fi
  if port_open "$mongo_port"; then
    printf 'mongodb   up    127.0.0.1:%s  %s\n' "$mongo_port" "$("$top/.venv/bin/python" -c "
import pymongo
c = pymongo.MongoClient('mongodb://127.0.0.1:$mongo_port', serverSelectionTimeoutMS=2000)
b = c.admin.command('buildInfo')
print(b.get('secantusVersion') and 'SecantusDB ' + str(b['secantusVersion']) or 'MongoDB API', '(MongoDB', b['version'] + ')')
" 2>/dev/null || echo unknown)"
  else printf 'mongodb   down  127.0.0.1:%s\n' "$mongo_port"; rc=1; fi
  if port_open "$redis_port"; then
    printf 'redis     up    127.0.0.1:%s  Redis %s\n' "$redis_port" \
      "$(redis-cli -p "$redis_port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')"
  else printf 'redis     down  127.0.0.1:%s\n' "$redis_port"; rc=1; fi
  return $rc
}

up() {
  local kafka=0 mongo=0 redis=0 pids=()
  # The FerretDB an earlier version of this script started holds the MongoDB port: replace it.
  [ -n "${PHONY_MONGODB_URL:-}" ] || stop ferretdb
  to_start kafka "$kafka_port" "${PHONY_KAFKA_BOOTSTRAP:-}" && kafka=1
  to_start secantus "$mongo_port" "${PHONY_MONGODB_URL:-}" && mongo=1
  to_start redis "$redis_port" "${PHONY_REDIS_URL:-}" && redis=1
  # Installs run in parallel on a fresh machine: the Maven fetch and the pip install are the slow parts.
  ((kafka)) && { install_kafka & pids+=($!); }
  ((mongo)) && { install_secantus & pids+=($!); }
  ((redis)) && { install_redis & pids+=($!); }
  local pid
  for pid in "${pids[@]}"; do wait "$pid"; done
  ((redis)) && start_redis
  ((mongo)) && start_secantus
  ((kafka)) && start_kafka
  [ -n "${PHONY_REDIS_URL:-}" ] || wait_port "$redis_port" redis 10
  [ -n "${PHONY_MONGODB_URL:-}" ] || wait_port "$mongo_port" secantus 30
  [ -n "${PHONY_KAFKA_BOOTSTRAP:-}" ] || wait_port "$kafka_port" kafka 60
}

stop() { # name: stop the server started here under that name (TERM, then KILL after 10 s)
  if running "$1"; then
    log "stopping $1"
    kill "$(cat "$dir/run/$1.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do running "$1" || break; sleep 0.1; done
    running "$1" && kill -9 "$(cat "$dir/run/$1.pid")" 2>/dev/null || true
  fi
  rm -f "$dir/run/$1.pid"
}

down() {
  local s
  # ferretdb: the store of earlier versions, stopped if a checkout from before still runs it.
  for s in kafka secantus ferretdb redis; do stop "$s"; done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  install) install_kafka; install_secantus; install_redis ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
