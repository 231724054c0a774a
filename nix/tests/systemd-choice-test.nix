let
  h = import ./harness.nix;
  inherit (h) check throws run;
  s = import ../lib/systemd-choice.nix;
  policy = import ../lib/kernel-policy.nix;
  offer = [ { name = "nixpkgs"; major = 260; } { name = "nixpkgs-systemd257"; major = 257; } ];
  pick = kernel: (s.choose { ceiling = policy.systemdCeiling kernel; candidates = offer; }).name;
in
run [
  (check "a 4.14 kernel gets systemd 257 from the older nixpkgs" (pick "4.14.91" == "nixpkgs-systemd257"))
  (check "a 4.4 kernel gets systemd 257" (pick "4.4.35" == "nixpkgs-systemd257"))
  (check "a 5.4 kernel does not get systemd 260" (pick "5.4.85" == "nixpkgs-systemd257"))
  (check "a 5.10 kernel gets systemd 260" (pick "5.10.0" == "nixpkgs"))
  (check "a 5.15 kernel gets the newest systemd" (pick "5.15.74" == "nixpkgs"))
  (check "a 5.4 kernel gets 259 when the newer nixpkgs carries 259"
    ((s.choose { ceiling = 259; candidates = [ { name = "new"; major = 259; } { name = "old"; major = 257; } ]; }).name == "new"))
  (check "choosing from nothing that fits throws"
    (throws (s.choose { ceiling = 256; candidates = offer; })))
  (check "the major version is read from a version string" (s.major "257.9" == 257))
  (check "a bare major version is read" (s.major "260" == 260))
]
