#!/usr/bin/env bash
#
# local.sh - run the echo chain on this machine, without Kubernetes or SPIRE.
#
# Builds the project, starts the dev Workload API (one Unix socket per service, each handing out the
# service's own X.509-SVID), then echo-server and echo-gateway over mutual TLS, waits until both are
# ready and prints one curl command that calls the gateway with the traefik-external identity.
# Runs until Ctrl-C, then stops everything it started and removes its state directory.
#
# The SVIDs carry the DNS SAN "localhost" besides their SPIFFE ID (the dev Workload API's --dns-san,
# as a SPIRE entry with dnsNames would), so curl checks the gateway's certificate and host name for
# real; nothing here turns verification off.
#
# Usage: scripts/local.sh            (also: ./bootstrap.sh local)
# Needs Linux (the Workload API sockets use epoll), bash 5.1 or newer, curl and a JDK 25.
#
# Environment:
#   JAVA_HOME                  JDK 25 or newer; defaults to /usr/lib/jvm/temurin-25-jdk-amd64 when the
#                              java on PATH is older
#   LOCAL_GATEWAY_PORT         echo-gateway HTTPS port              (default 8443)
#   LOCAL_GATEWAY_OBSERVE_PORT echo-gateway health/metrics port     (default 9091)
#   LOCAL_SERVER_PORT          echo-server gRPC port                (default 9443)
#   LOCAL_SERVER_OBSERVE_PORT  echo-server health/metrics port      (default 9092)
#   LOCAL_SVID_TTL             SVID lifetime, ISO-8601              (default PT1H)
#   LOCAL_READY_TIMEOUT        seconds to wait for readiness        (default 90)
#   LOCAL_SKIP_BUILD           1 to use the jars already built      (default 0)
#   LOCAL_KEEP_STATE           1 to keep the state directory and its logs on exit (default 0)

set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly TEMURIN_25="/usr/lib/jvm/temurin-25-jdk-amd64"
readonly TRUST_DOMAIN="echo.local"
readonly SERVER_ID="spiffe://${TRUST_DOMAIN}/ns/echo/sa/echo-server"
readonly GATEWAY_ID="spiffe://${TRUST_DOMAIN}/ns/echo/sa/echo-gateway"
readonly CLIENT_ID="spiffe://${TRUST_DOMAIN}/ns/traefik/sa/traefik-external"

GATEWAY_PORT="${LOCAL_GATEWAY_PORT:-8443}"
GATEWAY_OBSERVE_PORT="${LOCAL_GATEWAY_OBSERVE_PORT:-9091}"
SERVER_PORT_LOCAL="${LOCAL_SERVER_PORT:-9443}"
SERVER_OBSERVE_PORT="${LOCAL_SERVER_OBSERVE_PORT:-9092}"
SVID_TTL="${LOCAL_SVID_TTL:-PT1H}"
READY_TIMEOUT="${LOCAL_READY_TIMEOUT:-90}"

STATE_DIR=""
JAVA=""
declare -a PIDS=()
declare -a NAMES=()

# log MESSAGE...: a timestamped progress line on stderr.
log() {
  printf '%s local.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# fail MESSAGE...: log the reason and exit non-zero (the EXIT trap cleans up).
fail() {
  log "ERROR: $*"
  exit 1
}

# java_major JAVA_BINARY: print the Java feature version of a java binary, or nothing.
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}

# find_java: pick a JDK 25 or newer, export JAVA_HOME for the Maven wrapper and set JAVA.
find_java() {
  local candidate major
  for candidate in "${JAVA_HOME:+${JAVA_HOME}/bin/java}" "$(command -v java || true)" "${TEMURIN_25}/bin/java"; do
    [[ -n "${candidate}" && -x "${candidate}" ]] || continue
    major="$(java_major "${candidate}")"
    if [[ -n "${major}" && "${major}" -ge 25 ]]; then
      JAVA="${candidate}"
      JAVA_HOME="$(cd "$(dirname "${candidate}")/.." && pwd)"
      export JAVA_HOME
      log "using Java ${major} from ${JAVA_HOME}"
      return
    fi
  done
  fail "Java 25 or newer is missing: install a JDK 25 (e.g. Temurin 25 at ${TEMURIN_25}) or set JAVA_HOME to one"
}

# check_tools: make sure the commands this script needs are installed.
check_tools() {
  local tool
  for tool in curl mktemp; do
    command -v "${tool}" >/dev/null || fail "'${tool}' is missing: install it (e.g. apt-get install -y ${tool})"
  done
}

