#!/usr/bin/env bash
# Installs anomalyd as a systemd service on Debian / Raspberry Pi OS / Jetson Linux (arm64 or x64).
# Run as root from a checkout: sudo deploy/install.sh. Idempotent: run it again to upgrade.
# See docs/DEPLOY.md.
set -euo pipefail

readonly SERVICE=anomalyd
readonly SERVICE_USER=anomalyd
readonly APP_DIR=/opt/anomalyd
readonly CONF_DIR=/etc/anomalyd
readonly STATE_DIR=/var/lib/anomalyd
readonly UNIT_DIR=/etc/systemd/system
readonly NODE_MIN_MAJOR=20
# What the running service needs from the checkout (package.json "files", plus what npm ci reads).
readonly APP_FILES=(dist models config systemd deploy docs package.json package-lock.json .npmrc README.md)

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly SRC_DIR

PREFIX=""
DRY_RUN=0
UNINSTALL=0
PURGE=0
SKIP_DEPS=0
NODE_ARCH=""

usage() {
  cat <<EOF
Usage: deploy/install.sh [options]

Installs anomalyd to ${APP_DIR}, its config to ${CONF_DIR}/config.yaml (only if absent), data in
${STATE_DIR}, and the systemd unit ${UNIT_DIR}/${SERVICE}.service (enabled, not started on a first
install; restarted on an upgrade if it was running).

Options:
  --prefix DIR   stage every file under DIR instead of / (like DESTDIR). Nothing outside DIR is
                 touched: creating the user, chown and systemctl are printed, not run. No root needed.
  --dry-run      print what would be done and change nothing.
  --skip-deps    do not run 'npm ci --omit=dev' in the installed copy (node_modules provisioned otherwise).
  --uninstall    stop and disable the service, remove the unit and ${APP_DIR}. Keeps config and data.
  --purge        with --uninstall: also remove ${CONF_DIR}, ${STATE_DIR} (the database!) and the user.
  -h, --help     this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

say() {
  echo "==> $*"
}

# Runs a command that changes files (under the prefix), or only prints it with --dry-run.
run() {
  if ((DRY_RUN)); then
    echo "[dry-run] $(quote "$@")"
  else
    echo "+ $(quote "$@")"
    "$@"
  fi
}

# Runs a command with effects outside the prefix (users, ownership, systemd): printed, not run, when
# staging under --prefix or with --dry-run.
system() {
  if ((DRY_RUN)); then
    echo "[dry-run] $(quote "$@")"
  elif [[ -n "${PREFIX}" ]]; then
    echo "[skipped: --prefix] $(quote "$@")"
  else
    echo "+ $(quote "$@")"
    "$@"
  fi
}

quote() {
  local out="" arg
  for arg in "$@"; do
    out+="$(printf '%q' "${arg}") "
  done
  echo "${out% }"
}

parse_args() {
  while (($# > 0)); do
    case "$1" in
      --prefix)
        (($# >= 2)) || die "--prefix needs a directory"
        PREFIX="$2"
        shift 2
        ;;
      --prefix=*)
        PREFIX="${1#--prefix=}"
        shift
        ;;
      --dry-run) DRY_RUN=1; shift ;;
      --skip-deps) SKIP_DEPS=1; shift ;;
      --uninstall) UNINSTALL=1; shift ;;
      --purge) PURGE=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
  done
  if ((PURGE && !UNINSTALL)); then die "--purge only goes with --uninstall"; fi
  if [[ -n "${PREFIX}" ]]; then
    [[ "${PREFIX}" == /* ]] || PREFIX="$(pwd)/${PREFIX}"
    PREFIX="${PREFIX%/}"
  fi
}

require_root_unless_staging() {
  if ((DRY_RUN)) || [[ -n "${PREFIX}" ]]; then return 0; fi
  ((EUID == 0)) || die "run as root (sudo deploy/install.sh), or use --prefix DIR / --dry-run"
}

node_hints() {
  cat >&2 <<EOF

Node.js ${NODE_MIN_MAJOR} or newer is required, at /usr/bin/node (the unit's ExecStart). This script
downloads nothing itself; install Node.js first, then run it again:
  - Debian 13 (trixie) and newer:      sudo apt-get install -y nodejs npm
  - Debian 12 / Raspberry Pi OS 12 (their nodejs is 18), from NodeSource's apt repository:
      curl -fsSL https://deb.nodesource.com/setup_20.x -o nodesource_setup.sh
      sudo bash nodesource_setup.sh && sudo apt-get install -y nodejs
  - NVIDIA Jetson (Ubuntu based): the same NodeSource commands.
EOF
}

check_node() {
  local node major arch
  node="$(command -v node || true)"
  if [[ -z "${node}" ]]; then
    node_hints
    die "node not found"
  fi
  major="$("${node}" -p 'process.versions.node.split(".")[0]')"
  if ((major < NODE_MIN_MAJOR)); then
    node_hints
    die "node ${major} found at ${node}; ${NODE_MIN_MAJOR}+ needed"
  fi
  arch="$("${node}" -p 'process.arch')"
  NODE_ARCH="${arch}"
  case "${arch}" in
    arm64 | x64) ;;
    # onnxruntime-node ships Linux binaries for arm64 and x64 only: 32-bit Raspberry Pi OS cannot run it.
    *) die "node reports arch '${arch}'; onnxruntime-node needs arm64 or x64 (use the 64-bit Raspberry Pi OS)" ;;
  esac
  if [[ "$(readlink -f "${node}")" != "$(readlink -f /usr/bin/node 2>/dev/null || true)" ]]; then
    echo "warning: node is ${node}, but the unit runs /usr/bin/node; override ExecStart with 'systemctl edit ${SERVICE}'" >&2
  fi
  if ((!SKIP_DEPS)) && ! command -v npm >/dev/null; then
    node_hints
    die "npm not found (needed for 'npm ci --omit=dev'; or pass --skip-deps)"
  fi
  say "node $("${node}" --version) (${arch}) at ${node}"
}

build_if_needed() {
  if [[ -f "${SRC_DIR}/dist/main.js" ]]; then return 0; fi
  say "no dist/ in ${SRC_DIR}: building (npm ci, npm run build)"
  run npm --prefix "${SRC_DIR}" ci
  run npm --prefix "${SRC_DIR}" run build
}

ensure_user() {
  if getent passwd "${SERVICE_USER}" >/dev/null; then
    say "user ${SERVICE_USER} exists"
    return 0
  fi
  system useradd --system --user-group --home-dir "${STATE_DIR}" --no-create-home \
    --shell /usr/sbin/nologin --comment "anomalyd service" "${SERVICE_USER}"
}

# Builds the new copy next to the old one and swaps it in, so a failed npm ci leaves the running
# install untouched.
install_app() {
  local dest="${PREFIX}${APP_DIR}" staging="${PREFIX}${APP_DIR}.new" old="${PREFIX}${APP_DIR}.old" f
  run rm -rf "${staging}" "${old}"
  run mkdir -p "${staging}"
  for f in "${APP_FILES[@]}"; do
    if [[ -e "${SRC_DIR}/${f}" ]]; then
      run cp -R "${SRC_DIR}/${f}" "${staging}/"
    fi
  done
  if ((SKIP_DEPS)); then
    say "skipping npm ci (--skip-deps)"
  else
    # The onnxruntime-node postinstall would fetch CUDA binaries on a Jetson with nvcc; the CPU ones are in the package.
    run env ONNXRUNTIME_NODE_INSTALL=skip npm --prefix "${staging}" ci --omit=dev --no-audit --no-fund
    prune_onnxruntime "${staging}"
  fi
  if [[ -e "${dest}" ]]; then
    run mv "${dest}" "${old}"
    run mv "${staging}" "${dest}"
    run rm -rf "${old}"
  else
    run mv "${staging}" "${dest}"
  fi
  # Root-owned and read-only to the service: a compromised daemon cannot rewrite its own code.
  system chown -R root:root "${APP_DIR}"
}

# onnxruntime-node ships its native library for every OS and CPU (~290 MB); keep only ours (~25 MB on arm64).
prune_onnxruntime() {
  local bin="$1/node_modules/onnxruntime-node/bin" d
  if ((DRY_RUN)); then
    echo "[dry-run] remove onnxruntime-node binaries other than linux/${NODE_ARCH} from ${bin}"
    return 0
  fi
  [[ -d "${bin}" ]] || return 0
  for d in "${bin}"/napi-v*/*/*; do
    [[ -d "${d}" && "${d}" != */linux/"${NODE_ARCH}" ]] || continue
    run rm -rf "${d}"
  done
}

