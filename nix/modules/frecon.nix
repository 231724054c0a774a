# ChromeOS's frecon-lite owns the display and /dev/console is a bind mount of
# its terminal (DESIGN.md §1.7): a display manager gets neither until frecon is
# stopped and the bind undone. Headless systems keep frecon as their console.
{ config, lib, pkgs, ... }:
lib.mkIf config.shimboot.stopFreconForDisplayManager {
  systemd.services.shimboot-stop-frecon = {
    description = "Hand the display from ChromeOS frecon to the display manager";
    wantedBy = [ "display-manager.service" ];
    before = [ "display-manager.service" ];
    path = with pkgs; [ procps util-linux ];
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };
    script = ''
      pkill -x frecon-lite || true
      pkill -x frecon || true
      if mountpoint -q /dev/console; then umount -l /dev/console; fi
    '';
  };
}
