# Your NixOS system on the Chromebook. `nix run .#build-shimboot -- --shim
# shim.bin` builds it for the shim's board; the flake sets shimboot.board from
# the shim, so what follows is only what is yours.
{ config, lib, pkgs, ... }:
{
  # A headless start; see examples/desktop.nix for a graphical one.
  imports = [ ./examples/headless.nix ];

  # Only needed when you build this file yourself (lib.mkShimbootImage):
  shimboot.board = lib.mkDefault "dedede";
  # The bootloader lists this rootfs as "shimboot_rootfs:nixos".
  shimboot.rootfsName = "nixos";

  networking.hostName = "shimboot";
  time.timeZone = "UTC";

  users.users.nixos = {
    isNormalUser = true;
    extraGroups = [ "wheel" "networkmanager" "video" "audio" ];
    # Your public key(s). With none, the first boot asks for a password on the
    # screen (shimboot.firstBootPassword below) before anyone can log in.
    openssh.authorizedKeys.keys = [
      # "ssh-ed25519 AAAA... you@laptop"
    ];
  };
  # No default password is published: set one interactively on first boot
  # unless you log in with an SSH key.
  shimboot.firstBootPassword.user =
    if config.users.users.nixos.openssh.authorizedKeys.keys == [ ] then "nixos" else null;

  # SSH with keys only.
  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = false;
    settings.KbdInteractiveAuthentication = false;
    settings.PermitRootLogin = "no";
  };

  # Wi-Fi: NetworkManager. To join a network on first boot, copy
  # wifi-credentials.example.json to configuration/wifi-credentials.json
  # (git-ignored) and pass it to `shimboot build --wifi`: the CLI writes
  # /etc/NetworkManager/system-connections/*.nmconnection (mode 0600) into the
  # image. Nix never reads it, so no password enters the world-readable store.
  networking.networkmanager.enable = true;

  nix.settings.experimental-features = [ "nix-command" "flakes" ];

  system.stateVersion = "25.11";
}
