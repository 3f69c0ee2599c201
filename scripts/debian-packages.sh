#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, when some are missing: promtool for the alert
# rules (monitoring/), and the client libraries of other languages that the interop tests run for
# real (services/oauth-client-tokens/test/interop-*.test.ts). Nothing happens when all are there; a
# machine that cannot install them stops here with the list, instead of tests failing one by one.
#
#   scripts/debian-packages.sh            install what is missing
#   scripts/debian-packages.sh --check    only say what is missing (exit 1 if anything is)
set -euo pipefail

PACKAGES=(
  prometheus                 # promtool: check and unit-test monitoring/*.rules.yml
  python3                    # /usr/bin/python3, Debian's, which sees the python3-* packages below
  python3-requests-oauthlib  # OAuth2Session + BackendApplicationClient
  python3-authlib            # authlib's OAuth2Session, client_secret_basic and client_secret_post
  python3-jwt                # PyJWT's PyJWKClient: offline validation against the JWKS
  python3-cryptography       # what PyJWT needs for RS256
  golang-go                  # go build, offline, in GOPATH mode
  golang-golang-x-oauth2-dev # golang.org/x/oauth2/clientcredentials under /usr/share/gocode
  curl                       # curl -u id:secret, as the README shows it
)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "${1:-}" = '--check' ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "scripts/debian-packages.sh: these Debian packages are needed and this machine has no apt-get to install them: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/debian-packages.sh: these Debian packages are needed; install them as root (or run this script as root): apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "Installing Debian packages: ${missing[*]}"
# noninteractive: no debconf prompt can wait for an answer that never comes (CI has no stdin).
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "scripts/debian-packages.sh: apt-get could not install: ${missing[*]}" >&2
  exit 1
fi
still=()
for package in "${missing[@]}"; do
  installed "$package" || still+=("$package")
done
if [ ${#still[@]} -gt 0 ]; then
  echo "scripts/debian-packages.sh: still not installed after apt-get: ${still[*]}" >&2
  exit 1
fi