install_config() {
  local conf="${PREFIX}${CONF_DIR}/config.yaml"
  run mkdir -p "${PREFIX}${CONF_DIR}"
  if [[ -e "${conf}" ]]; then
    say "keeping existing ${CONF_DIR}/config.yaml (the shipped defaults are in ${APP_DIR}/config/default.yaml)"
  else
    # 0640 root:anomalyd: the service reads it; it may hold MQTT passwords, so others may not.
    run install -m 0640 "${SRC_DIR}/config/default.yaml" "${conf}"
    system chown "root:${SERVICE_USER}" "${CONF_DIR}/config.yaml"
  fi
}

install_unit() {
  run mkdir -p "${PREFIX}${UNIT_DIR}"
  run install -m 0644 "${SRC_DIR}/systemd/${SERVICE}.service" "${PREFIX}${UNIT_DIR}/${SERVICE}.service"
}

service_active() {
  [[ -z "${PREFIX}" ]] && command -v systemctl >/dev/null && systemctl is-active --quiet "${SERVICE}"
}

enable_service() {
  local was_active=0
  # A dry run asks systemd nothing (on a box without it, systemctl prints alarming errors: tryout 26, finding 8).
  if ((DRY_RUN)); then
    echo "[dry-run] systemctl restart ${SERVICE}   (only if it is running now: an upgrade)"
  elif service_active; then was_active=1; fi
  system systemctl daemon-reload
  system systemctl enable "${SERVICE}"
  if ((was_active)); then
    say "upgrade: restarting the running service"
    system systemctl restart "${SERVICE}"
  fi
}

