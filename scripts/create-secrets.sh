#!/usr/bin/env bash
# Creates the operator-owned Docker secrets the stack mounts (stack.yml declares them external):
#
#   oauth_store_key    32 random bytes, base64: seals and opens the client registry on the volume
#                      (oauth-clients and oauth-client-tokens)
#   oauth_admin_token  the bearer token of the admin API (oauth-clients and auto-registration)
#   oauth_notify_token the token swarm-listener's notifications carry (auto-registration)
#   df_notify_create_service_url, df_notify_remove_service_url
#                      the listener's notify URLs, that token as their last path segment
#                      (<base>/api/notify/create/<token>; swarm-listener)
#
#   scripts/create-secrets.sh                  generate them (a secret that already exists is kept)
#   scripts/create-secrets.sh --out DIR        also keep a copy of what it generates in DIR (mode 0600)
#   scripts/create-secrets.sh --from DIR       create them from DIR/oauth_store_key, DIR/oauth_admin_token,
#                                              DIR/oauth_notify_token (the URLs are made from the token)
#   scripts/create-secrets.sh --prefix P       name them P<name> (e.g. a second stack, or the e2e test,
#                                              whose override points the stack at oauthe2e_*)
#   scripts/create-secrets.sh --notify-base URL
#                                              where the listener reaches auto-registration (default
#                                              http://oauth-clients-auto-registration, stack.yml's name)
#
# Keep a copy of the store key somewhere safe (--out): Docker never gives a secret back, and without
# the same key the registry on the volume cannot be read (restore, a new swarm, a second stack).
# The admin token copy is what you give oauthctl (OAUTH_ADMIN_TOKEN_FILE) to call the admin API.
#
# The values never appear on a command line, in the output or in a log: they go from /dev/urandom
# (or the file) to `docker secret create` on standard input. Secrets are labelled
# swarm-oauth.operator=true, which is how the stack and its tests tell them from the per-service
# secrets auto-registration manages.
#
# Talks to $DOCKER_HOST (a swarm manager), or to the engine of .local/docker-engine.env.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=""
from=""
prefix=""
notify_base="http://oauth-clients-auto-registration"
usage() {
  sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --out)
      [ $# -ge 2 ] || usage
      out=$2
      shift 2
      ;;
    --from)
      [ $# -ge 2 ] || usage
      from=$2
      shift 2
      ;;
    --prefix)
      [ $# -ge 2 ] || usage
      prefix=$2
      shift 2
      ;;
    --notify-base)
      [ $# -ge 2 ] || usage
      notify_base=${2%/}
      shift 2
      ;;
    -h | --help) usage ;;
    *)
      echo "create-secrets: unknown argument '$1'" >&2
      usage
      ;;
  esac
done

log() { printf 'create-secrets: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

if [ -z "${DOCKER_HOST:-}" ] && [ -s "$ROOT/.local/docker-engine.env" ]; then
  # shellcheck disable=SC1091
  . "$ROOT/.local/docker-engine.env"
fi
[ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] ||
  die "no swarm manager answers${DOCKER_HOST:+ at $DOCKER_HOST}; run this on a manager (docker swarm init)."

# The store key: 32 random bytes, base64 (what the store services require).
generate_store_key() { head -c 32 /dev/urandom | base64 -w0; }
# The admin token: 32 random bytes, base64url without padding (no characters a shell or header mangles).
generate_admin_token() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

umask 077
if [ -n "$out" ]; then mkdir -p "$out"; fi

create() {
  local file=$1 generator=$2 name="$prefix$1"
  if docker secret inspect "$name" >/dev/null 2>&1; then
    log "$name exists; kept (Docker secrets cannot change: remove the stack and the secret to replace it)"
    return 0
  fi
  if [ -n "$from" ]; then
    [ -s "$from/$file" ] || die "$from/$file is missing or empty."
    docker secret create --label swarm-oauth.operator=true "$name" - <"$from/$file" >/dev/null
    log "$name created from $from/$file"
    return 0
  fi
  local value
  value=$($generator)
  if [ -n "$out" ]; then
    # Written before the secret exists: a failure below leaves a copy, never a secret nobody has.
    printf '%s' "$value" >"$out/$file"
  fi
  printf '%s' "$value" | docker secret create --label swarm-oauth.operator=true "$name" - >/dev/null
  log "$name created${out:+ (copy in $out/$file)}"
}

create oauth_store_key generate_store_key
create oauth_admin_token generate_admin_token

# The notification token and the two listener URLs that carry it are made together: Docker never
# gives a secret back, so URLs can only be made while the token is at hand.
exists() { docker secret inspect "$prefix$1" >/dev/null 2>&1; }
url_secret() {
  local kind=$1 token=$2
  # In the path, not the query: the listener replaces a configured URL's query with its parameters.
  printf '%s/api/notify/%s/%s' "$notify_base" "$kind" "$token" |
    docker secret create --label swarm-oauth.operator=true "${prefix}df_notify_${kind}_service_url" - >/dev/null
  log "${prefix}df_notify_${kind}_service_url created ($notify_base/api/notify/$kind/<token>)"
}
if exists oauth_notify_token; then
  if exists df_notify_create_service_url && exists df_notify_remove_service_url; then
    log "${prefix}oauth_notify_token and the listener URLs exist; kept"
  elif [ -n "$from" ] && [ -s "$from/oauth_notify_token" ]; then
    token=$(cat "$from/oauth_notify_token")
    exists df_notify_create_service_url || url_secret create "$token"
    exists df_notify_remove_service_url || url_secret remove "$token"
  else
    die "${prefix}oauth_notify_token exists but a listener URL secret does not; give --from DIR with its copy, or remove ${prefix}oauth_notify_token to make a new one."
  fi
else
  if exists df_notify_create_service_url || exists df_notify_remove_service_url; then
    die "a ${prefix}df_notify_*_service_url secret exists without ${prefix}oauth_notify_token; remove it (its token is unknown) and run this again."
  fi
  if [ -n "$from" ]; then
    [ -s "$from/oauth_notify_token" ] || die "$from/oauth_notify_token is missing or empty."
    token=$(cat "$from/oauth_notify_token")
  else
    # The same alphabet as the admin token: letters, digits, - and _, safe in a URL's path as it is.
    token=$(generate_admin_token)
    if [ -n "$out" ]; then printf '%s' "$token" >"$out/oauth_notify_token"; fi
  fi
  printf '%s' "$token" |
    docker secret create --label swarm-oauth.operator=true "${prefix}oauth_notify_token" - >/dev/null
  log "${prefix}oauth_notify_token created${out:+ (copy in $out/oauth_notify_token)}"
  url_secret create "$token"
  url_secret remove "$token"
fi
