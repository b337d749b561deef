#!/usr/bin/env bash
# Installs the Debian packages songforge needs; idempotent (installs only what is missing).
set -euo pipefail
packages=(
  fluidsynth libfluidsynth3 fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont
  festival festvox-us-slt-hts espeak-ng ffmpeg libsndfile1
  abe-data  # 2.8 MB: two real music recordings (ogg) for the reference-analysis bench and tests
  chromium fonts-dejavu-core  # the web studio's browser tests (Playwright drives Debian's chromium)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
