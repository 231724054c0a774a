# systemd from an older nixpkgs revision, built with the current package set:
# the older revision's own expression (its patches are rebased to its systemd
# version, its meson flags name that version's options), called with the
# current stdenv, glibc and libraries, so PID 1 and the NSS and PAM modules
# every process loads share one glibc with the rest of the system.
#
# callPackage semantics: every argument the expression takes comes from the
# current package set (nix/lib/systemd-rebuild.nix). It is applied through
# the older package's .override so that overlays on that revision (such as
# nix-eval's relabelling) still apply; an argument the current set lacks
# would silently come from the older set, so that is refused instead.
{ lib, pkgs }:
{ name, olderPkgs }:
let
  flagsLib = import ../lib/systemd-flags.nix;
  rebuildLib = import ../lib/systemd-rebuild.nix;
  older = olderPkgs.systemd;
  formals = lib.functionArgs older.override;
  exports = lib.filter (a: older ? ${a}) (flagsLib.flags ++ flagsLib.attributes);
  flags = flagsLib.plan { inherit formals exports; current = pkgs.systemd; };
  arguments = rebuildLib.arguments { inherit formals; current = pkgs; older = olderPkgs; };
  problems = rebuildLib.problems {
    inherit formals exports;
    current = pkgs;
    older = olderPkgs;
    currentSystemd = pkgs.systemd;
  };

  args = lib.genAttrs arguments.fromCurrent (n: pkgs.${n})
    # all-packages.nix calls systemd with util-linux = util-linuxMinimal (a
    # dependency cycle otherwise); the current systemd exports what it got.
    // lib.intersectAttrs formals { util-linux = pkgs.systemd.util-linux or pkgs.util-linuxMinimal; }
    // flags.args;

  message = "shimboot: the systemd ${older.version} expression of ${name} cannot be built with the current nixpkgs:\n  ${lib.concatStringsSep "\n  " problems}";
in
# The problems surface when the package is instantiated (its drvPath), not
# when its version is read: a board that does not choose it is not stopped.
(older.override (if problems == [ ] then args else { })).overrideAttrs (prev: {
  shimbootRebuildProblems = if problems == [ ] then null else throw message;
  passthru = (prev.passthru or { }) // flags.passthru // {
    shimbootRebuild = {
      inherit name problems;
      olderVersion = older.version;
      # Patches the expression lists that are files (fetched ones are derivations).
      missingPatches = lib.filter (p: !(lib.isDerivation p) && !(builtins.pathExists p)) (prev.patches or [ ]);
      argumentsFromCurrent = arguments.fromCurrent;
    };
  };
})
