# PID 1: the newest offered systemd within the shim kernel's ceiling
# (nix/lib/kernel-policy.nix systemdCeiling), with mount_nofollow() patched.
{ config, lib, ... }:
let
  cfg = config.shimboot;
  choice = import ../lib/systemd-choice.nix;
  policy = import ../lib/kernel-policy.nix;
  candidates = lib.mapAttrsToList (name: p: { inherit name; major = choice.major p.version; }) cfg.systemd.offered;
  chosen = choice.choose { ceiling = policy.systemdCeiling cfg.kernelVersion; inherit candidates; };
in
{
  shimboot.systemd.chosen = chosen.name;
  systemd.package = import ../systemd { systemd = cfg.systemd.offered.${chosen.name}; };

  assertions = [
    {
      assertion = config.systemd.package.shimbootMountNofollowPatched or false;
      message = "shimboot: systemd.package must be built by nix/systemd (mount_nofollow patch); an unpatched systemd hangs at 'Failed to mount API filesystems' on a shim kernel.";
    }
    {
      assertion = choice.major config.systemd.package.version <= policy.systemdCeiling cfg.kernelVersion;
      message = "shimboot: systemd ${config.systemd.package.version} is newer than kernel ${cfg.kernelVersion} can run.";
    }
  ];
}
