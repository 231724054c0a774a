# Which systemd a board gets (DESIGN.md §1.6): the newest one on offer whose
# major version is within the shim kernel's ceiling (kernel-policy.nix
# systemdCeiling). Pure: the flake passes the majors it actually carries
# (read from each nixpkgs' systemd.version), so nothing here hard-codes what
# a nixpkgs revision ships.
let
  inherit (builtins) filter foldl' toJSON;
in
{
  # candidates: [ { name = "nixpkgs"; major = 260; } ... ]
  # returns the chosen candidate, or throws naming the ceiling.
  choose = { ceiling, candidates }:
    let
      fitting = filter (c: c.major <= ceiling) candidates;
      newest = foldl' (best: c: if best == null || c.major > best.major then c else best) null fitting;
    in
    if newest == null then
      throw "shimboot: no systemd at or below ${toString ceiling} among ${toJSON candidates}"
    else newest;

  # "257.9" -> 257
  major = version: builtins.fromJSON (builtins.head (builtins.match "([0-9]+).*" version));
}
