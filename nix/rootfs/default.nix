# The NixOS root filesystem as an ext4 image file, built without root and
# bit-reproducibly (DESIGN.md §4, §5). Modelled on nixpkgs'
# nixos/lib/make-ext4-fs.nix (closureInfo, mkfs -d, /nix-path-registration
# for nix-store --load-db on first boot), but with a fixed UUID and hash
# seed, pinned timestamps, explicit ext4 features, and one pass over the
# closure: no staging copy of the store and no shrinking afterwards
# (make-ext4.sh streams it into mke2fs -d as a tarball, sized beforehand).
{ lib, stdenvNoCC, closureInfo, e2fsprogs, gnutar, coreutils, findutils, gawk, gnused }:
{ toplevel, label, ext4Features, name ? "nixos-rootfs" }:
let
  repro = import ../lib/reproducible.nix;
  closure = closureInfo { rootPaths = [ toplevel ]; };
  features = repro.featureArg ext4Features;
  # Everything that decides the image's bytes, so equal inputs give equal
  # identifiers and different systems never share a UUID.
  seed = builtins.unsafeDiscardStringContext "${toplevel}|${label}|${features}";
  uuid = repro.fsUuid seed;
  hashSeed = repro.hashSeed seed;
in
stdenvNoCC.mkDerivation {
  name = "${name}.ext4";
  # e2fsprogs >= 1.47.1 reads a tarball with mke2fs -d (nixpkgs builds it
  # --with-libarchive=direct).
  nativeBuildInputs = [ e2fsprogs gnutar coreutils findutils gawk gnused ];
  SOURCE_DATE_EPOCH = 1;
  passthru = { inherit toplevel label uuid hashSeed closure; ext4Features = ext4Features; };
  buildCommand = ''
    # The image's own entries; the closure's store paths go in beside them
    # straight from /nix/store.
    root=$PWD/skeleton
    mkdir -p $root/nix/store $root/nix/var/nix/profiles $root/nix/var/nix/gcroots $root/sbin $root/etc
    # Mount points the bootloader moves /proc /sys /dev onto, /run for stage
    # 2, and the old root kept by pivot_root.
    mkdir -p $root/proc $root/sys $root/dev $root/run $root/tmp $root/bootloader

    # Generation 1 of the system profile, as nixos-install leaves it.
    ln -s ${toplevel} $root/nix/var/nix/profiles/system-1-link
    ln -s system-1-link $root/nix/var/nix/profiles/system
    ln -s /nix/var/nix/profiles $root/nix/var/nix/gcroots/profiles

    # The bootloader execs /sbin/init. A link into the profile (not the
    # '#!/bin/sh' script init-script-builder writes on nixos-rebuild) because
    # /bin/sh exists only once activation has run.
    ln -s /nix/var/nix/profiles/system/init $root/sbin/init

    touch $root/etc/NIXOS
    # Loaded by nix-store --load-db on first boot (nix/modules/first-boot.nix).
    cp ${closure}/registration $root/nix-path-registration

    bash ${./make-ext4.sh} $out ${lib.escapeShellArg label} ${uuid} ${hashSeed} ${features} $root ${closure}/store-paths
  '';
}
