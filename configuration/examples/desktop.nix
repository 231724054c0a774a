# A light desktop: LightDM + Xfce. shimboot stops ChromeOS frecon and frees
# /dev/console before the display manager starts (nix/modules/frecon.nix).
{ pkgs, ... }:
{
  services.xserver.enable = true;
  services.xserver.displayManager.lightdm.enable = true;
  services.xserver.desktopManager.xfce.enable = true;
  services.pipewire = { enable = true; pulse.enable = true; };
  environment.systemPackages = with pkgs; [ firefox ];
}
