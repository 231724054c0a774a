let
  h = import ./harness.nix;
  inherit (h) check throws run;
  s = import ../lib/systemd-choice.nix;
  policy = import ../lib/kernel-policy.nix;
  # What the flake offers: the current nixpkgs' systemd and two rebuilt older ones.
  offer = [
    { name = "nixpkgs"; major = 260; native = true; }
    { name = "nixpkgs-systemd257"; major = 257; }
    { name = "nixpkgs-systemd259"; major = 259; }
  ];
  pick = kernel: (s.choose { ceiling = policy.systemdCeiling kernel; candidates = offer; }).name;
in
run [
  (check "a 4.14 kernel gets systemd 257" (pick "4.14.91" == "nixpkgs-systemd257"))
  (check "a 4.4 kernel gets systemd 257" (pick "4.4.35" == "nixpkgs-systemd257"))
  (check "a 4.19 kernel gets systemd 257" (pick "4.19.84" == "nixpkgs-systemd257"))
  (check "a 5.4 kernel gets systemd 259, not 260" (pick "5.4.85" == "nixpkgs-systemd259"))
  (check "a 5.9 kernel gets systemd 259" (pick "5.9.16" == "nixpkgs-systemd259"))
  (check "a 5.10 kernel gets systemd 260" (pick "5.10.0" == "nixpkgs"))
  (check "a 5.15 kernel gets the newest systemd" (pick "5.15.74" == "nixpkgs"))
  (check "of two systemd 259, the current nixpkgs' own wins"
    ((s.choose { ceiling = 259; candidates = [ { name = "input"; major = 259; } { name = "nixpkgs"; major = 259; native = true; } ]; }).name == "nixpkgs"))
  (check "the native preference does not depend on the order offered"
    ((s.choose { ceiling = 259; candidates = [ { name = "nixpkgs"; major = 259; native = true; } { name = "input"; major = 259; } ]; }).name == "nixpkgs"))
  (check "a newer major wins over the native one"
    ((s.choose { ceiling = 260; candidates = [ { name = "nixpkgs"; major = 259; native = true; } { name = "input"; major = 260; } ]; }).name == "input"))
  (check "without a 259 on offer a 5.4 kernel falls back to 257"
    ((s.choose { ceiling = 259; candidates = [ { name = "nixpkgs"; major = 260; native = true; } { name = "old"; major = 257; } ]; }).name == "old"))
  (check "choosing from nothing that fits throws"
    (throws (s.choose { ceiling = 256; candidates = offer; })))
  (check "the major version is read from a version string" (s.major "257.9" == 257))
  (check "a bare major version is read" (s.major "260" == 260))
]
