# The shimboot NixOS module: NixOS as the userland of a ChromeOS shim kernel.
# One concern per file; options in options.nix.
{
  imports = [
    ./options.nix
    ./boot.nix
    ./systemd.nix
    ./first-boot.nix
    ./drivers.nix
    ./frecon.nix
    ./power.nix
    ./first-password.nix
  ];
}
