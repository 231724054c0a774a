# What follows from a shim kernel's version: pure functions, no nixpkgs.
# Used by the NixOS module, the rootfs builder and by the CLI, which reads
# `rules` as JSON (nix/board-info.json) and applies them the same way:
# versions compared as builtins.compareVersions does, first match wins.
let
  inherit (builtins) compareVersions filter head map;
  atLeast = kernel: v: compareVersions kernel v >= 0;
in
rec {
  rules = {
    # Newest systemd major that boots on this kernel (DESIGN.md §1.6):
    # < 5.4 → 257, 5.4–5.9 → 259, ≥ 5.10 → 260 (open_tree/move_mount).
    systemdCeilings = [
      { below = "5.4"; ceiling = 257; }
      { below = "5.10"; ceiling = 259; }
    ];
    systemdCeilingOtherwise = 260;

    # ext2 for the bootloader partition: features every shim kernel mounts.
    ext2Features = [ "ext_attr" "resize_inode" "dir_index" "filetype" "sparse_super" "large_file" ];

    # ext4 features named explicitly (never mke2fs.conf defaults, which change
    # between e2fsprogs releases): orphan_file needs 5.15; metadata_csum_seed is
    # rejected by the old ChromeOS 4.x kernels seen in the field.
    ext4Features = [
      "has_journal" "ext_attr" "resize_inode" "dir_index" "filetype" "extent"
      "flex_bg" "sparse_super" "large_file" "huge_file" "dir_nlink"
      "extra_isize" "64bit" "metadata_csum"
    ];
    ext4FeaturesFrom = [
      { feature = "metadata_csum_seed"; kernel = "5.4"; }
      { feature = "orphan_file"; kernel = "5.15"; }
    ];

    # The first kernel release that mounts an ext4 file system carrying each
    # feature read-write (fs/ext4 history), for the images users bring. Two
    # follow the field instead: metadata_csum_seed (4.4 upstream) and
    # orphan_file are refused by the ChromeOS kernels below these releases.
    # Features missing here (compression, journal_dev, snapshot_bitmap, ...)
    # no kernel mounts.
    ext4FeatureSince = {
      ext_attr = "2.6.0"; resize_inode = "2.6.0"; dir_index = "2.6.0";
      filetype = "2.6.0"; sparse_super = "2.6.0"; large_file = "2.6.0";
      has_journal = "2.6.0"; meta_bg = "2.6.0";
      extent = "2.6.28"; flex_bg = "2.6.28"; huge_file = "2.6.28";
      dir_nlink = "2.6.28"; extra_isize = "2.6.28"; uninit_bg = "2.6.28";
      "64bit" = "2.6.28";
      mmp = "3.0"; bigalloc = "3.2"; quota = "3.6"; inline_data = "3.8";
      sparse_super2 = "3.16"; metadata_csum = "3.18"; encrypt = "4.1";
      project = "4.5"; ea_inode = "4.13"; large_dir = "4.13";
      casefold = "5.2"; verity = "5.4"; metadata_csum_seed = "5.4";
      stable_inodes = "5.5"; fast_commit = "5.10"; orphan_file = "5.15";
    };
  };

  systemdCeiling = kernel:
    let below = filter (r: !(atLeast kernel r.below)) rules.systemdCeilings;
    in if below == [ ] then rules.systemdCeilingOtherwise else (head below).ceiling;

  inherit (rules) ext2Features ext4FeatureSince;

  ext4Features = kernel:
    rules.ext4Features ++ map (r: r.feature) (filter (r: atLeast kernel r.kernel) rules.ext4FeaturesFrom);

  # What a kernel mounts: every feature whose first release it has reached.
  ext4Mountable = kernel:
    filter (f: atLeast kernel ext4FeatureSince.${f}) (builtins.attrNames ext4FeatureSince);

  # Everything the CLI needs to know about one kernel, as one attribute set.
  forKernel = kernel: {
    inherit kernel ext2Features;
    systemdCeiling = systemdCeiling kernel;
    ext4Features = ext4Features kernel;
    ext4Mountable = ext4Mountable kernel;
    inherit ext4FeatureSince;
  };
}
