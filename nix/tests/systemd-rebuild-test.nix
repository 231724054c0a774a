let
  h = import ./harness.nix;
  inherit (h) check run;
  r = import ../lib/systemd-rebuild.nix;
  f = import ../lib/systemd-flags.nix;
  inherit (builtins) elem length listToAttrs;

  all = listToAttrs (map (n: { name = n; value = true; }) (f.flags ++ f.attributes));
  formals = { stdenv = false; meson = false; gnutar = false; iptables = false; withLogind = true; withSelinux = true; };
  current = { stdenv = 1; meson = 1; gnutar = 1; };
  older = { stdenv = 1; meson = 1; gnutar = 1; iptables = 1; };
  a = r.arguments { inherit formals current older; };
  problems = extra: r.problems ({ inherit formals current older; exports = f.flags ++ f.attributes; currentSystemd = all; } // extra);
in
run [
  (check "arguments the current set has are taken from it"
    (a.fromCurrent == [ "gnutar" "meson" "stdenv" ]))
  (check "an argument only the older set has would leak in, and is named"
    (a.leaking == [ "iptables" ]))
  (check "an argument neither set has is fine with a default" (a.uncallable == [ ]))
  (check "without a default it is uncallable"
    ((r.arguments { formals = { libfoo = false; }; current = { }; older = { }; }).uncallable == [ "libfoo" ]))
  (check "a leaking argument stops the rebuild with a sentence naming it"
    (length (problems { }) == 1 && builtins.match ".*`iptables`.*" (builtins.head (problems { })) != null))
  (check "an expression whose arguments cannot be read stops it"
    (length (problems { formals = { }; }) == 1))
  (check "a flag the modules read that it neither takes nor exports stops it"
    (elem "it neither takes nor exports `withTpm2Units`, which NixOS modules read from systemd.package"
      (problems { older = current; formals = removeAttrs formals [ "iptables" ]; exports = [ ]; })))
  (check "nothing stops an expression the current set can call and that defines every flag"
    (problems { older = current; formals = removeAttrs formals [ "iptables" ]; } == [ ]))
]
