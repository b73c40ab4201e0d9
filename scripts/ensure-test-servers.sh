#!/usr/bin/env bash
# Makes sure the servers the tests start for themselves are on this machine: nats-server and
# FerretDB (the MongoDB wire protocol over SQLite), Helm 4 and Helm 3 for the chart's tests, plus python3 for
# Python tools. What it builds is
# cached under ${XDG_CACHE_HOME:-~/.cache}/mozaiks/bin, outside the repository, and reused.
# Run by `npm test` before the tests; harmless to run again.
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mozaiks/bin"
NATS_SERVER_MODULE="github.com/nats-io/nats-server/v2@v2.15.2"
FERRETDB_VERSION="v1.24.2"
# Helm 4 and Helm 3 (what most platform teams still run): the chart is tested with both.
HELM4_VERSION="v4.3.2"
HELM3_VERSION="v3.21.4"
mkdir -p "$CACHE"

say() { printf 'test servers: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
can_apt() { [ "$(id -u)" = 0 ] && have apt-get; }
apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# nats-server: PATH, Debian's location, the cache; else Debian's package, else built with Go.
if [ -z "${NATS_SERVER_BIN:-}" ] && ! have nats-server && [ ! -x /usr/sbin/nats-server ] && [ ! -x "$CACHE/nats-server" ]; then
  if can_apt && apt_install nats-server; then
    say "installed nats-server (Debian package)"
  elif have go; then
    say "building nats-server ($NATS_SERVER_MODULE) into $CACHE"
    GOBIN="$CACHE" GOFLAGS=-mod=mod go install "$NATS_SERVER_MODULE"
  else
    say "nats-server is missing and neither apt-get (as root) nor Go is available: install it, or set NATS_SERVER_BIN"
    exit 1
  fi
fi

# FerretDB: only when no MongoDB is given and no ferretdb is found. `go install` alone builds a
# binary that refuses to start (its version file is filled in by FerretDB's release tooling), so
# the module's source is copied, given its version, and built.
if [ -z "${MONGODB_TEST_URI:-}${MONGODB_URI:-}${FERRETDB_BIN:-}" ] && ! have ferretdb && [ ! -x "$CACHE/ferretdb" ]; then
  if have go; then
    say "building FerretDB $FERRETDB_VERSION into $CACHE (once; about a minute)"
    src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp -r "$src/." "$work/" && chmod -R u+w "$work"
    echo "$FERRETDB_VERSION" > "$work/build/version/version.txt"
    (cd "$work" && go build -trimpath -o "$CACHE/ferretdb.tmp" ./cmd/ferretdb)
    mv "$CACHE/ferretdb.tmp" "$CACHE/ferretdb"
  else
    say "no Go toolchain: FerretDB cannot be built, so the MongoDB tests will be SKIPPED (set MONGODB_URI to run them on a server)"
  fi
fi

# Chromium for the console's browser test: Debian's package (never a browser download).
if [ -z "${CHROMIUM_BIN:-}" ] && ! have chromium && [ ! -x /usr/bin/chromium ]; then
  if can_apt && apt_install chromium; then
    say "installed chromium (Debian package)"
  else
    say "chromium is missing and apt-get (as root) is not available: the console's browser test will be SKIPPED (set CHROMIUM_BIN)"
  fi
fi

# helm, both majors, into the cache as helm-<version>: built from the module with the release's
# version flags (`-ldflags` as Helm's Makefile sets them), so `helm version` tells the truth and
# `helm template` assumes the Kubernetes version of the client-go it was built with, not v1.20.
build_helm() {
  local major="$1" version="$2" target="$CACHE/helm-$2"
  [ -x "$target" ] && return 0
  if ! have go; then
    say "Go is not available to build helm $version: install it, or set HELM_BIN / HELM3_BIN"
    return 1
  fi
  say "building helm $version into $CACHE (once; a few minutes)"
  local dir client minor
  dir="$(go mod download -json "helm.sh/helm/$major@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  client="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v\([0-9.]*\).*/\1/p' "$dir/go.mod" | head -n 1)"
  minor="$(echo "$client" | cut -d. -f2)"
  local flags="-s -w -X helm.sh/helm/$major/internal/version.version=$version -X helm.sh/helm/$major/internal/version.gitTreeState=clean"
  # Helm 3 keeps its default Kubernetes version in variables the release build sets (Helm 4 reads it from the build).
  if [ "$major" = v3 ]; then
    flags="$flags -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
    flags="$flags -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  fi
  GOBIN="$CACHE/helm-build-$version" GOFLAGS=-mod=mod go install -trimpath -ldflags "$flags" "helm.sh/helm/$major/cmd/helm@$version"
  mv "$CACHE/helm-build-$version/helm" "$target"
  rmdir "$CACHE/helm-build-$version"
}
[ -n "${HELM_BIN:-}" ] || build_helm v4 "$HELM4_VERSION"
[ -n "${HELM3_BIN:-}" ] || build_helm v3 "$HELM3_VERSION"

if ! have python3; then
  if can_apt && apt_install python3; then say "installed python3"; else say "python3 is missing: Python tool tests will fail"; fi
fi
