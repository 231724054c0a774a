# PID 1: the newest offered systemd within the shim kernel's ceiling
# (nix/lib/kernel-policy.nix systemdCeiling), with mount_nofollow() patched,
# and the NixOS unit lists made to fit it: units newer systemd versions add
# are filtered out (systemd.suppressedSystemUnits), wants directories NixOS
# always lists are stubbed empty, and the result is checked against what the
# version installs (nix/lib/systemd-units.nix) before anything is built.
{ config, lib, ... }:
let
  cfg = config.shimboot;
  choice = import ../lib/systemd-choice.nix;
  policy = import ../lib/kernel-policy.nix;
  units = import ../lib/systemd-units.nix;
  ceiling = policy.systemdCeiling cfg.kernelVersion;
  candidates = lib.mapAttrsToList (name: p: {
    inherit name;
    major = choice.major p.version;
    native = name == "nixpkgs";
  }) cfg.systemd.offered;
  chosen = choice.choose { inherit ceiling candidates; };
  base = cfg.systemd.offered.${chosen.name};
  gaps = units.newerOnly base.version;

  # What generateUnits will copy, read from its build scripts.
  script = type: units.fromGenerateUnits
    (builtins.unsafeDiscardStringContext config.environment.etc."systemd/${type}".source.buildCommand);
  required = { system = script "system"; user = script "user"; };
  # Compared with the package the system runs, whatever chose it.
  missing = units.missing {
    inherit (config.systemd.package) version;
    stubWants = config.systemd.package.shimbootStubWants or [ ];
  } required;
  package = builtins.unsafeDiscardStringContext config.systemd.package.outPath;
in
{
  options.shimboot.systemd.report = lib.mkOption {
    type = lib.types.raw;
    readOnly = true;
    internal = true;
    description = "The systemd choice and the unit comparison, for checks.";
  };

  config = {
    shimboot.systemd.chosen = chosen.name;
    systemd.package = import ../systemd { systemd = base; stubWants = gaps.systemWants; };
    systemd.suppressedSystemUnits = gaps.system;

    shimboot.systemd.report = {
      inherit ceiling candidates missing;
      chosen = chosen.name;
      version = base.version;
      data = { inherit (units.dataFor base.version) tag commit; };
      suppressed = gaps.system;
      stubWants = gaps.systemWants;
      ok = units.nothingMissing missing && required.system.package == package && required.user.package == package;
    };

    assertions = [
      {
        assertion = config.systemd.package.shimbootMountNofollowPatched or false;
        message = "shimboot: systemd.package must be built by nix/systemd (mount_nofollow patch); an unpatched systemd hangs at 'Failed to mount API filesystems' on a shim kernel.";
      }
      {
        assertion = choice.major config.systemd.package.version <= ceiling;
        message = "shimboot: systemd ${config.systemd.package.version} is newer than kernel ${cfg.kernelVersion} can run.";
      }
      {
        assertion = units.nothingMissing missing;
        message = "shimboot: ${units.describe config.systemd.package.version missing}";
      }
      {
        assertion = required.system.package == package && required.user.package == package;
        message = "shimboot: /etc/systemd units are copied from ${required.system.package}, not from systemd.package (${package}).";
      }
    ];
  };
}