# check_port NAME PORT: fail if PORT is not a number or something already listens on it.
check_port() {
  local name="$1" port="$2"
  if ! [[ "${port}" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    fail "${name} must be a TCP port number between 1 and 65535, got '${port}'"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    fail "port ${port} (${name}) is in use; free it or choose another with ${name}=<port>"
  fi
}

# build: compile and install every module unless LOCAL_SKIP_BUILD=1.
build() {
  if [[ "${LOCAL_SKIP_BUILD:-0}" == "1" ]]; then
    log "LOCAL_SKIP_BUILD=1: using the jars already built"
  else
    log "building with ./mvnw -B -q -DskipTests install (the first build downloads dependencies)"
    (cd "${REPO_ROOT}" && ./mvnw -B -q -DskipTests install) || fail "the build failed; see the Maven output above"
  fi
  local jar
  for jar in dev-workload-api echo-server echo-gateway; do
    [[ -f "${REPO_ROOT}/services/${jar}/target/${jar}.jar" ]] \
      || fail "services/${jar}/target/${jar}.jar is missing; run without LOCAL_SKIP_BUILD to build it"
  done
}

# cleanup: stop every process this script started, newest first, and remove the state directory.
# shellcheck disable=SC2317  # only the EXIT trap calls it, which shellcheck cannot follow
cleanup() {
  local status=$? i pid waited
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid="${PIDS[i]}"
    if kill -0 "${pid}" 2>/dev/null; then
      log "stopping ${NAMES[i]} (pid ${pid})"
      kill -TERM "${pid}" 2>/dev/null || true
      waited=0
      while kill -0 "${pid}" 2>/dev/null && ((waited < 150)); do
        sleep 0.1
        waited=$((waited + 1))
      done
      if kill -0 "${pid}" 2>/dev/null; then
        log "${NAMES[i]} did not stop within 15 s; killing it"
        kill -KILL "${pid}" 2>/dev/null || true
      fi
      wait "${pid}" 2>/dev/null || true
    fi
  done
  if [[ -n "${STATE_DIR}" && -d "${STATE_DIR}" ]]; then
    if [[ "${LOCAL_KEEP_STATE:-0}" == "1" ]]; then
      log "kept ${STATE_DIR} (LOCAL_KEEP_STATE=1)"
    else
      rm -rf -- "${STATE_DIR}"
      log "removed ${STATE_DIR}"
    fi
  fi
  exit "${status}"
}

# start NAME COMMAND...: run a command in the background with its output in the state directory's logs.
start() {
  local name="$1"
  shift
  "$@" >"${STATE_DIR}/logs/${name}.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("${name}")
  log "started ${name} (pid $!), log ${STATE_DIR}/logs/${name}.log"
}

# java_args: JVM flags for the local processes (Netty's epoll library needs native access on JDK 25).
java_args() {
  printf '%s\n' --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
}

# start_workload_api: serve a socket for each service and write the curl client's SVID files.
start_workload_api() {
  local -a jvm
  mapfile -t jvm < <(java_args)
  start dev-workload-api \
    "${JAVA}" "${jvm[@]}" -jar "${REPO_ROOT}/services/dev-workload-api/target/dev-workload-api.jar" \
    --trust-domain "${TRUST_DOMAIN}" \
    --svid-ttl "${SVID_TTL}" \
    --dns-san localhost \
    --workload "${STATE_DIR}/server.sock=${SERVER_ID}" \
    --workload "${STATE_DIR}/gateway.sock=${GATEWAY_ID}" \
    --write-svid "${STATE_DIR}/curl=${CLIENT_ID}"
  wait_for_log_line dev-workload-api '^ready: ' 30
}

# wait_for_log_line NAME PATTERN SECONDS: wait until the process's log has a matching line.
wait_for_log_line() {
  local name="$1" pattern="$2" timeout="$3" started="${SECONDS}"
  until grep -q -- "${pattern}" "${STATE_DIR}/logs/${name}.log" 2>/dev/null; do
    check_running
    ((SECONDS - started < timeout)) \
      || fail "${name} was not ready within ${timeout} s; see ${STATE_DIR}/logs/${name}.log"
    sleep 0.2
  done
  log "${name}: $(grep -m 1 -- "${pattern}" "${STATE_DIR}/logs/${name}.log")"
}

# check_running: fail if any started process has exited, with the tail of its log.
check_running() {
  local i
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      tail -n 20 "${STATE_DIR}/logs/${NAMES[i]}.log" >&2 || true
      fail "${NAMES[i]} exited early; the end of its log is above"
    fi
  done
}

# start_services: run echo-server and echo-gateway from their jars, each with its own socket.
start_services() {
  local -a jvm
  mapfile -t jvm < <(java_args)
  start echo-server env \
    SPIFFE_ENDPOINT_SOCKET="unix:${STATE_DIR}/server.sock" \
    SERVER_HOST=127.0.0.1 \
    SERVER_PORT="${SERVER_PORT_LOCAL}" \
    OBSERVE_PORT="${SERVER_OBSERVE_PORT}" \
    "${JAVA}" "${jvm[@]}" -jar "${REPO_ROOT}/services/echo-server/target/echo-server.jar"
  start echo-gateway env \
    SPIFFE_ENDPOINT_SOCKET="unix:${STATE_DIR}/gateway.sock" \
    SERVER_HOST=127.0.0.1 \
    SERVER_PORT="${GATEWAY_PORT}" \
    OBSERVE_PORT="${GATEWAY_OBSERVE_PORT}" \
    GATEWAY_UPSTREAM_ADDRESS="localhost:${SERVER_PORT_LOCAL}" \
    "${JAVA}" "${jvm[@]}" -jar "${REPO_ROOT}/services/echo-gateway/target/echo-gateway.jar"
}

# ready_status PORT: print the HTTP status of a readiness endpoint, or 000 when it does not answer.
ready_status() {
  curl --silent --output /dev/null --max-time 2 --write-out '%{http_code}' \
    "http://127.0.0.1:$1/observe/health/ready" || true
}

# wait_until_ready: wait until both services answer 204 on /observe/health/ready, with progress lines.
wait_until_ready() {
  local started="${SECONDS}" last_report="${SECONDS}" server gateway
  log "waiting up to ${READY_TIMEOUT} s for echo-server (observe :${SERVER_OBSERVE_PORT})" \
    "and echo-gateway (observe :${GATEWAY_OBSERVE_PORT})"
  while true; do
    check_running
    server="$(ready_status "${SERVER_OBSERVE_PORT}")"
    gateway="$(ready_status "${GATEWAY_OBSERVE_PORT}")"
    if [[ "${server}" == "204" && "${gateway}" == "204" ]]; then
      log "both services are ready after $((SECONDS - started)) s"
      return
    fi
    if ((SECONDS - started >= READY_TIMEOUT)); then
      fail "not ready within ${READY_TIMEOUT} s (echo-server ${server}, echo-gateway ${gateway});" \
        "logs in ${STATE_DIR}/logs"
    fi
    if ((SECONDS - last_report >= 5)); then
      log "still waiting: echo-server ready=${server}, echo-gateway ready=${gateway}"
      last_report="${SECONDS}"
    fi
    sleep 0.5
  done
}

# print_curl: the one line on stdout, a curl call that works as printed.
print_curl() {
  local files="${STATE_DIR}/curl" command
  command="curl --cacert ${files}/bundle.pem --cert ${files}/svid.pem --key ${files}/key.pem"
  command+=" -H 'Content-Type: application/json' -d '{\"message\": \"hello there\"}'"
  command+=" https://localhost:${GATEWAY_PORT}/echo"
  printf '%s\n' "${command}"
}

# serve: keep running until Ctrl-C or until one of the processes exits.
serve() {
  log "running; press Ctrl-C to stop (logs in ${STATE_DIR}/logs)"
  local status=0
  wait -n "${PIDS[@]}" || status=$?
  check_running
  fail "a process exited with status ${status}"
}

# usage: print this script's header comment.
usage() {
  sed -n '3,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# parse_args ARGS...: --help prints the usage; the script takes no other arguments.
parse_args() {
  case "${1:-}" in
    "") ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      log "ERROR: unknown argument '$1'; local.sh takes no arguments, only environment variables (see --help)"
      exit 2
      ;;
  esac
}

main() {
  parse_args "$@"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  check_tools
  find_java
  check_port LOCAL_GATEWAY_PORT "${GATEWAY_PORT}"
  check_port LOCAL_GATEWAY_OBSERVE_PORT "${GATEWAY_OBSERVE_PORT}"
  check_port LOCAL_SERVER_PORT "${SERVER_PORT_LOCAL}"
  check_port LOCAL_SERVER_OBSERVE_PORT "${SERVER_OBSERVE_PORT}"
  build

  STATE_DIR="$(mktemp -d /tmp/echo-chain-XXXX)"
  mkdir -p "${STATE_DIR}/logs"
  log "state directory ${STATE_DIR}"

  start_workload_api
  start_services
  wait_until_ready
  print_curl
  serve
}

main "$@"
