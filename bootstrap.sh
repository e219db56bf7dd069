#!/usr/bin/env bash
#
# bootstrap.sh - run echo-chain on a local k3d cluster, deployed by Argo CD from this repository.
#
# Usage:
#   ./bootstrap.sh [options] [up]      create or repair the cluster, sync it and check both flows
#   ./bootstrap.sh [options] down      delete the cluster and stop the git daemon this script started
#   ./bootstrap.sh [options] status    show the cluster, the Applications and the git daemon
#   ./bootstrap.sh local [args...]     run the chain on this machine without Kubernetes
#
# Options:
#   --dry-run       print the exact commands that would change something, and run none of them
#   --manual-sync   leave syncing to the Argo CD UI (no automated sync, no waiting, no flow check)
#   --skip-build    do not build the service images (reuse services/*/target/jib-image.tar)
#   -h, --help      print this help
#
# Environment:
#   CLUSTER_NAME     k3d cluster name (default: echo-chain)
#   GITOPS_REPO      a git URL that Argo CD can reach; by default this repository's committed state is
#                    served by `git daemon` on this machine and read from git://host.k3d.internal/
#   GITOPS_REVISION  branch, tag or commit that Argo CD syncs (default: HEAD)
#   HTTP_PORT        host port for Traefik's web entrypoint (default: 8000)
#   HTTPS_PORT       host port for Traefik's websecure entrypoint (default: 8443)
#   GIT_DAEMON_PORT  port of the local git daemon (default: 9418)
#   WAIT_TIMEOUT     seconds to wait for all Applications to be Synced and Healthy (default: 900)
#
set -o errexit -o errtrace -o nounset -o pipefail

if ((BASH_VERSINFO[0] < 4)); then
  echo "bootstrap.sh needs bash 4 or newer (this is ${BASH_VERSION}); on macOS: brew install bash" >&2
  exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT

readonly ARGOCD_VERSION="v3.5.1"
readonly ARGOCD_INSTALL_URL="https://raw.githubusercontent.com/argoproj/argo-cd/${ARGOCD_VERSION}/manifests/\
install.yaml"
readonly DEFAULT_REPO_URL="git://host.k3d.internal/echo-chain"
readonly IMAGES=("services/echo-server/target/jib-image.tar" "services/echo-gateway/target/jib-image.tar")
readonly APPLICATIONS=(echo-chain crds spire traefik-external traefik-internal echo routes)
readonly APP_STATES_JSONPATH='jsonpath={range .items[*]}{.metadata.name}{" "}{.status.sync.status}{" "}'\
'{.status.health.status}{"\n"}{end}'

CLUSTER_NAME="${CLUSTER_NAME:-echo-chain}"
GITOPS_REPO="${GITOPS_REPO:-}"
GITOPS_REVISION="${GITOPS_REVISION:-HEAD}"
HTTP_PORT="${HTTP_PORT:-8000}"
HTTPS_PORT="${HTTPS_PORT:-8443}"
GIT_DAEMON_PORT="${GIT_DAEMON_PORT:-9418}"
WAIT_TIMEOUT="${WAIT_TIMEOUT:-900}"
GIT_DAEMON_PID_FILE="${XDG_RUNTIME_DIR:-/tmp}/echo-chain-git-daemon-${CLUSTER_NAME}.pid"

DRY_RUN=false
MANUAL_SYNC=false
SKIP_BUILD=false
STEP="start"

