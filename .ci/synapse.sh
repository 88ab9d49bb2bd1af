#!/usr/bin/env bash
# A throwaway Synapse homeserver for the Matrix tests: `start DIR` / `stop DIR`.
#
# start: installs matrix-synapse into DIR/venv (not the project's venv; skipped when present),
#        writes a localhost-only config (SQLite, no federation, relaxed rate limits, shared-secret
#        registration), starts it in the background and writes DIR/env with SYNAPSE_URL and
#        SYNAPSE_SHARED_SECRET. Log: DIR/homeserver.log, PID: DIR/synapse.pid.
# stop:  kills the server by its PID and waits for it to exit.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
py=${PYTHON:-python3}

running() { [ -f "$dir/synapse.pid" ] && kill -0 "$(cat "$dir/synapse.pid")" 2>/dev/null; }

stop() {
  if running; then
    local pid
    pid=$(cat "$dir/synapse.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/synapse.pid"
}

install() {
  if [ -x "$dir/venv/bin/python" ] && "$dir/venv/bin/python" -c 'import synapse' 2>/dev/null; then
    return
  fi
  echo "synapse: installing matrix-synapse into $dir/venv (once, ~30 s)" >&2
  "$py" -m venv "$dir/venv"
  # (pip's "Location ... is ignored" lines come from mirror settings on some machines: noise)
  "$dir/venv/bin/python" -m pip install --quiet --upgrade pip 2> >(grep -v 'is ignored' >&2)
  "$dir/venv/bin/python" -m pip install --quiet matrix-synapse 2> >(grep -v 'is ignored' >&2)
}

configure() {
  # Keep the port and secrets of an earlier run so a restart serves the same clients.
  if [ -f "$dir/homeserver.yaml" ]; then
    return
  fi
  local port secret
  port=$("$dir/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  secret=$("$dir/venv/bin/python" -c 'import secrets; print(secrets.token_hex(24))')
  local fast='{per_second: 1000, burst_count: 10000}'
  cat > "$dir/homeserver.yaml" <<YAML
server_name: localhost
public_baseurl: http://127.0.0.1:$port/
listeners:
  - port: $port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: $dir/homeserver.db
log_config: $dir/log.config
media_store_path: $dir/media_store
signing_key_path: $dir/localhost.signing.key
registration_shared_secret: "$secret"
macaroon_secret_key: "$("$dir/venv/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
form_secret: "$("$dir/venv/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
report_stats: false
enable_registration: false
bcrypt_rounds: 4
federation_domain_whitelist: []
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
url_preview_enabled: false
rc_message: $fast
rc_registration: $fast
rc_registration_token_validity: $fast
rc_login:
  address: $fast
  account: $fast
  failed_attempts: $fast
rc_admin_redaction: $fast
rc_joins:
  local: $fast
  remote: $fast
rc_joins_per_room: $fast
rc_invites:
  per_room: $fast
  per_user: $fast
  per_issuer: $fast
rc_3pid_validation: $fast
rc_room_creation: $fast
rc_media_create: $fast
rc_presence:
  per_user: $fast
YAML
  cat > "$dir/log.config" <<YAML
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $dir/homeserver.log
    filters: [context]
filters:
  context:
    (): synapse.logging.context.LoggingContextFilter
    request: ""
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
YAML
  (cd "$dir" && "$dir/venv/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" --generate-keys >/dev/null)
  printf 'export SYNAPSE_URL=http://127.0.0.1:%s\nexport SYNAPSE_SHARED_SECRET=%s\nexport SYNAPSE_DIR=%s\n' \
    "$port" "$secret" "$dir" > "$dir/env"
}

start() {
  install
  configure
  stop
  (cd "$dir" && exec "$dir/venv/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" \
      >>"$dir/homeserver.log" 2>&1) &
  echo $! > "$dir/synapse.pid"
  # shellcheck disable=SC1091
  . "$dir/env"
  for _ in $(seq 1 600); do
    if [ "$("$dir/venv/bin/python" -c "import urllib.request as u; print(u.urlopen('$SYNAPSE_URL/health', timeout=1).read().decode())" 2>/dev/null)" = OK ]; then
      echo "synapse: up at $SYNAPSE_URL (source $dir/env)" >&2
      return
    fi
    if ! running; then
      echo "synapse: exited during start; log follows" >&2
      tail -n 50 "$dir/homeserver.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "synapse: no /health after 60 s; log follows" >&2
  tail -n 50 "$dir/homeserver.log" >&2
  stop
  exit 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
