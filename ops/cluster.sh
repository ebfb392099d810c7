#!/usr/bin/env bash
# `make cluster`: three relay nodes (127.0.0.1:8181-8183) on one PostgreSQL schema and the
# local NATS, behind HAProxy on $CLUSTER_ADDR (default 127.0.0.1:8080). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
RELAY=${RELAY:-target/release/relay}
POSTGRES=${CLUSTER_POSTGRES:-postgres://root@127.0.0.1:5432/test}
SCHEMA=${CLUSTER_SCHEMA:-relay_cluster}
NATS=${CLUSTER_NATS:-nats://127.0.0.1:4222}
export CLUSTER_ADDR=${CLUSTER_ADDR:-127.0.0.1:8080}
export CLUSTER_N1=127.0.0.1:8181 CLUSTER_N2=127.0.0.1:8182 CLUSTER_N3=127.0.0.1:8183
DIR=${CLUSTER_DIR:-target/cluster}
mkdir -p "$DIR/attachments"
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
for i in 1 2 3; do
  # One after another: the first applies the migrations and each seeds the demo's people.
  "$RELAY" --db "$DIR/n$i.db" --postgres "$POSTGRES" --postgres-schema "$SCHEMA" serve \
    --addr "127.0.0.1:818$i" --www www --seed-demo --node-id "n$i" --nats "$NATS" \
    --attachments-dir "$DIR/attachments" --trusted-proxy 127.0.0.1/32 \
    > "$DIR/n$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:818$i/readyz" > /dev/null 2>&1 && break
    sleep 0.1
  done
done
haproxy -f ops/haproxy.cfg -db > "$DIR/haproxy.log" 2>&1 &
pids+=($!)
echo "Three relay nodes behind HAProxy on http://$CLUSTER_ADDR/ (logs in $DIR/):"
echo "  http://$CLUSTER_ADDR/messaging/demo.html  the widget, on any node"
echo "  http://$CLUSTER_ADDR/console/inbox.html   the inbox (agent / agent), on any node"
echo "  every route goes to any node, round robin (see ops/haproxy.cfg)"
wait -n
