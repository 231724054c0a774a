# A small headless system: console (ChromeOS frecon stays the text console),
# SSH, NetworkManager's nmtui, a few tools.
{ pkgs, ... }:
{
  environment.systemPackages = with pkgs; [ vim git htop curl networkmanager ];
  services.openssh.enable = true;
  # No display manager, so frecon is never stopped.
}