print_hints() {
  cat <<EOF

anomalyd is installed${PREFIX:+ under ${PREFIX} (staged)}.
  config:   ${CONF_DIR}/config.yaml     (check it: node ${APP_DIR}/dist/main.js check-config --config ${CONF_DIR}/config.yaml)
  data:     ${STATE_DIR}/anomalyd.db
  start:    sudo systemctl start ${SERVICE}
  status:   systemctl status ${SERVICE}
  logs:     journalctl -u ${SERVICE} -f
EOF
}

do_install() {
  check_node
  build_if_needed
  ensure_user
  install_app
  install_config
  install_unit
  enable_service
  print_hints
}

do_uninstall() {
  say "uninstalling ${SERVICE}"
  if [[ -n "${PREFIX}" ]] || ((DRY_RUN)) || command -v systemctl >/dev/null; then
    system systemctl disable --now "${SERVICE}" || echo "warning: could not disable ${SERVICE} (not installed?)" >&2
  fi
  run rm -f "${PREFIX}${UNIT_DIR}/${SERVICE}.service"
  system systemctl daemon-reload
  run rm -rf "${PREFIX}${APP_DIR}" "${PREFIX}${APP_DIR}.new" "${PREFIX}${APP_DIR}.old"
  if ((PURGE)); then
    run rm -rf "${PREFIX}${CONF_DIR}" "${PREFIX}${STATE_DIR}"
    if getent passwd "${SERVICE_USER}" >/dev/null || ((DRY_RUN)) || [[ -n "${PREFIX}" ]]; then
      system userdel "${SERVICE_USER}"
    fi
  else
    say "kept ${CONF_DIR} and ${STATE_DIR} (the database); --purge removes them"
  fi
}

main() {
  parse_args "$@"
  require_root_unless_staging
  if ((UNINSTALL)); then do_uninstall; else do_install; fi
}

main "$@"
