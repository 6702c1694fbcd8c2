#!/usr/bin/env bash
# Installs the system libraries Demarche needs (HarfBuzz subsetting for fast PDF fonts, fonts with
# Latin, Cyrillic, Arabic and Chinese coverage, tesseract with the six UN languages and poppler's
# pdftoppm for reading scanned replies, ICU with its headers and a compiler for PyICU's build
# (name folding), Chromium for the browser tests) when it can: as root with
# apt-get. Otherwise it prints exactly what to install.
set -u
want_browser=${1:-}
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core fonts-noto-cjk fonts-dejavu-core
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-ara tesseract-ocr-chi-sim tesseract-ocr-fra
  tesseract-ocr-rus tesseract-ocr-spa poppler-utils libicu-dev pkg-config g++)
[ "$want_browser" = "--browser" ] && packages+=(chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    && exit 0
  echo "apt-get could not install: ${missing[*]}" >&2
  exit 1
fi
echo "Demarche needs these system packages; install them with your package manager:" >&2
echo "  sudo apt-get install ${missing[*]}" >&2
[ "$want_browser" = "--browser" ] && exit 1
exit 0
