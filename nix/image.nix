# A whole shimboot disk image as a derivation (DESIGN.md §2, §6): the user's
# shim (requireFile: never redistributable), the board's official recovery
# image (fetchurl, unzipped), the rootfs from nix/rootfs, assembled by the
# CLI inside the sandbox. The store path changes with the flake revision.
# The shim, the recovery image and the image itself are unfree (Google's
# proprietary kernel and firmware): call this with a package set that allows
# exactly them (nix/lib/unfree.nix).
{ lib, runCommand, requireFile, fetchurl, unzip, shimboot }:
{ board                 # board name, as `shimboot build --board` takes it
, boardInfo ? null      # its nix/boards.nix entry, or null for an unknown board
, rootfs                # nix/rootfs output (an ext4 image file)
, shim ? null           # path to the shim .bin; default: requireFile with the pinned hash
, recovery ? null       # path to a recovery .bin, false for none; default: the official one
, flakeRev ? "unknown"
}:
let
  shimName = "shimboot-${board}-shim.bin";
  shimFile =
    if shim != null then shim
    else if boardInfo == null then throw "shimboot: board ${board} has no pinned shim hash; pass shim = ./path/to/shim.bin"
    else requireFile {
      name = shimName;
      hash = boardInfo.shim.sha256;
      meta.description = "The ${board} RMA shim (user supplied; requireFile marks it unfree)";
      message = ''
        The ${board} RMA shim is not redistributable, so Nix cannot download it.
        Put your copy (the unzipped .bin) in the store under the expected name:

          cp /path/to/your-shim.bin ${shimName}
          nix-store --add-fixed sha256 ${shimName}

        Its SHA-256 must be ${boardInfo.shim.sha256}.
      '';
    };
  officialRecovery = runCommand "shimboot-${board}-recovery.bin" {
    nativeBuildInputs = [ unzip ];
    meta = {
      description = "The official ${board} recovery image, unzipped";
      license = lib.licenses.unfree;
    };
  } ''
    unzip -p ${fetchurl { inherit (boardInfo.recovery) url; hash = boardInfo.recovery.sha256; }} > $out
  '';
  recoveryFile =
    if recovery == false then null
    else if recovery != null then recovery
    else if boardInfo == null then null
    else officialRecovery;
  shortRev = builtins.substring 0 12 flakeRev;
in
runCommand "shimboot-${board}-${shortRev}" {
  nativeBuildInputs = [ shimboot ];
  passthru = { inherit shimFile recoveryFile rootfs; };
  meta = {
    description = "A shimboot USB image for ${board}";
    # It carries the shim's signed kernel and Google's firmware.
    license = lib.licenses.unfree;
  };
} ''
  export HOME=$TMPDIR
  mkdir -p $out
  shimboot build \
    --shim ${shimFile} \
    ${lib.optionalString (recoveryFile != null) "--recovery ${recoveryFile}"} \
    --rootfs ${rootfs} \
    --board ${lib.escapeShellArg board} \
    --out $out/shimboot-${board}.bin \
    ${lib.optionalString (flakeRev != "unknown") "--flake-rev ${lib.escapeShellArg flakeRev}"}
''