# log prints a timestamped progress line on stderr.
log() {
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# fail names the failed step, the cause and what to do, then exits.
fail() {
  log "ERROR in step '${STEP}': $1"
  if [[ $# -gt 1 ]]; then
    log "  what to do: $2"
  fi
  exit 1
}

# step records and announces the step that runs next.
step() {
  STEP="$1"
  log "== ${STEP}"
}

# on_error reports an unexpected failure of a command with the step it belongs to.
on_error() {
  local rc=$?
  log "ERROR in step '${STEP}': a command failed with exit code ${rc} (line $1)"
  log "  what to do: read the output above, fix the cause and run ./bootstrap.sh up again (it repairs)"
  exit "${rc}"
}

# run executes a command, or prints it in dry-run mode.
run() {
  if [[ "${DRY_RUN}" == true ]]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    return 0
  fi
  "$@"
}

# kube runs kubectl against this cluster's context.
kube() {
  run kubectl --context "k3d-${CLUSTER_NAME}" "$@"
}

# kube_query runs a read-only kubectl command, also in dry-run mode when a cluster exists.
kube_query() {
  kubectl --context "k3d-${CLUSTER_NAME}" "$@"
}

# usage prints the header of this file.
usage() {
  sed -n '3,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# require_commands names every missing prerequisite at once.
require_commands() {
  local missing=() cmd
  local -A hint=(
    [docker]="Docker Engine 24 or newer, running (https://docs.docker.com/engine/install/)"
    [k3d]="k3d 5.9 or newer (https://k3d.io/)"
    [kubectl]="kubectl 1.33 or newer (https://kubernetes.io/docs/tasks/tools/)"
    [java]="a JDK 25, e.g. Temurin 25 (https://adoptium.net/)"
    [javac]="a JDK 25 (a JRE is not enough to build the images)"
    [git]="git 2.40 or newer (git daemon serves this repository to Argo CD)"
    [curl]="curl 7.85 or newer (checks both flows at the end)"
  )
  for cmd in "$@"; do
    if ! command -v "${cmd}" >/dev/null 2>&1; then
      missing+=("${cmd}: install ${hint[${cmd}]:-it}")
    fi
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    local line
    for line in "${missing[@]}"; do
      log "missing prerequisite ${line}"
    done
    if [[ "${DRY_RUN}" == true ]]; then
      log "dry run: a real run would stop here"
      return
    fi
    fail "${#missing[@]} prerequisite(s) missing" "install them, then run ./bootstrap.sh up again"
  fi
}

# require_jdk checks that javac is a JDK 25 or newer, which the build needs.
require_jdk() {
  local version major
  version="$(javac -version 2>&1 | awk '{ print $2 }')"
  major="${version%%.*}"
  if [[ ! "${major}" =~ ^[0-9]+$ ]] || ((major < 25)); then
    fail "javac reports version '${version}', the build needs JDK 25 or newer" \
      "install a JDK 25 and put it first on PATH (or set JAVA_HOME for ./mvnw)"
  fi
}

# check_prerequisites checks the tools and the Docker daemon before anything changes.
check_prerequisites() {
  step "check prerequisites"
  local tools=(docker k3d kubectl git curl)
  if [[ "${SKIP_BUILD}" == false ]]; then
    tools+=(java javac)
  fi
  require_commands "${tools[@]}"
  if [[ "${DRY_RUN}" == true ]]; then
    return
  fi
  if [[ "${SKIP_BUILD}" == false ]]; then
    require_jdk
  fi
  if ! docker info >/dev/null 2>&1; then
    fail "the Docker daemon does not answer" "start Docker (or add yourself to the docker group) and retry"
  fi
}

# cluster_exists tells whether the k3d cluster is there already.
cluster_exists() {
  [[ "${DRY_RUN}" == false ]] && k3d cluster get "${CLUSTER_NAME}" >/dev/null 2>&1
}

# port_taken tells whether something on this machine accepts connections on a TCP port.
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# create_cluster creates the k3d cluster with the host ports mapped and the bundled Traefik disabled.
create_cluster() {
  step "create k3d cluster ${CLUSTER_NAME}"
  if cluster_exists; then
    log "cluster ${CLUSTER_NAME} exists; starting it in case it was stopped, and restoring its kubeconfig entry"
    run k3d cluster start "${CLUSTER_NAME}" --wait
    run k3d kubeconfig merge "${CLUSTER_NAME}" --kubeconfig-merge-default --kubeconfig-switch-context=false
    return
  fi
  local port
  for port in "${HTTP_PORT}" "${HTTPS_PORT}"; do
    if [[ "${DRY_RUN}" == false ]] && port_taken "${port}"; then
      fail "host port ${port} is taken" \
        "stop what listens there (ss -ltnp 'sport = :${port}') or set HTTP_PORT / HTTPS_PORT"
    fi
  done
  run k3d cluster create "${CLUSTER_NAME}" \
    --servers 1 --agents 0 \
    --port "${HTTP_PORT}:80@loadbalancer" \
    --port "${HTTPS_PORT}:443@loadbalancer" \
    --k3s-arg "--disable=traefik@server:*" \
    --wait --timeout 300s
}

# build_images builds both service images with Jib into tarballs and imports them into k3d.
build_images() {
  step "build and import images"
  if [[ "${SKIP_BUILD}" == false ]]; then
    run ./mvnw -B -DskipTests install
    run ./mvnw -B -pl services/echo-server,services/echo-gateway jib:buildTar
  fi
  local image tars=()
  for image in "${IMAGES[@]}"; do
    if [[ "${DRY_RUN}" == false && ! -f "${ROOT}/${image}" ]]; then
      fail "${image} is missing" "run without --skip-build, or build it with jib:buildTar"
    fi
    tars+=("${ROOT}/${image}")
  done
  run k3d image import --cluster "${CLUSTER_NAME}" "${tars[@]}"
}

# install_argocd installs the pinned Argo CD and lays this product's settings over it.
install_argocd() {
  step "install Argo CD ${ARGOCD_VERSION}"
  # Our settings go first, under their own field manager, so the pods start with them and a
  # re-apply of the upstream manifest (field manager kubectl) leaves them alone.
  kube apply --server-side --force-conflicts --field-manager=echo-chain-bootstrap -k "${ROOT}/gitops/argocd"
  kube apply --namespace argocd --server-side --force-conflicts -f "${ARGOCD_INSTALL_URL}"
  local workload
  for workload in deployment/argocd-server deployment/argocd-repo-server statefulset/argocd-application-controller; do
    log "waiting for ${workload}"
    kube --namespace argocd rollout status "${workload}" --timeout=300s
  done
}

# repo_url prints the git URL that Argo CD reads.
repo_url() {
  if [[ -n "${GITOPS_REPO}" ]]; then
    printf '%s\n' "${GITOPS_REPO}"
  else
    printf 'git://host.k3d.internal/%s\n' "$(basename "${ROOT}")"
  fi
}

# git_daemon_running tells whether the git daemon this script started is alive.
git_daemon_running() {
  local pid
  [[ -f "${GIT_DAEMON_PID_FILE}" ]] || return 1
  pid="$(cat "${GIT_DAEMON_PID_FILE}")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null
}

# serve_repo serves this repository's committed state to the cluster, unless GITOPS_REPO is set.
serve_repo() {
  step "serve the GitOps repository"
  if [[ -n "${GITOPS_REPO}" ]]; then
    log "Argo CD reads ${GITOPS_REPO} (GITOPS_REPO); no local git daemon"
    return
  fi
  if [[ -n "$(git -C "${ROOT}" status --porcelain -- gitops 2>/dev/null)" ]]; then
    log "note: gitops/ has uncommitted changes; Argo CD only sees what is committed"
  fi
  if git_daemon_running; then
    log "git daemon already serves $(repo_url) (pid $(cat "${GIT_DAEMON_PID_FILE}"))"
    return
  fi
  if [[ "${DRY_RUN}" == false ]] && port_taken "${GIT_DAEMON_PORT}"; then
    fail "port ${GIT_DAEMON_PORT} is taken by another process" \
      "stop it, or set GIT_DAEMON_PORT (then also use GITOPS_REPO=git://host.k3d.internal:PORT/...)"
  fi
  run git daemon --reuseaddr --detach --export-all \
    --port="${GIT_DAEMON_PORT}" \
    --pid-file="${GIT_DAEMON_PID_FILE}" \
    --base-path="$(dirname "${ROOT}")" \
    "${ROOT}"
  if [[ "${DRY_RUN}" == false ]]; then
    log "git daemon serves $(repo_url)"
  fi
}

# root_sed_args prints, one per line, the sed arguments that set this run's repository, revision and
# sync mode in the rendered root Application.
root_sed_args() {
  local automated=true
  if [[ "${MANUAL_SYNC}" == true ]]; then
    automated=false
  fi
  printf '%s\n' \
    -e "s#${DEFAULT_REPO_URL}\$#$(repo_url)#" \
    -e "s#targetRevision: HEAD\$#targetRevision: ${GITOPS_REVISION}#" \
    -e "s#automatedSync: true\$#automatedSync: ${automated}#" \
    -e "s#enabled: true\$#enabled: ${automated}#"
}

# apply_root applies the root Application, which owns every other Application.
apply_root() {
  step "apply the root Application"
  local sed_args=()
  mapfile -t sed_args < <(root_sed_args)
  if [[ "${DRY_RUN}" == true ]]; then
    printf '+ kubectl kustomize %q | sed' "${ROOT}/gitops/clusters/k3d"
    printf ' %q' "${sed_args[@]}"
    printf ' | kubectl --context %q apply -f -\n' "k3d-${CLUSTER_NAME}"
    return
  fi
  kubectl kustomize "${ROOT}/gitops/clusters/k3d" | sed "${sed_args[@]}" | kube apply -f -
}

# app_states prints "name sync health" for every Application.
app_states() {
  kube_query --namespace argocd get applications.argoproj.io -o "${APP_STATES_JSONPATH}"
}

# explain_app prints why an Application is not Synced and Healthy.
explain_app() {
  local why='jsonpath={range .status.conditions[*]}  condition {.type}: {.message}{"\n"}{end}'
  why+='{"  health: "}{.status.health.message}{"\n"}{"  last sync: "}{.status.operationState.message}{"\n"}'
  kube_query --namespace argocd get applications.argoproj.io "$1" -o "${why}" || true
}

# wait_for_applications waits until every Application is Synced and Healthy, naming the one it waits for.
wait_for_applications() {
  step "wait for the Applications"
  if [[ "${DRY_RUN}" == true ]]; then
    printf '+ kubectl --context %q --namespace argocd get applications.argoproj.io -o %q' \
      "k3d-${CLUSTER_NAME}" "${APP_STATES_JSONPATH}"
    printf '   # every 5 s for up to %s s, until %s are Synced and Healthy\n' "${WAIT_TIMEOUT}" "${APPLICATIONS[*]}"
    return
  fi
  local deadline=$((SECONDS + WAIT_TIMEOUT)) waiting="" last="" states app sync health
  while :; do
    states="$(app_states 2>/dev/null || true)"
    waiting=""
    for app in "${APPLICATIONS[@]}"; do
      read -r sync health < <(awk -v a="${app}" '$1 == a { print $2, $3 }' <<<"${states}") || true
      if [[ "${sync:-}" != "Synced" || "${health:-}" != "Healthy" ]]; then
        waiting="${app} (sync ${sync:-unknown}, health ${health:-unknown})"
        break
      fi
    done
    if [[ -z "${waiting}" ]]; then
      log "all ${#APPLICATIONS[@]} Applications are Synced and Healthy"
      return
    fi
    if [[ "${waiting}" != "${last}" ]]; then
      log "waiting for ${waiting}"
      last="${waiting}"
    fi
    if ((SECONDS >= deadline)); then
      log "stuck: ${waiting}"
      explain_app "${waiting%% *}" >&2
      fail "Applications not Synced and Healthy after ${WAIT_TIMEOUT}s; stuck at ${waiting%% *}" \
        "open the Argo CD UI (see docs/cluster.md, Troubleshooting), fix the cause and run ./bootstrap.sh up"
    fi
    sleep 5
  done
}

# print_access prints the Argo CD URL and the initial admin password.
print_access() {
  step "Argo CD access"
  local password="(dry run)"
  if [[ "${DRY_RUN}" == true ]]; then
    printf '+ kubectl --context %q --namespace argocd get secret argocd-initial-admin-secret -o %s | base64 -d\n' \
      "k3d-${CLUSTER_NAME}" "jsonpath={.data.password}"
  else
    password="$(kube_query --namespace argocd get secret argocd-initial-admin-secret \
      -o jsonpath='{.data.password}' | base64 -d)" || password="(not found: the secret was deleted)"
  fi
  log "Argo CD UI: http://argocd.localhost:${HTTP_PORT}  or  https://argocd.localhost:${HTTPS_PORT}"
  log "Argo CD login: admin / ${password}"
}

# trust_domain prints the trust domain, named once in the SPIRE values file.
trust_domain() {
  sed -n 's/^ *trustDomain: *\([^ #]*\).*$/\1/p' "${ROOT}/gitops/infrastructure/spire/values.yaml" | head -n 1
}

# check_flow posts a message through one host name and checks the identity chain in the reply.
check_flow() {
  local host="$1" base="$2" expected_caller="$3" reply="" compact attempt want
  local td
  td="spiffe://$(trust_domain)"
  local request=(curl --silent --show-error --fail-with-body --max-time 10 --insecure
    --resolve "${host}:${base##*:}:127.0.0.1"
    --header "Content-Type: application/json"
    --data '{"message":"hello"}' "${base}/echo")
  if [[ "${DRY_RUN}" == true ]]; then
    run "${request[@]}"
    return
  fi
  for attempt in $(seq 1 30); do
    if reply="$("${request[@]}" 2>&1)"; then
      break
    fi
    log "  ${host}: attempt ${attempt} failed: ${reply}"
    sleep 2
  done
  compact="$(tr -d ' \n\t' <<<"${reply}")"
  for want in \
    "\"server\":{\"id\":\"${td}/ns/echo/sa/echo-server\",\"caller\":\"${td}/ns/echo/sa/echo-gateway\"}" \
    "\"gateway\":{\"id\":\"${td}/ns/echo/sa/echo-gateway\",\"caller\":\"${expected_caller}\"}"; do
    if [[ "${compact}" != *"${want}"* ]]; then
      fail "${base} (${host}) did not return the expected identity chain; wanted ${want}, got: ${reply}" \
        "see docs/cluster.md, Troubleshooting (pods without SVIDs)"
    fi
  done
  log "  ${base}: ${reply}"
}

# check_flows runs both flows over plain HTTP and over HTTPS.
check_flows() {
  step "check both flows"
  local td scheme_port
  td="spiffe://$(trust_domain)"
  for scheme_port in "http://echo-gateway.localhost:${HTTP_PORT}" "https://echo-gateway.localhost:${HTTPS_PORT}"; do
    check_flow echo-gateway.localhost "${scheme_port}" "${td}/ns/traefik/sa/traefik-external"
  done
  for scheme_port in "http://echo-internal.localhost:${HTTP_PORT}" "https://echo-internal.localhost:${HTTPS_PORT}"; do
    check_flow echo-internal.localhost "${scheme_port}" "${td}/ns/traefik/sa/traefik-internal"
  done
  if [[ "${DRY_RUN}" == false ]]; then
    log "both flows answer with the expected identity chains"
  fi
}

# cmd_up creates or repairs everything, then checks the flows.
cmd_up() {
  check_prerequisites
  create_cluster
  build_images
  install_argocd
  serve_repo
  apply_root
  if [[ "${MANUAL_SYNC}" == true ]]; then
    print_access
    log "manual sync: open the Argo CD UI and sync 'echo-chain', then each wave; ./bootstrap.sh status shows progress"
    return
  fi
  wait_for_applications
  print_access
  check_flows
}

# cmd_down deletes the cluster and stops the git daemon that this script started.
cmd_down() {
  require_commands k3d
  step "delete k3d cluster ${CLUSTER_NAME}"
  if [[ "${DRY_RUN}" == true ]] || cluster_exists; then
    run k3d cluster delete "${CLUSTER_NAME}"
  else
    log "no cluster ${CLUSTER_NAME}; nothing to delete"
  fi
  step "stop the git daemon"
  if git_daemon_running; then
    run kill "$(cat "${GIT_DAEMON_PID_FILE}")"
    run rm -f "${GIT_DAEMON_PID_FILE}"
  else
    log "no git daemon started by this script is running"
  fi
}

# cmd_status shows the cluster, the Applications and the git daemon.
cmd_status() {
  require_commands k3d kubectl
  step "status of ${CLUSTER_NAME}"
  if ! cluster_exists; then
    log "no cluster ${CLUSTER_NAME}; run ./bootstrap.sh up"
    return
  fi
  kube_query --namespace argocd get applications.argoproj.io \
    -o custom-columns='NAME:.metadata.name,WAVE:.metadata.annotations.argocd\.argoproj\.io/sync-wave,'\
'SYNC:.status.sync.status,HEALTH:.status.health.status' || true
  kube_query get pods --all-namespaces --field-selector=status.phase!=Running,status.phase!=Succeeded || true
  if git_daemon_running; then
    log "git daemon serves $(repo_url) (pid $(cat "${GIT_DAEMON_PID_FILE}"))"
  else
    log "no local git daemon (GITOPS_REPO=${GITOPS_REPO:-unset})"
  fi
}

main() {
  local command=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dry-run) DRY_RUN=true ;;
      --manual-sync) MANUAL_SYNC=true ;;
      --skip-build) SKIP_BUILD=true ;;
      -h | --help) usage; return 0 ;;
      up | down | status) command="$1" ;;
      local)
        shift
        exec "$ROOT/scripts/local.sh" "$@"
        ;;
      *) STEP="parse arguments"; fail "unknown argument '$1'" "see ./bootstrap.sh --help" ;;
    esac
    shift
  done
  trap 'on_error $LINENO' ERR
  cd "${ROOT}"
  case "${command:-up}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
  esac
}

main "$@"
