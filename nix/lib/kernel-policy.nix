# What follows from a shim kernel's version: pure functions, no nixpkgs.
# Used by the NixOS module, the rootfs builder and (as JSON) by the CLI.
let
  inherit (builtins) compareVersions;
  atLeast = kernel: v: compareVersions kernel v >= 0;
in
rec {
  # Newest systemd major that boots on this kernel (DESIGN.md §1.6):
  # < 5.4 → 257, 5.4–5.9 → 259, ≥ 5.10 → 260 (open_tree/move_mount).
  systemdCeiling = kernel:
    if !(atLeast kernel "5.4") then 257
    else if !(atLeast kernel "5.10") then 259
    else 260;

  # ext2 for the bootloader partition: features every shim kernel mounts.
  ext2Features = [ "ext_attr" "resize_inode" "dir_index" "filetype" "sparse_super" "large_file" ];

  # ext4 features named explicitly (never mke2fs.conf defaults, which change
  # between e2fsprogs releases): orphan_file needs 5.15; metadata_csum_seed is
  # rejected by the old ChromeOS 4.x kernels seen in the field.
  ext4Features = kernel:
    [ "has_journal" "ext_attr" "resize_inode" "dir_index" "filetype" "extent"
      "flex_bg" "sparse_super" "large_file" "huge_file" "dir_nlink"
      "extra_isize" "64bit" "metadata_csum" ]
    ++ (if atLeast kernel "5.4" then [ "metadata_csum_seed" ] else [ ])
    ++ (if atLeast kernel "5.15" then [ "orphan_file" ] else [ ]);

  # Everything the CLI needs to know about one kernel, as one attribute set.
  forKernel = kernel: {
    inherit kernel ext2Features;
    systemdCeiling = systemdCeiling kernel;
    ext4Features = ext4Features kernel;
  };
}
