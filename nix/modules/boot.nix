# The boot contract (DESIGN.md §1.4, §5): the shim's kernel and the shimboot
# bootloader do what NixOS's kernel, initrd and bootloader would. The
# bootloader pivot_roots into this filesystem with /proc /sys /dev already
# mounted (old root at /bootloader) and execs /sbin/init or a generation's init.
{ config, lib, pkgs, ... }:
let
  cfg = config.shimboot;
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
  boot.initrd.enable = false;
  # With an initrd-less boot the generation's `init` must be stage 2, which
  # top-level.nix installs only when systemd stage 1 is off.
  boot.initrd.systemd.enable = false;

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

  # Kernel parameters never reach the shim's kernel (DESIGN.md §1.7).
  warnings = lib.optional (config.boot.kernelParams != [ ])
    "shimboot: boot.kernelParams is ignored: the shim's signed kernel command line cannot change.";
}
