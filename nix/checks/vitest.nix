# The vitest suite inside the Nix sandbox, with the tools the tests run.
{ stdenv, lib, importNpmLock, nodejs, nix, e2fsprogs, fakeroot, kmod, xz, zstd, lz4, bzip2, cpio
, vboot-utils ? null, vboot_reference ? null # renamed vboot_reference -> vboot-utils in nixpkgs
, util-linux, busybox, dtc, ubootTools, binutils, shellcheck, src }:
let
  vboot = if vboot-utils != null then vboot-utils else vboot_reference;
  package = lib.importJSON (src + "/package.json");
  packageLock = (import ../lib/npm-lock.nix).withResolved (lib.importJSON (src + "/package-lock.json"));
in
stdenv.mkDerivation {
  pname = "shimboot-vitest";
  inherit (package) version;
  inherit src;
  npmDeps = importNpmLock { npmRoot = src; inherit package packageLock; };
  nativeBuildInputs = [ importNpmLock.npmConfigHook nodejs nix e2fsprogs fakeroot kmod xz zstd lz4 bzip2 cpio
    vboot util-linux busybox dtc ubootTools binutils shellcheck ];
  buildPhase = ''
    export HOME=$TMPDIR NIX_REMOTE=dummy://
    export SHIMBOOT_TEST_CACHE=$TMPDIR/cache
    npx tsc -p tsconfig.json --noEmit
    npx vitest run
  '';
  installPhase = "touch $out";
}
