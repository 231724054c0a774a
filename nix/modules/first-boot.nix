# First boot of an image built by nix/rootfs: register the store, then grow
# the root to the drive (DESIGN.md §5).
{ config, lib, pkgs, ... }:
let cfg = config.shimboot; in
{
  # Stage 2 runs this before systemd, so nothing has used the store yet.
  boot.postBootCommands = ''
    if [ -f /nix-path-registration ]; then
      ${config.nix.package.out}/bin/nix-store --load-db < /nix-path-registration \
        && rm -f /nix-path-registration
    fi
  '';

  # A service, not stage 2: a failure here must not stop the boot, and the
  # journal keeps its output.
  systemd.services.shimboot-grow-root = lib.mkIf cfg.growRoot {
    description = "Grow the root partition and file system to the drive";
    wantedBy = [ "multi-user.target" ];
    after = [ "local-fs.target" ];
    unitConfig.ConditionPathExists = "!/var/lib/shimboot/root-grown";
    path = with pkgs; [ util-linux cloud-utils.guest e2fsprogs coreutils gawk gnused gnugrep ];
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };
    script = ''
      bash ${./grow-root.sh}
      mkdir -p /var/lib/shimboot && touch /var/lib/shimboot/root-grown
    '';
  };
}
