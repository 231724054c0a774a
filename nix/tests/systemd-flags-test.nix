let
  h = import ./harness.nix;
  inherit (h) check run;
  f = import ../lib/systemd-flags.nix;
  inherit (builtins) elem listToAttrs;

  # The current systemd exports every flag and attribute the modules read.
  current = listToAttrs (map (n: { name = n; value = true; }) f.flags)
    // { interfaceVersion = 2; util-linux = "u"; kmod = "k"; kbd = "b"; withLogind = false; };
  # An expression like nixpkgs' systemd 257.8: it takes withLogind, withNspawn
  # and withRepart but does not export them.
  formals257 = listToAttrs (map (n: { name = n; value = true; })
    (builtins.filter (n: n != "withTpm2Units") f.flags)) // { stdenv = false; };
  exports257 = builtins.filter (n: !elem n [ "withLogind" "withNspawn" "withRepart" ]) (f.flags ++ f.attributes);
  p257 = f.plan { formals = formals257; exports = exports257; current = current; };
in
run [
  (check "every flag the expression takes is passed the current package's value"
    (p257.args.withLogind == false && p257.args.withBootloader == true && !(p257.args ? withTpm2Units)))
  (check "flags it takes but does not export are added to its passthru"
    (builtins.attrNames p257.passthru == [ "withLogind" "withNspawn" "withRepart" ]))
  (check "nothing is left undefined for such an expression" (p257.undefined == [ ]))
  (check "a flag neither taken nor exported is reported"
    ((f.plan { formals = { }; exports = f.attributes; inherit current; }).undefined == f.flags))
  (check "an attribute the modules read that is not exported is reported"
    (elem "interfaceVersion" (f.plan { formals = formals257; exports = f.flags; inherit current; }).undefined))
  (check "a flag the current package does not export is not asked of the older one"
    ((f.plan { formals = { }; exports = f.attributes; current = { withEfi = true; }; }).undefined == [ "withEfi" ]))
  (check "the list covers the flags read by systemd.nix, logind.nix, sysupdate.nix and tpm2.nix"
    (builtins.all (n: elem n f.flags) [ "withTpm2Units" "withLogind" "withSysupdate" "withNspawn" "withRepart" "withFido2" ]))
]
