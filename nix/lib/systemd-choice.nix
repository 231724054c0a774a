# Which systemd a board gets (DESIGN.md §1.6): the newest one on offer whose
# major version is within the shim kernel's ceiling (kernel-policy.nix
# systemdCeiling). Pure: the flake passes the majors it actually carries
# (read from each package's version), so nothing here hard-codes what a
# nixpkgs revision ships.
let
  inherit (builtins) filter foldl' toJSON;
  # Newer wins; of equal majors the current nixpkgs' own systemd wins, as
  # it is the one the binary cache and the modules were made for.
  better = a: b: a.major > b.major || (a.major == b.major && (a.native or false) && !(b.native or false));
in
{
  # candidates: [ { name = "nixpkgs"; major = 260; native = true; } ... ]
  # returns the chosen candidate, or throws naming the ceiling.
  choose = { ceiling, candidates }:
    let
      fitting = filter (c: c.major <= ceiling) candidates;
      newest = foldl' (best: c: if best == null || better c best then c else best) null fitting;
    in
    if newest == null then
      throw "shimboot: no systemd at or below ${toString ceiling} among ${toJSON candidates}"
    else newest;

  # "257.9" -> 257
  major = version: builtins.fromJSON (builtins.head (builtins.match "([0-9]+).*" version));
}
