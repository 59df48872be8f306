#!/usr/bin/env bash
# Installs the Debian packages the tests, the demo and the campaign use, as listed (with why)
# in scripts/debian-packages.txt: the one list. Run as root on Debian 12 (bookworm) or later:
#   bash scripts/setup-debian.sh
# Only missing packages are installed (apt-get update once, then --no-install-recommends);
# with everything installed it changes nothing and needs no network.
set -euo pipefail
list="$(dirname "$0")/debian-packages.txt"

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-debian.sh: run as root (apt-get install); e.g. sudo bash $0" >&2
  exit 1
fi

# One package per line; `#` starts a comment.
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup-debian.sh: all ${#packages[@]} packages of $list are installed"
  exit 0
fi
echo "setup-debian.sh: installing ${#missing[@]} of ${#packages[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
