# Kernel modules and firmware come from the shim and recovery images, not
# from nixpkgs (DESIGN.md §1.5). `shimboot build` puts them in the rootfs at
# /lib/modules/<uname -r>/ (decompressed, depmod'd), /lib/firmware/ and
# /lib/modprobe.d/; with --drivers vendor the bootloader bind-mounts a vendor
# partition onto /lib/modules and /lib/firmware before exec'ing init.
#
# NixOS's kmod searches /run/booted-system/kernel-modules/lib/modules, then
# /run/current-system/..., then /lib/modules (pkgs/os-specific/linux/kmod,
# mesonOption modulesdirs). With boot.kernel.enable = false the first two
# hold no tree for the shim's release, so /lib/modules is found. MODULE_DIR
# is also set, for kmod builds whose module-dir patch reads it, and forced
# where NixOS points it at /run/booted-system.
{ config, lib, pkgs, ... }:
let
  cfg = config.shimboot;
  moduleDir = "/lib/modules";
in
{
  systemd.globalEnvironment.MODULE_DIR = moduleDir;
  environment.sessionVariables.MODULE_DIR = moduleDir;
  systemd.services.systemd-udevd.environment.MODULE_DIR = lib.mkForce moduleDir;
  systemd.services.systemd-modules-load.environment.MODULE_DIR = lib.mkForce moduleDir;

  # NixOS points the firmware loader at a store path (hardware.firmware).
  # ChromeOS LoadPin pins module and firmware loading to the first file system
  # used: with a vendor partition that must be the vendor one, never the root,
  # so the loader is pointed at /lib/firmware before udev or modules-load run.
  systemd.services.shimboot-firmware-path = {
    description = "Point the kernel's firmware loader at ${cfg.firmwarePath}";
    wantedBy = [ "sysinit.target" ];
    before = [ "sysinit.target" "systemd-udevd.service" "systemd-modules-load.service" ];
    unitConfig.DefaultDependencies = false;
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };
    script = ''
      p=/sys/module/firmware_class/parameters/path
      if [ -w "$p" ]; then echo -n ${lib.escapeShellArg cfg.firmwarePath} > "$p"; fi
    '';
  };

  # The recovery image's modprobe.d (blacklists, options) lives in
  # /lib/modprobe.d, which NixOS's kmod may not read: link each file into
  # /etc/modprobe.d (links outside /etc/static survive NixOS's /etc updates).
  system.activationScripts.shimbootModprobe = ''
    mkdir -p /etc/modprobe.d
    for f in /lib/modprobe.d/*.conf; do
      [ -e "$f" ] || continue
      ln -sfn "$f" "/etc/modprobe.d/shimboot-''${f##*/}"
    done
  '';
}
