#!/usr/bin/env bash
# Installs Back Coach into ./.venv: system packages first (apt, when root), then Python packages.
#   bash .ci/setup.sh          the app (with the Whisper engine and its model)
#   bash .ci/setup.sh --dev    the app in editable mode plus test tools
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv espeak-ng libespeak-ng1 libportaudio2 libasound2-plugins
              pulseaudio pulseaudio-utils sox)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "backcoach setup: please install the system packages first, then run this again:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ "${1:-}" == "--dev" ]]; then
  .venv/bin/python -m pip install -q -e ".[dev,whisper]"
else
  .venv/bin/python -m pip install -q ".[whisper]"
fi
