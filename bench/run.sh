#!/usr/bin/env bash
#
# run.sh - the echo chain's side-by-side benchmark in one command.
#
# Builds the harness (bench/target/bench.jar), then runs every comparison in one interleaved run:
# echo-server against a grpc-java Netty reference, the gateway against echo-server directly, mTLS
# against plaintext, server CPU per new mTLS connection against nginx (OpenSSL), start-up and memory
# for the image's JVM settings against the JVM defaults, SVID rotation under load, and a soak through
# the gateway. The servers are pinned to one set of CPUs and the load generator to another. Writes
# results.json, results.md, one PNG per compared pair, and the processes' logs.
#
# Usage: bench/run.sh quick|full
#   quick  under 2 minutes, a smoke test; figures go to bench/results/tmp/quick (not committed)
#   full   about 25 minutes, the published figures; they go to bench/results/full
#
# Environment:
#   JAVA_HOME            JDK 25 (default /usr/lib/jvm/temurin-25-jdk-amd64 when java on PATH is older)
#   BENCH_SERVER_CPUS    CPUs for the systems under test, taskset syntax (default 0)
#   BENCH_CLIENT_CPUS    CPUs for the load generator (default 1, or 0 on a one-CPU machine)
#   BENCH_OUT            output directory (default as above)
#   BENCH_ONLY           comma-separated sections, default all:
#                        throughput,gateway,plaintext,provider,handshakes,startup,rotation,soak
#   BENCH_IMAGE_FLAGS    JVM flags to measure as "image flags" instead of the images' own (space-separated)
#   BENCH_GATEWAY_CLIENT h2 (default, Helidon's HTTP/2 client) or h1 (HTTP/1.1 keep-alive) for the gateway load
#   BENCH_WARM_SLICES    warm-up slices per system before a pair counts (quick 1, full 4)
#   BENCH_SKIP_BUILD     1 to use the jars already built (default 0)
#   BENCH_INSTALL        0 to never apt-get install nginx-light and gnuplot-nox when missing (default 1)

set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly TEMURIN_25="/usr/lib/jvm/temurin-25-jdk-amd64"

# log MESSAGE...: a timestamped progress line on stderr.
log() {
  printf '%s run.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# fail MESSAGE...: log the reason and exit non-zero.
fail() {
  log "ERROR: $*"
  exit 1
}

# usage: print the header's usage lines.
usage() {
  sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "${BASH_SOURCE[0]}" >&2
}

# java_home: pick a JDK 25 or newer.
java_home() {
  if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    return
  fi
  if [[ -x "${TEMURIN_25}/bin/java" ]]; then
    export JAVA_HOME="${TEMURIN_25}"
    return
  fi
  fail "set JAVA_HOME to a JDK 25"
}

# ensure_tool COMMAND PACKAGE: install the Debian package when the command is missing and installing is allowed.
ensure_tool() {
  local command="$1" package="$2"
  if command -v "${command}" >/dev/null 2>&1 || [[ -x "/usr/sbin/${command}" ]]; then
    return
  fi
  if [[ "${BENCH_INSTALL:-1}" != "1" ]] || ! command -v apt-get >/dev/null 2>&1 || [[ "$(id -u)" != "0" ]]; then
    log "${command} is missing and will be left out (install ${package})"
    return
  fi
  log "installing ${package}"
  # a fresh machine has no package lists yet
  if [[ -z "${APT_UPDATED:-}" ]]; then
    apt-get update -qq || log "apt-get update failed; trying the install with the lists there are"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${package}" >/dev/null \
    || log "could not install ${package}; ${command} will be left out"
}

# build: the services and the harness, with the modules they depend on (a fresh clone has none of them installed).
build() {
  if [[ "${BENCH_SKIP_BUILD:-0}" == "1" ]]; then
    return
  fi
  log "building services/echo-server, services/echo-gateway and the harness"
  "${REPO_ROOT}/mvnw" -B -q -f "${REPO_ROOT}/pom.xml" -pl services/echo-server,services/echo-gateway,bench -am \
    package -DskipTests
}

# snapshot DIR: copy each runnable jar and its libs, so that a rebuild elsewhere cannot change a running test.
snapshot() {
  local dir="$1" module
  rm -rf "${dir}"
  for module in services/echo-server services/echo-gateway bench; do
    mkdir -p "${dir}/${module##*/}"
    cp -r "${REPO_ROOT}/${module}/target/${module##*/}.jar" "${REPO_ROOT}/${module}/target/libs" "${dir}/${module##*/}/"
  done
}

# cpus: the server and client CPU sets.
cpus() {
  if [[ "$(nproc --all)" -lt 2 ]]; then
    SERVER_CPUS="${BENCH_SERVER_CPUS:-0}"
    CLIENT_CPUS="${BENCH_CLIENT_CPUS:-0}"
  else
    SERVER_CPUS="${BENCH_SERVER_CPUS:-0}"
    CLIENT_CPUS="${BENCH_CLIENT_CPUS:-1}"
  fi
}

main() {
  local mode="${1:-}"
  if [[ "${mode}" != "quick" && "${mode}" != "full" ]]; then
    usage
    exit 2
  fi
  java_home
  command -v taskset >/dev/null 2>&1 || fail "taskset (util-linux) is required"
  ensure_tool nginx nginx-light
  ensure_tool gnuplot gnuplot-nox
  build
  cpus

  local out logs jars
  if [[ "${mode}" == "full" ]]; then
    out="${BENCH_OUT:-${REPO_ROOT}/bench/results/full}"
  else
    out="${BENCH_OUT:-${REPO_ROOT}/bench/results/tmp/quick}"
  fi
  logs="${REPO_ROOT}/bench/results/tmp/logs-${mode}"
  jars="${REPO_ROOT}/bench/results/tmp/jars-${mode}"
  rm -rf "${logs}"
  mkdir -p "${out}" "${logs}"
  # a previous run's figures must not mix with this one's
  rm -f "${out}"/results.json "${out}"/results.md "${out}"/plot.gp "${out}"/*.dat "${out}"/*.png
  snapshot "${jars}"
  log "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg); servers on CPU ${SERVER_CPUS}, load on ${CLIENT_CPUS}"

  # single quotes on purpose: the dollar signs belong to java.util.Formatter, not to the shell
  # shellcheck disable=SC2016
  taskset -c "${CLIENT_CPUS}" "${JAVA_HOME}/bin/java" --enable-native-access=ALL-UNNAMED \
    -Djava.util.logging.SimpleFormatter.format='%1$tT %4$s %5$s%6$s%n' \
    -jar "${jars}/bench/bench.jar" \
    --mode "${mode}" --jars "${jars}" --out "${out}" --logs "${logs}" --server-cpus "${SERVER_CPUS}" \
    ${BENCH_ONLY:+--only "${BENCH_ONLY}"}

  if command -v gnuplot >/dev/null 2>&1; then
    (cd "${out}" && gnuplot plot.gp) || log "gnuplot failed; the .dat files are still there"
  fi
  log "results: ${out}/results.md (logs in ${logs})"
}

main "$@"
