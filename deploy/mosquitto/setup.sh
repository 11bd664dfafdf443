#!/usr/bin/env bash
# Writes a Mosquitto (2.x) setup for anomalyd with one login per role and an ACL that enforces the roles:
#   anomalyd   the daemon: reads the sensor topics and its commands, publishes alerts, state, status, replies
#   sensor     the sensors: may only publish on the sensor topics
#   <operator> each operator (--operator NAME, repeatable): may only publish commands under its own name,
#              <prefix>/cmd/<verb>/<anomaly_id>/<NAME>, and read what anomalyd publishes
# The daemon may also publish its Home Assistant discovery configs, homeassistant/+/<node id>/#, and read
# Home Assistant's birth message (homeassistant/status). Mosquitto keeps sessions, queued readings and retained
# messages in a directory its own user can write (DIR/data by default).
# Anonymous clients are refused. Passwords are made up (openssl rand -hex 24) unless given in the
# environment (ANOMALYD_PASSWORD, SENSOR_PASSWORD, OPERATOR_PASSWORD_<NAME>, each at least 16 characters).
# See docs/SECURITY.md. Tested by test/e2e/broker-roles.test.ts, test/e2e/mosquitto-queue-qos0.test.ts and
# test/e2e/mosquitto-setup.test.ts against a real mosquitto.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/mosquitto/setup.sh --dir DIR [options]

Writes DIR/anomalyd.conf (include it from mosquitto.conf, or run mosquitto -c DIR/anomalyd.conf),
DIR/acl, DIR/passwd (mosquitto_passwd format) and DIR/credentials.env (the passwords, mode 0600),
and prints the anomalyd settings that go with them.

