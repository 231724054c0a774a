# shimboot.* options. Defaults come from the board table (nix/boards.nix) and
# the pure helpers in nix/lib, so Nix and the CLI agree on every name.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  boards = import ../boards.nix;
  names = import ../lib/names.nix;
  cfg = config.shimboot;
in
{
  options.shimboot = {
    board = mkOption {
      type = types.nullOr (types.enum (builtins.attrNames boards));
      default = null;
      example = "dedede";
      description = ''
        The Chromebook board (nix/boards.nix). null for a board the table does
        not know: then set kernelVersion, and generic kernel-driven defaults apply.
      '';
    };
    kernelVersion = mkOption {
      type = types.str;
      default = if cfg.board == null then "" else boards.${cfg.board}.kernel;
      defaultText = lib.literalExpression "boards.\${shimboot.board}.kernel";
      example = "5.4.85";
      description = "Release of the shim's kernel; picks systemd and ext4 features.";
    };
    rootfsName = mkOption {
      type = types.str;
      default = "nixos";
      description = ''
        The rootfs's name: GPT partition name "shimboot_rootfs:<name>" (what the
        bootloader lists) and, cut to 16 bytes, the ext4 label NixOS mounts.
      '';
    };
    label = mkOption {
      type = types.str;
      readOnly = true;
      default = names.ext4Label cfg.rootfsName;
      description = "The ext4 label of the root filesystem (derived).";
    };
    gptName = mkOption {
      type = types.str;
      readOnly = true;
      default = names.gptName cfg.rootfsName;
      description = "The GPT partition name of the root filesystem (derived).";
    };
    firmwarePath = mkOption {
      type = types.str;
      default = "/lib/firmware";
      description = ''
        Where the kernel loads firmware from. `shimboot build` puts the shim's and
        the recovery image's firmware here (or bind-mounts the vendor partition).
      '';
    };
    growRoot = mkOption {
      type = types.bool;
      default = true;
      description = "Grow the root partition and filesystem to the USB drive on first boot.";
    };
    stopFreconForDisplayManager = mkOption {
      type = types.bool;
      default = true;
      description = "Stop ChromeOS frecon and free /dev/console before a display manager starts.";
    };
    systemd = {
      offered = mkOption {
        type = types.attrsOf types.package;
        example = lib.literalExpression "{ nixpkgs = pkgs.systemd; }";
        description = ''
          Unpatched systemd packages to choose from, by name. The newest whose major
          version is within the kernel's ceiling is patched and used (nix/lib/systemd-choice.nix).
          The flake adds systemd 257 from its older nixpkgs input.
        '';
      };
      chosen = mkOption {
        type = types.str;
        readOnly = true;
        description = "Name (in offered) of the systemd this system runs.";
      };
    };
  };

  config = {
    # A definition, not the option default, so that other modules (the flake)
    # can add systems beside it.
    shimboot.systemd.offered.nixpkgs = lib.mkDefault pkgs.systemd;

    assertions = [
      {
        assertion = cfg.kernelVersion != "";
        message = "shimboot: set shimboot.board, or shimboot.kernelVersion for a board nix/boards.nix does not know.";
      }
      {
        assertion = names.isValidName cfg.rootfsName;
        message = "shimboot.rootfsName '${cfg.rootfsName}' must be 1-${toString names.maxNameLength} characters of A-Z a-z 0-9 . _ + -";
      }
    ];
    warnings = lib.optional (cfg.board == null && cfg.kernelVersion != "")
      "shimboot: board not in nix/boards.nix; using generic defaults for kernel ${cfg.kernelVersion}.";
  };
}
