# The boot contract (DESIGN.md §1.4, §5): the shim's kernel and the shimboot
# bootloader do what NixOS's kernel, initrd and bootloader would. The
# bootloader pivot_roots into this filesystem with /proc /sys /dev already
# mounted (old root at /bootloader) and execs /sbin/init or a generation's init.
{ config, lib, pkgs, options, modulesPath, ... }:
let
  cfg = config.shimboot;
  # Kernel parameters set outside NixOS's own modules, which add some of
  # their own (loglevel= from boot.consoleLogLevel, ...) that nobody can act on.
  userKernelParamDefs = lib.filter
    (d: !lib.hasPrefix (toString modulesPath + "/") d.file && lib.toList d.value != [ ])
    options.boot.kernelParams.definitionsWithLocations;
  userKernelParams = lib.concatMap (d: lib.toList d.value) userKernelParamDefs;
  # Stage 2 mounts /run (and the other early file systems) only when /proc is
  # not mounted yet (stage-2-init.sh: `[ ! -e /proc/1 ]`). Under shimboot it
  # is, so stage 2 would write /run/booted-system, /run/wrappers and
  # /run/current-system onto the disk, and systemd would then hide them under
  # its own /run tmpfs. Mounting /run first keeps them.
  runPrelude = pkgs.writeText "shimboot-run-prelude.sh" ''
    # shimboot-run-prelude (nix/modules/boot.nix)
    if ! ${pkgs.util-linux}/bin/mountpoint -q /run; then
      ${pkgs.coreutils}/bin/mkdir -p /run
      ${pkgs.util-linux}/bin/mount -t tmpfs -o mode=0755,nosuid,nodev,strictatime,size=25% tmpfs /run
    fi
  '';
in
{
  boot.loader.grub.enable = false;
  # Keeps /sbin/init pointing at the current generation on nixos-rebuild
  # (nixos/modules/system/boot/loader/init-script/init-script.nix).
  boot.loader.initScript.enable = true;
  boot.kernel.enable = false;
  # No initrd: top-level.nix then makes the generation's `init` the stage-2
  # script (activation, then exec systemd), as for NixOS containers. With an
  # initrd and systemd stage 1 (the default since 26.05) `init` would be
  # systemd itself and activation would run in the initrd, which the shim
  # never boots. boot.initrd.systemd.enable is not set: without an initrd
  # it changes nothing (same toplevel), and scripted stage 1 is scheduled
  # for removal (docs/nix.md, "The hand-off").
  boot.initrd.enable = false;

  fileSystems."/" = {
    device = "/dev/disk/by-label/${cfg.label}";
    fsType = "ext4";
  };

  # Put the prelude at the top of this generation's init (top-level.nix copies
  # stage 2 to $out/init before running systemBuilderCommands).
  system.systemBuilderCommands = ''
    sed -i '1a . ${runPrelude}' $out/init
    grep -q '${runPrelude}' $out/init
  '';

  assertions = [{
    assertion = !config.boot.initrd.enable;
    message = "shimboot: boot.initrd.enable must stay false: with an initrd, the generation's init is systemd and activation runs in an initrd the shim never boots.";
  }];

  # Kernel parameters never reach the shim's kernel (DESIGN.md §1.7).
  warnings = lib.optional (userKernelParams != [ ])
    "shimboot: boot.kernelParams ${toString userKernelParams} (set in ${lib.concatMapStringsSep ", " (d: d.file) userKernelParamDefs}) will not reach the kernel: the shim's signed kernel command line cannot change.";
}
