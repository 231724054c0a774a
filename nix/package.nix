# The `shimboot` CLI: TypeScript built from package-lock.json, wrapped so the
# tools it runs are on PATH, the bootloader scripts and the Nix board table
# beside it.
{ lib, buildNpmPackage, importNpmLock, nodejs, makeWrapper
, vboot-utils ? null, vboot_reference ? null # renamed vboot_reference -> vboot-utils in nixpkgs
, bash, bashNonInteractive ? bash, e2fsprogs, xfsprogs, fakeroot, kmod, xz, zstd, lz4, lzop, bzip2, cpio, util-linux, coreutils
, src }:
let
  # pkgs/by-name/vb/vboot-utils (pname "vboot-utils"); older pins only have vboot_reference.
  vboot = if vboot-utils != null then vboot-utils else vboot_reference;
  package = lib.importJSON (src + "/package.json");
  # The lock file carries no "resolved" URLs; importNpmLock needs them
  # (pkgs/build-support/node/import-npm-lock). Hashes still come from the lock.
  packageLock = (import ./lib/npm-lock.nix).withResolved (lib.importJSON (src + "/package-lock.json"));
  # bash: the fork server that starts the tools (scripts/lib/launcher.ts; no readline
  # needed: nixpkgs' `bash` is the interactive one), coreutils: its env
  runtimeTools = [ bashNonInteractive vboot e2fsprogs xfsprogs fakeroot kmod xz zstd lz4 lzop bzip2 cpio util-linux coreutils ];
  # The board table and kernel policy rules the CLI reads, written from the
  # Nix files themselves, so the package can never disagree with them.
  boardInfo = builtins.toFile "board-info.json" (builtins.toJSON (import ./board-info.nix { }));
in
# the fork server reads its requests with `mapfile -d` (bash 4.4)
assert lib.versionAtLeast (lib.getVersion bashNonInteractive) "4.4";
buildNpmPackage {
  pname = "shimboot";
  inherit (package) version;
  inherit src nodejs;
  # No npmDepsHash to keep in sync: every tarball is fetched by its lock hash.
  npmDeps = importNpmLock { npmRoot = src; inherit package packageLock; };
  npmConfigHook = importNpmLock.npmConfigHook;
  nativeBuildInputs = [ makeWrapper ];

  # npm run build (tsc, then esbuild: scripts/bundle.mjs) -> dist/; npmInstallHook
  # installs package.json "files" (the bundle dist/shimboot.mjs and its map,
  # scripts/bootloader/, nix/board-info.json) and links bin shimboot -> dist/shimboot.mjs.
  postInstall = ''
    pkgdir=$out/lib/node_modules/${package.name}
    install -Dm444 ${boardInfo} $pkgdir/nix/board-info.json
    test -d $pkgdir/scripts/bootloader
    test -f $pkgdir/dist/shimboot.mjs
    # GLIBC_TUNABLES: malloc's large buffers on transparent huge pages, one page fault per
    # 2 MiB instead of per 4 KiB: a small build 1.17 -> 1.06 s where a fault costs ~19 us
    # (README, Performance; `npm run bench -- small` measures the build with it too)
    wrapProgram $out/bin/shimboot \
      --prefix PATH : ${lib.makeBinPath runtimeTools} \
      --set-default SHIMBOOT_NIX_DIR $pkgdir/nix \
      --set-default GLIBC_TUNABLES glibc.malloc.hugetlb=1
  '';

  meta = {
    description = "Turn a ChromeOS RMA shim into a bootable NixOS USB image";
    license = lib.licenses.gpl3Only;
    mainProgram = "shimboot";
    platforms = lib.platforms.linux;
  };
}
