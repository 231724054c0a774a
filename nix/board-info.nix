# What the CLI knows from Nix, as one value: the board table with each
# board's kernel policy, and the policy rules for any other kernel. It is
# nix/board-info.json (the package writes it at build time; the checked-in
# copy serves a source checkout, and test/nix.test.ts keeps the two equal:
# `npm run board-info` rewrites it). With `kernel`, also that kernel's policy.
{ kernel ? null }:
let
  boards = import ./boards.nix;
  policy = import ./lib/kernel-policy.nix;
in
{
  boards = builtins.mapAttrs (name: b: b // { policy = policy.forKernel b.kernel; }) boards;
  policyRules = policy.rules;
} // (if kernel == null then { } else { policy = policy.forKernel kernel; })
