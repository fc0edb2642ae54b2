#!/usr/bin/env bash
# Installs what building and testing tether need, only when missing:
#   deps.sh build   Debian packages to build and run (make up), and the npm
#                   packages the Node.js example functions need, pinned in
#                   examples/node/package-lock.json
#   deps.sh test    those, plus test peers: Debian python3-pymongo, python3-boto3, awscli and chromium (headless, for the live page), npm packages
#                   pinned in tests/package-lock.json
#   deps.sh bench   the build's, plus gnuplot-nox (bench_system draws its SVG charts with it)
set -euo pipefail
mode=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs="build-essential cmake pkg-config libmongoc-dev libbson-dev libevent-dev
      libcurl4-openssl-dev libyaml-dev libsqlite3-dev libssl-dev libpcre2-dev libicu-dev libintelrdfpmath-dev zlib1g-dev
      zip unzip procps
      busybox-static nodejs npm"
if [ "$mode" = bench ]; then
  pkgs="$pkgs gnuplot-nox"
fi
if [ "$mode" = test ]; then
  pkgs="$pkgs python3-pymongo python3-boto3 awscli clang libclang-rt-14-dev iproute2 curl chromium"
fi
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm may come from outside Debian (a newer Node.js); accept them when present.
if [ ${#missing[@]} -gt 0 ]; then
  filtered=()
  for p in "${missing[@]}"; do
    case $p in
      nodejs) command -v node >/dev/null || filtered+=("$p") ;;
      npm) command -v npm >/dev/null || filtered+=("$p") ;;
      *) filtered+=("$p") ;;
    esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
# npm ci in dir (relative to the repository) unless its lockfile is installed already.
# Install scripts stay off: aws-lambda-ric's would build a native client that
# tether up does not use (docs/architecture.md).
npm_ci() {
  local dir=$root/$1
  if [ ! -f "$dir/node_modules/.tether-installed" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.tether-installed" ]; then
    echo "deps: npm ci in $1/"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
    touch "$dir/node_modules/.tether-installed"
  fi
}
npm_ci examples/node
if [ "$mode" = test ]; then
  npm_ci tests
fi
