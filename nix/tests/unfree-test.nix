let
  h = import ./harness.nix;
  inherit (h) check run;
  u = import ../lib/unfree.nix;
  allowed = u.names { board = "dedede"; shortRev = "0123456789ab"; };
  allows = u.allows allowed;
in
run [
  (check "the board's shim is allowed" (allows { name = "shimboot-dedede-shim.bin"; }))
  (check "the board's recovery image is allowed" (allows { name = "shimboot-dedede-recovery.bin"; }))
  (check "the board's disk image is allowed" (allows { name = "shimboot-dedede-0123456789ab"; }))
  (check "another board's shim is not" (!(allows { name = "shimboot-octopus-shim.bin"; })))
  (check "an unfree package in general is not" (!(allows { name = "steam-1.0"; pname = "steam"; })))
  (check "a package with no name is not" (!(allows { })))
]
