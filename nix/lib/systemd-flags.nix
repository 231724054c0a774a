# The passthru attributes NixOS modules read from config.systemd.package,
# and how an older systemd expression is made to define them. Pure.
#
# Read from nixpkgs 26.11-pre (nixpkgs-slim 47ec8b02) by grepping nixos/modules
# for config.systemd.package.*, boot.initrd.systemd.package.* (which defaults
# to it) and cfg.package.* where cfg is config.systemd:
#   system/boot/systemd.nix    withBootloader withCryptsetup withEfi withHostnamed
#                              withImportd withLocaled withMachined withNspawn
#                              withPortabled withRepart withTimedated withTpm2Units
#                              withUtmp util-linux
#   system/boot/systemd/logind.nix    withLogind withImportd withMachined
#   system/boot/systemd/fido2.nix     withFido2
#   system/boot/systemd/sysupdate.nix withSysupdate
#   system/boot/systemd/tpm2.nix      withTpm2Units
#   system/boot/systemd/initrd.nix    withEfi kmod util-linux
#   config/console.nix                kbd
#   system/activation/top-level.nix   interfaceVersion
let
  inherit (builtins) elem filter listToAttrs;
in
rec {
  # Boolean features the modules branch on.
  flags = [
    "withBootloader" "withCryptsetup" "withEfi" "withFido2" "withHostnamed"
    "withImportd" "withLocaled" "withLogind" "withMachined" "withNspawn"
    "withPortabled" "withRepart" "withSysupdate" "withTimedated" "withTpm2Units"
    "withUtmp"
  ];
  # Other attributes the modules read; an older expression must export them.
  attributes = [ "interfaceVersion" "util-linux" "kmod" "kbd" ];

  # How to call an older expression so that it builds the current package's
  # features and says so.
  #   formals: lib.functionArgs of the older expression (name -> has default)
  #   exports: passthru attribute names of the older package
  #   current: the current systemd package (its values are copied; a flag it
  #     does not export is one the current modules do not read either)
  # args: flag arguments to pass (every flag the expression takes, so the
  #   older build has the current feature set); passthru: flags it takes but
  #   does not export; undefined: what the modules read that it neither takes
  #   nor exports (must be empty).
  plan = { formals, exports, current }:
    let
      read = filter (f: current ? ${f}) flags;
      taken = filter (f: formals ? ${f}) read;
      unexported = filter (f: !elem f exports) read;
      pick = names: listToAttrs (map (f: { name = f; value = current.${f}; }) names);
    in {
      args = pick taken;
      passthru = pick (filter (f: elem f taken) unexported);
      undefined = filter (f: !(formals ? ${f})) unexported
        ++ filter (a: !elem a exports) attributes;
    };
}
