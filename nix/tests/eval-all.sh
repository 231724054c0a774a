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
cd "$(git rev-parse --show-toplevel)"
harness=${NIX_EVAL_SH:-/work/shared/nix-eval/nix.sh}
lock=${NIX_EVAL_LOCK:-/var/tmp/nix-eval.lock}
system=${SYSTEM:-x86_64-linux}
export NIX_EVAL_INPUTS=${NIX_EVAL_INPUTS:-"nixpkgs-systemd257=nixpkgs-systemd-257.9 nixpkgs-systemd259=nixpkgs-systemd-259.5"}
[ -x "$harness" ] || { echo "eval-all.sh: no harness at $harness (set NIX_EVAL_SH)" >&2; exit 2; }
if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
  echo "eval-all.sh: note: the harness evaluates the git tree; untracked files are not seen (git add them)" >&2
fi

failed=()
nix_() { flock "$lock" "$harness" "$@"; }
step() {
  local name=$1; shift
  echo "== $name: nix $*"
  local start=$SECONDS
  if nix_ "$@"; then echo "-- $name: ok ($((SECONDS - start)) s)"
  else echo "-- $name: FAILED ($((SECONDS - start)) s)"; failed+=("$name"); return 1; fi
}
group() {
  local g=$1 attr=".#legacyPackages.$system.drvPaths.$1"
  step "$g" eval --json "$attr" && return 0
  # Name every failing item of the group.
  local names
  names=$(nix_ eval --json "$attr" --apply 'x: if builtins.isAttrs x then builtins.attrNames x else [ ]' 2>/dev/null \
    | tr -d '[]"' | tr ',' ' ') || return 0
  for n in $names; do step "$g.$n" eval --json "$attr.\"$n\"" >/dev/null || true; done
}

step "flake check" flake check --no-build
step "flake show" flake show
for g in nixosConfigurations examples packages apps checks devShells formatter; do group "$g"; done

if [ ${#failed[@]} -gt 0 ]; then
  echo "eval-all.sh: failed: ${failed[*]}"
  exit 1
fi
echo "eval-all.sh: everything evaluated (NIX_EVAL_INPUTS=$NIX_EVAL_INPUTS)"
