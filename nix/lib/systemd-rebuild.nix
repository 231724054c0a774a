# Which arguments an older systemd expression gets when it is rebuilt with
# the current package set (nix/systemd/rebuild.nix), and what stops it. Pure.
let
  inherit (builtins) attrNames filter map;
  flagsLib = import ./systemd-flags.nix;
in
rec {
  # formals: the expression's arguments (name -> has a default);
  # current, older: the two package sets (only tested with `?`).
  # fromCurrent: arguments callPackage would fill from the current set;
  # leaking: ones only the older set has, which its .override would keep;
  # uncallable: ones neither has and that have no default.
  arguments = { formals, current, older }:
    let names = attrNames formals; in {
      fromCurrent = filter (n: current ? ${n}) names;
      leaking = filter (n: !(current ? ${n}) && older ? ${n}) names;
      uncallable = filter (n: !(current ? ${n}) && !(older ? ${n}) && !formals.${n}) names;
    };

  # Everything that stops the rebuild, as sentences (empty: it can go ahead).
  problems = { formals, current, older, exports, currentSystemd }:
    let
      a = arguments { inherit formals current older; };
      flags = flagsLib.plan { inherit formals exports; current = currentSystemd; };
    in
    (if formals == { } then [ "its arguments cannot be read (lib.functionArgs of its .override is empty)" ] else [ ])
    ++ map (n: "it takes `${n}`, which the current nixpkgs does not have: the older package set's would be built in") a.leaking
    ++ map (n: "it needs `${n}`, which neither nixpkgs has") a.uncallable
    ++ map (f: "it neither takes nor exports `${f}`, which NixOS modules read from systemd.package") flags.undefined;
}
