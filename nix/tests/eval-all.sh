#!/usr/bin/env bash
# Evaluates every output of the flake with a current Nix, under the nix-eval
# harness (/work/shared/nix-eval: Nix 2.26, nixpkgs 26.11-pre, each older
# nixpkgs input mapped to a copy whose systemd is relabelled to that
# version). Evaluation only: nothing is built.
#   nix/tests/eval-all.sh            # from the repository root
# Environment: NIX_EVAL_SH (the harness's nix.sh), NIX_EVAL_LOCK (its lock),
# NIX_EVAL_INPUTS (input=copy mappings), SYSTEM.
# Prints each group's derivation paths; a group that fails is evaluated item
# by item so that every failing output is named. Exit status 1 if any failed.
set -uo pipefail
cd "$(git rev-parse --show-toplevel)" || exit 2
harness=${NIX_EVAL_SH:-/work/shared/nix-eval/nix.sh}
lock=${NIX_EVAL_LOCK:-/var/tmp/nix-eval.lock}
system=${SYSTEM:-x86_64-linux}
export NIX_EVAL_INPUTS=${NIX_EVAL_INPUTS:-"nixpkgs-systemd257=nixpkgs-systemd-257.9 nixpkgs-systemd259=nixpkgs-systemd-259.5"}
[ -x "$harness" ] || { echo "eval-all.sh: no harness at $harness (set NIX_EVAL_SH)" >&2; exit 2; }
command -v jq >/dev/null || { echo "eval-all.sh: needs jq" >&2; exit 2; }
if [ -n "$(git ls-files --others --exclude-standard)" ]; then
  echo "eval-all.sh: note: the flake is read from git: untracked files are not seen (git add them)" >&2
fi

# Errors that are the nixpkgs-slim copy's, not the flake's: modules the copy
# drops from its module list (its README). A step whose every error is one of
# these is reported as the copy's and does not fail the run.
copyErrors=(
  "The option \`nodes.machine.services.qemuGuest' does not exist"        # virtualisation/qemu-guest-agent.nix
  "The option \`services.xserver.desktopManager.xfce' does not exist"    # services/x11/desktop-managers/xfce.nix
)
failed=() copys=()
log=$(mktemp) && trap 'rm -f "$log"' EXIT
nix_() { flock "$lock" "$harness" "$@"; }
onlyCopyErrors() {
  local errors known e
  errors=$(grep -c '^ *error: ' "$log" | head -n 1)
  [ "$errors" -gt 0 ] || return 1
  known=0
  for e in "${copyErrors[@]}"; do known=$((known + $(grep -cF "$e" "$log"))); done
  # "some errors were encountered" closes a --keep-going run; it is not one.
  [ "$known" -ge "$((errors - $(grep -c '^error: some errors were encountered' "$log")))" ]
}
step() {
  local name=$1; shift
  echo "== $name: nix $*"
  local start=$SECONDS
  if nix_ "$@" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then echo "-- $name: ok ($((SECONDS - start)) s)"
  elif onlyCopyErrors; then echo "-- $name: the copy's limitation ($((SECONDS - start)) s)"; copys+=("$name")
  else echo "-- $name: FAILED ($((SECONDS - start)) s)"; failed+=("$name"); return 1; fi
}

# The attribute that evaluates one item of a group alone.
item() {
  local g=$1 n=$2
  case $g in
    nixosConfigurations) echo ".#nixosConfigurations.$n.config.system.build.toplevel.drvPath" ;;
    examples) echo ".#legacyPackages.$system.examples.$n.config.system.build.toplevel.drvPath" ;;
    apps) echo ".#apps.$system.$n.program" ;;
    formatter) echo ".#formatter.$system.drvPath" ;;
    *) echo ".#$g.$system.$n.drvPath" ;;
  esac
}
# A group is one evaluation; its failing items are null there, and each is
# then evaluated alone to show its error.
group() {
  local g=$1 attr=".#legacyPackages.$system.drvPaths.$1" out nulls n start=$SECONDS
  echo "== $g: nix eval --json $attr"
  if ! out=$(nix_ eval --json "$attr"); then
    echo "$out"; echo "-- $g: FAILED ($((SECONDS - start)) s)"; failed+=("$g"); return
  fi
  echo "$out"
  nulls=$(jq -r 'paths(. == null) | map("\"" + . + "\"") | join(".")' <<< "$out")
  if [ -z "$nulls" ] && [ "$out" != null ]; then echo "-- $g: ok ($((SECONDS - start)) s)"; return; fi
  echo "-- $g: failing items: ${nulls//$'\n'/ }"
  while read -r n; do
    step "$g.$n" eval --raw "$(item "$g" "$n")" || true
    echo
  done <<< "$nulls"
}

# --keep-going: report every failing output, not the first.
step "flake check" flake check --no-build --keep-going
step "flake show" flake show
for g in nixosConfigurations examples packages apps checks devShells formatter; do group "$g"; done

[ ${#copys[@]} -eq 0 ] || echo "eval-all.sh: not evaluable with the nixpkgs-slim copy (modules it drops): ${copys[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "eval-all.sh: failed: ${failed[*]}"
  exit 1
fi
echo "eval-all.sh: everything else evaluated (NIX_EVAL_INPUTS=$NIX_EVAL_INPUTS)"