Options:
  --dir DIR             where to write the files (created if missing)
  --port N              listener port (default 1883)
  --bind ADDR           listener address (default: all interfaces)
  --prefix P            anomalyd's mqtt.topicPrefix (default anomalyd)
  --sensor-topic F      a topic filter sensors publish on, repeatable (default sensors/#; = ingest.topics)
  --operator NAME       an operator login, repeatable (default: one operator named operator)
  --daemon-user NAME    anomalyd's own login (default anomalyd)
  --sensor-user NAME    the sensors' login (default sensor)
  --node-id ID          anomalyd's homeassistant.nodeId: the ACL lets anomalyd publish its Home Assistant
                        discovery configs under homeassistant/+/ID/# (default: anomalyd_<this host's name>,
                        the daemon's own default on this host without mqtt.clientId; printed below)
  --ha-prefix P         anomalyd's homeassistant.prefix (default homeassistant)
  --persistence-dir D   keep sessions, queued readings and retained messages here (default: DIR/data);
                        created if missing and, when setup.sh creates it or it is DIR/data, given to the
                        mosquitto user (mode 0700), which mosquitto runs as and must write it
  --mosquitto-conf F    the mosquitto.conf that includes DIR/anomalyd.conf (default: /etc/mosquitto/mosquitto.conf
                        when DIR is under /etc/mosquitto and it exists; none: anomalyd.conf runs on its own,
                        mosquitto -c DIR/anomalyd.conf). Where F sets persistence_location itself (Debian's and
                        Raspberry Pi OS's do: /var/lib/mosquitto/), anomalyd.conf does not set it again
                        (mosquitto refuses a second one: "Duplicate persistence_location value") and the
                        database stays there; setup.sh says if F does not include DIR yet
  --queue-qos0          also keep QoS 0 readings for anomalyd while it is away (restart, upgrade): most hubs
                        (Tasmota, zigbee2mqtt and ESPHome by default) publish at QoS 0, which mosquitto
                        otherwise drops for a disconnected client (queue_qos0_messages; applies to every
                        persistent session on this broker; docs/DEPLOY.md)
  -h, --help            this help

Example (on the Pi, as root):
  deploy/mosquitto/setup.sh --dir /etc/mosquitto/anomalyd --operator alice --operator bob
  echo 'include_dir /etc/mosquitto/anomalyd' >> /etc/mosquitto/mosquitto.conf   # or --dir /etc/mosquitto/conf.d, included already
  systemctl restart mosquitto
Debian's and Raspberry Pi OS's mosquitto.conf keep the database in /var/lib/mosquitto: anomalyd.conf leaves it there.
EOF
}

die() {
  echo "setup.sh: $*" >&2
  exit 2
}

DIR=""
PORT=1883
BIND=""
PREFIX=anomalyd
SENSOR_TOPICS=()
OPERATORS=()
DAEMON_USER=anomalyd
SENSOR_USER=sensor
PERSIST=""
QUEUE_QOS0=false
NODE_ID=""
HA_PREFIX=homeassistant
MAIN_CONF=""

while (($# > 0)); do
  case "$1" in
    --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --bind) BIND="${2:?--bind needs a value}"; shift 2 ;;
    --prefix) PREFIX="${2:?--prefix needs a value}"; shift 2 ;;
    --sensor-topic) SENSOR_TOPICS+=("${2:?--sensor-topic needs a value}"); shift 2 ;;
    --operator) OPERATORS+=("${2:?--operator needs a value}"); shift 2 ;;
    --daemon-user) DAEMON_USER="${2:?--daemon-user needs a value}"; shift 2 ;;
    --sensor-user) SENSOR_USER="${2:?--sensor-user needs a value}"; shift 2 ;;
    --persistence-dir) PERSIST="${2:?--persistence-dir needs a value}"; shift 2 ;;
    --node-id) NODE_ID="${2:?--node-id needs a value}"; shift 2 ;;
    --ha-prefix) HA_PREFIX="${2:?--ha-prefix needs a value}"; shift 2 ;;
    --mosquitto-conf) MAIN_CONF="${2:?--mosquitto-conf needs a value}"; shift 2 ;;
    --queue-qos0) QUEUE_QOS0=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[[ -n "$DIR" ]] || { usage >&2; die "--dir is required"; }
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number"
((${#SENSOR_TOPICS[@]} > 0)) || SENSOR_TOPICS=("sensors/#")
((${#OPERATORS[@]} > 0)) || OPERATORS=(operator)
command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (apt-get install mosquitto)"

# A name is one topic level (operators) and one ACL word: no spaces, no MQTT wildcards, no slash.
valid_name() {
  [[ "$1" =~ ^[A-Za-z0-9._-]{1,64}$ ]]
}
for name in "$DAEMON_USER" "$SENSOR_USER" "${OPERATORS[@]}"; do
  valid_name "$name" || die "login name '$name': use 1 to 64 of A-Z a-z 0-9 . _ -"
done
[[ "$PREFIX" =~ ^[^+#]+$ && "$PREFIX" != /* && "$PREFIX" != */ ]] || die "--prefix '$PREFIX': no wildcards, no leading or trailing /"
[[ "$HA_PREFIX" =~ ^[^+#]+$ && "$HA_PREFIX" != /* && "$HA_PREFIX" != */ ]] || die "--ha-prefix '$HA_PREFIX': no wildcards, no leading or trailing /"
# The daemon's default node id (src/adapters/ha-discovery.ts nodeIdOf, haId): anomalyd_<hostname>, other
# characters than A-Z a-z 0-9 _ - made _, at most 80.
if [[ -z "$NODE_ID" ]]; then
  NODE_ID="anomalyd_$(uname -n)"
  NODE_ID="${NODE_ID//[^A-Za-z0-9_-]/_}"
  NODE_ID="${NODE_ID:0:80}"
fi
[[ "$NODE_ID" =~ ^[^+#/[:space:]]+$ ]] || die "--node-id '$NODE_ID': one topic level (no /, +, # or spaces)"

new_secret() {
  if command -v openssl >/dev/null; then openssl rand -hex 24; else head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; fi
}

# A password from the environment variable $1, or a new one; at least 16 characters either way.
password_for() {
  local var="$1" value
  value="${!var:-}"
  if [[ -z "$value" ]]; then value="$(new_secret)"; fi
  ((${#value} >= 16)) || die "$var must have at least 16 characters"
  printf '%s' "$value"
}

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

# The mosquitto.conf that includes anomalyd.conf: Debian's (and Raspberry Pi OS's) when DIR is under /etc/mosquitto.
if [[ -z "$MAIN_CONF" && "$DIR" == /etc/mosquitto/* && -f /etc/mosquitto/mosquitto.conf ]]; then MAIN_CONF=/etc/mosquitto/mosquitto.conf; fi
[[ "$MAIN_CONF" == none ]] && MAIN_CONF=""
[[ -z "$MAIN_CONF" || -f "$MAIN_CONF" ]] || die "--mosquitto-conf $MAIN_CONF: no such file"
# The value of the last uncommented line setting option $1 in the main conf ("" when none): mosquitto.conf syntax,
# one option and its value per line.
main_setting() {
  [[ -n "$MAIN_CONF" ]] || return 0
  awk -v key="$1" '$1 == key { sub(/^[ \t]*[^ \t]+[ \t]+/, ""); sub(/[ \t]+$/, ""); v = $0 } END { if (v != "") print v }' "$MAIN_CONF"
}
# Its persistence_location: mosquitto refuses to start with a second one (from anomalyd.conf), so it stays the one.
main_persist="$(main_setting persistence_location)"

# mosquitto writes its database (mosquitto.db) here as its own user: a directory of root's would fail every
# autosave with "Permission denied" and lose the sessions, queued readings and retained messages at a restart.
own_persist=false
if [[ -n "$main_persist" ]]; then
  if [[ -n "$PERSIST" && "${PERSIST%/}" != "${main_persist%/}" ]]; then
    die "--persistence-dir $PERSIST: $MAIN_CONF sets persistence_location $main_persist, and mosquitto refuses a second one (Duplicate persistence_location value); drop --persistence-dir, or that line from $MAIN_CONF"
  fi
  PERSIST="$main_persist"
  [[ -d "$PERSIST" ]] || own_persist=true
else
  if [[ -z "$PERSIST" ]]; then
    PERSIST="$DIR/data"
    own_persist=true
  fi
  [[ -d "$PERSIST" ]] || own_persist=true
fi
mkdir -p "$PERSIST"
PERSIST="$(cd "$PERSIST" && pwd)"

daemon_pw="$(password_for ANOMALYD_PASSWORD)"
sensor_pw="$(password_for SENSOR_PASSWORD)"

umask 077
passwd_file="$DIR/passwd"
rm -f "$passwd_file"
touch "$passwd_file"
mosquitto_passwd -b "$passwd_file" "$DAEMON_USER" "$daemon_pw" 2>/dev/null
mosquitto_passwd -b "$passwd_file" "$SENSOR_USER" "$sensor_pw" 2>/dev/null

{
  echo "# anomalyd's logins (written by deploy/mosquitto/setup.sh). Keep this file 0600."
  echo "ANOMALYD_MQTT_USERNAME=$DAEMON_USER"
  echo "ANOMALYD_MQTT_PASSWORD=$daemon_pw"
  echo "SENSOR_USERNAME=$SENSOR_USER"
  echo "SENSOR_PASSWORD=$sensor_pw"
} >"$DIR/credentials.env"

for op in "${OPERATORS[@]}"; do
  var="OPERATOR_PASSWORD_${op//[^A-Za-z0-9_]/_}"
  pw="$(password_for "$var")"
  mosquitto_passwd -b "$passwd_file" "$op" "$pw" 2>/dev/null
  echo "OPERATOR_PASSWORD_${op//[^A-Za-z0-9_]/_}=$pw" >>"$DIR/credentials.env"
done

# mosquitto drops root to its own user, which must read these (not the world).
umask 022
{
  echo "# anomalyd roles (written by deploy/mosquitto/setup.sh; docs/SECURITY.md)."
  echo "# Anything not granted here is denied."
  echo
  echo "# The daemon: reads readings and operator commands, publishes under $PREFIX/ (alerts, state, status, replies)."
  echo "user $DAEMON_USER"
  for t in "${SENSOR_TOPICS[@]}"; do echo "topic read $t"; done
  echo "topic readwrite $PREFIX/#"
  echo "# Its Home Assistant discovery configs (homeassistant.nodeId $NODE_ID), and Home Assistant's birth message."
  echo "topic readwrite $HA_PREFIX/+/$NODE_ID/#"
  echo "topic read $HA_PREFIX/status"
  echo
  echo "# Sensors: publish readings, nothing else."
  echo "user $SENSOR_USER"
  for t in "${SENSOR_TOPICS[@]}"; do echo "topic write $t"; done
  for op in "${OPERATORS[@]}"; do
    echo
    echo "# Operator $op: commands only under its own name, so the topic says who did it; reads what anomalyd publishes."
    echo "user $op"
    echo "topic write $PREFIX/cmd/+/+/$op"
    echo "topic read $PREFIX/#"
  done
} >"$DIR/acl"

{
  echo "# Mosquitto listener for anomalyd (written by deploy/mosquitto/setup.sh; docs/SECURITY.md)."
  echo "per_listener_settings false"
  echo "listener $PORT${BIND:+ $BIND}"
  echo "allow_anonymous false"
  echo "password_file $passwd_file"
  echo "acl_file $DIR/acl"
  echo "persistence true"
  if [[ -n "$main_persist" ]]; then
    echo "# The database stays where $MAIN_CONF keeps it ($main_persist): a second persistence_location stops mosquitto."
  else
    echo "persistence_location $PERSIST/"
  fi
  echo "autosave_interval 60"
  echo "persistent_client_expiration 7d"
  echo "max_queued_messages 100000"
  if [[ "$QUEUE_QOS0" == true ]]; then
    echo "# QoS 0 readings are kept for anomalyd while it is away too (--queue-qos0), up to max_queued_messages."
  else
    echo "# Only QoS 1 readings are kept for anomalyd while it is away; --queue-qos0 keeps QoS 0 ones too."
  fi
  echo "queue_qos0_messages $QUEUE_QOS0"
  echo "# One packet at most 256 kB: the daemon refuses payloads over ingest.maxPayloadBytes (64 kB) anyway,"
  echo "# and a client cannot make the broker or the daemon hold a 100 MB message."
  echo "max_packet_size 262144"
} >"$DIR/anomalyd.conf"

# mosquitto (as its own user) reads the password file; nobody else should.
persist_note=""
if id mosquitto >/dev/null 2>&1; then
  chown mosquitto: "$passwd_file" "$DIR/acl" 2>/dev/null || true
  if [[ "$own_persist" == true ]]; then
    chown mosquitto: "$PERSIST" 2>/dev/null || persist_note="could not give $PERSIST to the mosquitto user: mosquitto cannot save its database there"
    chmod 0700 "$PERSIST"
  elif [[ "$(stat -c %U "$PERSIST")" != mosquitto ]]; then
    persist_note="$PERSIST is not the mosquitto user's: make sure mosquitto can write it (chown mosquitto: $PERSIST)"
  fi
fi
chmod 0600 "$passwd_file" "$DIR/credentials.env"
chmod 0644 "$DIR/acl" "$DIR/anomalyd.conf"

operators_yaml="$(printf '%s, ' "${OPERATORS[@]}")"
topics_yaml="$(printf '"%s", ' "${SENSOR_TOPICS[@]}")"
# Whether the main conf includes DIR/anomalyd.conf (include_dir DIR); if not, the line to add.
include_note=""
if [[ -n "$MAIN_CONF" ]]; then
  included=false
  while read -r key value || [[ -n "$key" ]]; do
    [[ "$key" == include_dir && -d "$value" && "$(cd "$value" && pwd)" == "$DIR" ]] && included=true
  done <"$MAIN_CONF"
  if [[ "$included" == true ]]; then
    include_note="$MAIN_CONF includes it (include_dir $DIR): restart mosquitto (systemctl restart mosquitto)."
  else
    include_note="Include it from $MAIN_CONF: echo 'include_dir $DIR' >> $MAIN_CONF, then restart mosquitto."
  fi
fi
persist_file="$PERSIST/$(main_setting persistence_file)"
[[ "$persist_file" == "$PERSIST/" ]] && persist_file="$PERSIST/mosquitto.db"
cat <<EOF
Wrote $DIR/anomalyd.conf, $DIR/acl, $DIR/passwd and $DIR/credentials.env (passwords; mode 0600).
${include_note:+$include_note
}mosquitto keeps sessions, queued readings and retained messages in $persist_file.

anomalyd settings to match (password from the environment: ANOMALYD_MQTT_PASSWORD in credentials.env):
  broker:
    enabled: false
  mqtt:
    url: mqtt://localhost:$PORT
    username: $DAEMON_USER
    topicPrefix: $PREFIX
    operators: [${operators_yaml%, }]
  ingest:
    topics: [${topics_yaml%, }]
  homeassistant:
    nodeId: $NODE_ID   # the ACL lets anomalyd publish discovery under $HA_PREFIX/+/$NODE_ID/# only
EOF
[[ "$HA_PREFIX" == homeassistant ]] || echo "    prefix: $HA_PREFIX"
if [[ -n "$persist_note" ]]; then echo "setup.sh: warning: $persist_note" >&2; fi
