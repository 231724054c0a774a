# Entry point for the CLI (nix-instantiate --eval --strict --json): the board
# table with each board's kernel policy, plus the policy for any kernel version
# (for boards the table does not know).
{ kernel ? null }:
let
  boards = import ./boards.nix;
  policy = import ./lib/kernel-policy.nix;
in
{
  boards = builtins.mapAttrs (name: b: b // { policy = policy.forKernel b.kernel; }) boards;
  policy = if kernel == null then null else policy.forKernel kernel;
}
