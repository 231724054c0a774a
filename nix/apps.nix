# `nix run` entry points. build-shimboot builds the rootfs for the board
# (given, or read from the shim by `shimboot inspect --json`) and hands store
# paths to `shimboot build` as arguments: `nix build --json` and jq, never
# text scraped from build logs.
{ writeShellApplication, jq, nix, shimboot, flakeRef, flakeRev }:
let
  nixCmd = "nix --extra-experimental-features 'nix-command flakes'";
  passThrough = verb: description: writeShellApplication {
    name = "shimboot-${verb}";
    runtimeInputs = [ shimboot ];
    text = ''exec shimboot ${verb} "$@"'';
    meta.description = description;
  };
in
{
  build-shimboot = writeShellApplication {
    name = "build-shimboot";
    runtimeInputs = [ jq nix shimboot ];
    meta.description = "Build the NixOS rootfs for a shim's board and assemble its shimboot image";
    text = ''
      usage() { echo "usage: nix run .#build-shimboot -- --shim SHIM.bin [--board B] [--out FILE] [--recovery FILE|--no-recovery]" >&2; exit 2; }
      shim="" board="" out="" recovery="" official=1
      while [ $# -gt 0 ]; do
        case $1 in
          --shim) shim=$2; shift 2 ;;
          --board) board=$2; shift 2 ;;
          --out) out=$2; shift 2 ;;
          --recovery) recovery=$2; shift 2 ;;
          --no-recovery) official=0; shift ;;
          -h|--help) usage ;;
          *) echo "unknown argument: $1" >&2; usage ;;
        esac
      done
      [ -n "$shim" ] || usage
      if [ -z "$board" ]; then
        board=$(shimboot inspect --json --no-hash "$shim" | jq -er '.board.name')
        echo "board from the shim: $board" >&2
      fi
      out=''${out:-shimboot-$board.bin}

      # Store paths from nix build's JSON, one output each.
      build() { ${nixCmd} build --no-link --json "${flakeRef}#$1" | jq -er '.[0].outputs.out'; }
      if ! rootfs=$(build "rootfs-$board"); then
        echo "no rootfs-$board in this flake: add the board to nix/boards.nix, or build your own with lib.mkShimbootImage" >&2
        exit 1
      fi
      args=(--shim "$shim" --rootfs "$rootfs" --board "$board" --out "$out")
      ${if flakeRev != "unknown" then ''args+=(--flake-rev "${flakeRev}")'' else ""}
      if [ -n "$recovery" ]; then
        args+=(--recovery "$recovery")
      elif [ "$official" = 1 ]; then
        args+=(--recovery "$(build "recovery-$board")")
      fi
      exec shimboot build "''${args[@]}"
    '';
  };
  inspect = passThrough "inspect" "Identify a shim, recovery or shimboot image (shimboot inspect)";
  verify = passThrough "verify" "Check a shimboot image against the disk image contract (shimboot verify)";
  flash = passThrough "flash" "Write a verified shimboot image to a USB drive (shimboot flash)";
}
