# What shimboot builds from Google's proprietary files, by derivation name:
# the user's RMA shim (requireFile, which nixpkgs marks unfree), the official
# recovery image, and the disk image that carries both. The flake allows
# exactly these, never unfree packages in general. Pure.
{
  names = { board, shortRev }: [
    "shimboot-${board}-shim.bin"
    "shimboot-${board}-recovery.bin"
    "shimboot-${board}-${shortRev}"
  ];

  # For nixpkgs' config.allowUnfreePredicate.
  allows = allowed: pkg: builtins.elem (pkg.name or "") allowed;
}
