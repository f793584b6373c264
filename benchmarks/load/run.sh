#!/usr/bin/env bash
# Cheetah's load test on this machine: gunicorn + 2 Celery workers + beat against PostgreSQL and
# Redis, a fresh seeded database, locust headless, then the submissions measured from the
# database. Stops everything it started, also on Ctrl-C or an error. Results (locust CSVs, CPU
# samples, submissions summary, logs) go to $OUT. Run from the repository root:
#
#   bash benchmarks/load/run.sh                  # 5 minutes, 200 readers, 30 uploads a minute
#   DURATION=45s bash benchmarks/load/run.sh     # a short trial
#
# The database $LOAD_DB is DROPPED and created again, and Redis dbs $BROKER_DB and $CACHE_DB are
# flushed: point them at nothing you keep. Knobs (environment): DURATION (5m), READERS (200),
# UPLOADERS (10), UPLOADS_PER_MINUTE (30), SPAWN_RATE (5 users/s), WEB_WORKERS (5: gunicorn's
# 2 x cores + 1), CELERY_WORKERS (2, one process each: the first scores, the others take the field queue), PG_URL, REDIS_HOST_URL, PORT (8765).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
DURATION=${DURATION:-5m}
READERS=${READERS:-200}
UPLOADERS=${UPLOADERS:-10}
UPLOADS_PER_MINUTE=${UPLOADS_PER_MINUTE:-30}
SPAWN_RATE=${SPAWN_RATE:-5}
WEB_WORKERS=${WEB_WORKERS:-5}
CELERY_WORKERS=${CELERY_WORKERS:-2}
PORT=${PORT:-8765}
LOAD_DB=${LOAD_DB:-wt_load}
BROKER_DB=${BROKER_DB:-6}
CACHE_DB=${CACHE_DB:-7}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_HOST_URL=${REDIS_HOST_URL:-redis://127.0.0.1:6379}
VAR=$ROOT/var/load
OUT=${OUT:-$VAR/results-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

# Production settings (DEBUG off, manifest static files, real password hashing), local hosts.
export DEBUG=0 SECRET_KEY="load-test-only-not-secret" SECURE_COOKIES=0
export ALLOWED_HOSTS=127.0.0.1,localhost
# Locust plays the proxy: each simulated person sends an address of their own in
# X-Forwarded-For. Without it all 200 share 127.0.0.1, and the downloads' anonymous limit
# (600 an hour per address) refused 175 JSON downloads in the first minutes of run 5.
export TRUSTED_PROXY_COUNT=1
export DATABASE_URL=$PG_URL/$LOAD_DB
export CELERY_BROKER_URL=$REDIS_HOST_URL/$BROKER_DB
export REDIS_URL=$REDIS_HOST_URL/$CACHE_DB
export CHEETAH_VAR_DIR=$VAR/var NUMBA_CACHE_DIR=$VAR/numba-cache
export LOAD_MANIFEST=$VAR/manifest.json UPLOADERS UPLOADS_PER_MINUTE

PIDS=()
stop_all() {
    # Only what this script started, newest first. SIGTERM to the main process alone: gunicorn's
    # master and Celery's main process stop their children themselves, and a worker finishes
    # its current task (a signal to the whole group would kill the task mid-way). Whatever is
    # left of a process group after 30 s is killed.
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_all EXIT INT TERM

start() {  # start NAME COMMAND...: in its own process group, output to $OUT/NAME.log
    local name=$1; shift
    setsid "$@" >"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//-/_}=$!"
}

echo "== fresh database $LOAD_DB, Redis dbs $BROKER_DB/$CACHE_DB; results in $OUT"
psql "$PG_URL/postgres" -qc "drop database if exists $LOAD_DB with (force)"
psql "$PG_URL/postgres" -qc "create database $LOAD_DB"
redis-cli -u "$REDIS_HOST_URL/$BROKER_DB" flushdb >/dev/null
redis-cli -u "$REDIS_HOST_URL/$CACHE_DB" flushdb >/dev/null
rm -rf "$VAR/var"
$BIN/python manage.py migrate --noinput >"$OUT/migrate.log"
$BIN/python manage.py collectstatic --noinput >/dev/null

echo "== workers, beat, web"
# Worker 1 scores (the default queue); the others take the field's analyses (cheetah.field),
# so an upload never waits behind a similarity run.
for i in $(seq "$CELERY_WORKERS"); do
    if [ "$i" = 1 ]; then QUEUE=cheetah; else QUEUE=cheetah.field; fi
    start "worker$i" $BIN/celery -A cheetah worker --loglevel=INFO --concurrency=1 -Q "$QUEUE" \
        --hostname "load-w$i@%h" --without-gossip --without-mingle
done
start beat $BIN/celery -A cheetah beat --loglevel=INFO --schedule "$VAR/celerybeat-schedule"
start web $BIN/gunicorn cheetah.wsgi --bind "127.0.0.1:$PORT" --workers "$WEB_WORKERS" \
    --timeout 120 --access-logfile "$OUT/access.log"

echo "== seed the demo and the load participants"
$BIN/python manage.py seed_demo >"$OUT/seed.log"
$BIN/python benchmarks/load/prepare.py --out "$VAR" >>"$OUT/seed.log"
SEEDED=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
# The demo's own submissions are scored (and the field ranked) before the clock starts.
$BIN/python benchmarks/load/measure.py --since 2000-01-01T00:00:00+00:00 --wait 600 \
    --json "$OUT/seed-submissions.json" >/dev/null
curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || { echo "web server not answering"; exit 1; }

echo "== locust: $READERS readers + $UPLOADERS uploaders ($UPLOADS_PER_MINUTE/min) for $DURATION"
START=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
ROLES=(--role "web=$PID_web" --role "beat=$PID_beat")
for i in $(seq "$CELERY_WORKERS"); do ROLES+=(--role "worker$i=$(eval echo \$PID_worker$i)"); done
# The sampler starts before locust so that locust's own CPU is counted too (as "locust").
setsid $BIN/locust -f benchmarks/load/locustfile.py --host "http://127.0.0.1:$PORT" \
    --headless --users $((READERS + UPLOADERS)) --spawn-rate "$SPAWN_RATE" \
    --run-time "$DURATION" --stop-timeout 10 --csv "$OUT/locust" --csv-full-history \
    --only-summary >"$OUT/locust.log" 2>&1 &
LOCUST=$!
PIDS+=($LOCUST)
start sampler $BIN/python benchmarks/load/sample.py --out "$OUT/cpu" --database "$LOAD_DB" \
    "${ROLES[@]}" --role "locust=$LOCUST"
set +e
wait $LOCUST
LOCUST_RC=$?
set -e
ENDED=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
kill -TERM "$PID_sampler"
echo "locust exit code $LOCUST_RC (1 means some requests failed)"

echo "== drain the queue and measure (uploads since $START)"
WORKER_LOGS=()
for i in $(seq "$CELERY_WORKERS"); do WORKER_LOGS+=(--worker-log "$OUT/worker$i.log"); done
$BIN/python benchmarks/load/measure.py --since "$START" --wait 900 "${WORKER_LOGS[@]}" \
    --json "$OUT/submissions.json" >/dev/null
echo "seeded=$SEEDED start=$START locust_ended=$ENDED measured=$(date -u +%FT%T+00:00)" \
    >"$OUT/times.txt"
stop_all
$BIN/python benchmarks/load/report.py "$OUT"
