#!/usr/bin/env bash
# Installs everything Surfing needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are not touched, so a second run takes a second.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache g++ pkg-config git
  qt6-base-dev qt6-websockets-dev qt6-charts-dev libgl-dev
  qtkeychain-qt6-dev                # the remote token in the system keyring (Secret Service, KWallet)
  dbus-daemon gnome-keyring         # tests/gui tst_keyring_secretservice: a private bus and a real keyring
  libtorch-dev libzstd-dev zstd libssl-dev openssl
  libopenblas0-pthread              # fast BLAS for libtorch (the default libblas.so.3 is netlib's reference)
  clang libclang-rt-14-dev          # libFuzzer targets
  xvfb xauth imagemagick            # GUI screenshots
  dpkg-dev file                     # CPack .deb
  appstream desktop-file-utils      # tests/packaging: AppStream metadata and desktop entry are valid
  bc python3-numpy                   # benchmark scripts (python3-numpy: ../shared/peer/hf2gguf.py)
  python3-jinja2                     # tests/chat/make_expected.py (expected chat template renders)
  haproxy                           # the load balancer of packaging/haproxy (tests/scaleout, bench/run-scaleout.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node runs s3rver, the S3-compatible server the tests start. A machine may already have a node
# with its own npm (e.g. from NodeSource); only install Debian's when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  # The package starts a system haproxy with Debian's sample configuration; tests and benchmarks
  # run their own haproxy with their own configuration, so the system one is stopped and disabled.
  if [[ " ${missing[*]} " == *" haproxy "* ]]; then
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/haproxy ]; then
      $SUDO /etc/init.d/haproxy stop >/dev/null 2>&1 || true
      $SUDO update-rc.d haproxy disable >/dev/null 2>&1 || true
    fi
  fi
fi

# Node packages used by tests (s3rver). Installed into tests/s3/node_modules from the lock file.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/s3/package.json" ] && [ ! -d "$here/tests/s3/node_modules/s3rver" ]; then
  (cd "$here/tests/s3" && npm ci --no-audit --no-fund --loglevel=error)
fi
