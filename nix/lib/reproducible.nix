# Fixed identifiers for a bit-reproducible ext4 image (DESIGN.md §4): mke2fs
# picks a random UUID and htree hash seed unless told; both are derived here
# from a seed string (the image's inputs), in the UUID text form mke2fs takes.
let
  inherit (builtins) hashString substring;
  uuidOf = text:
    let h = hashString "sha256" text; in
    # version 4 / variant 1 bits set, so tools that validate UUIDs accept it
    "${substring 0 8 h}-${substring 8 4 h}-4${substring 13 3 h}-8${substring 17 3 h}-${substring 20 12 h}";
in
{
  inherit uuidOf;
  fsUuid = seed: uuidOf "shimboot-fs-uuid:${seed}";
  hashSeed = seed: uuidOf "shimboot-hash-seed:${seed}";
  # mke2fs -O value: start from nothing so e2fsprogs defaults never leak in.
  featureArg = features: builtins.concatStringsSep "," ([ "none" ] ++ features);
}
