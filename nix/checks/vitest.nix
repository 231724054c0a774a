# The vitest suite inside the Nix sandbox, QEMU boots included. The sandbox
# has none of the Debian paths the tests default to, so every one comes from
# nixpkgs through the variables of test/helpers/host-paths.ts, and the tools
# on PATH are exactly those of ./vitest-tools.json (test/sandbox.sh rehearses
# this on Debian: `npm run test:sandbox`).
{ stdenv, lib, pkgs, pkgsStatic, importNpmLock, linuxKernel, src }:
let
  package = lib.importJSON (src + "/package.json");
  packageLock = (import ../lib/npm-lock.nix).withResolved (lib.importJSON (src + "/package-lock.json"));
  # vboot_reference was renamed vboot-utils in nixpkgs
  byName = name:
    if name == "vboot-utils" then pkgs.vboot-utils or pkgs.vboot_reference
    else lib.getAttrFromPath (lib.splitString "." name) pkgs;
  tools = map byName (builtins.attrNames (lib.importJSON ./vitest-tools.json).tools);
  vboot = byName "vboot-utils";
  # a kernel of another release than the fixture's: its modules are real
  # .ko files the fixture kernel must refuse (Debian: linux-image-amd64)
  hostKernel = linuxKernel.kernels.linux_6_1;
in
stdenv.mkDerivation {
  pname = "shimboot-vitest";
  inherit (package) version;
  inherit src;
  npmDeps = importNpmLock { npmRoot = src; inherit package packageLock; };
  nativeBuildInputs = [ importNpmLock.npmConfigHook ] ++ tools;
  # the fixture shim's kernel is built by the tests (test/kernel/build.ts):
  # the compiler flags nixpkgs turns off for its own kernels (kernel/build.nix)
  hardeningDisable = [ "bindnow" "format" "fortify" "stackprotector" "pic" ];
  env = {
    SHIMBOOT_TEST_BUSYBOX = "${pkgsStatic.busybox}/bin/busybox";
    SHIMBOOT_TEST_DEVKEYS = "${vboot}/share/vboot/devkeys";
    # Linux 6.1 (the kernel test/kernel/shim.config is for), as a tarball
    SHIMBOOT_TEST_LINUX_SOURCE = "${hostKernel.src}";
    SHIMBOOT_TEST_HOST_MODULES = "${hostKernel.modules}/lib/modules/${hostKernel.modDirVersion}";
    SHIMBOOT_TEST_CRYPTSETUP = "${pkgs.cryptsetup}/bin/cryptsetup";
  };
  buildPhase = ''
    runHook preBuild
    export HOME=$TMPDIR NIX_REMOTE=dummy://
    export SHIMBOOT_TEST_CACHE=$TMPDIR/cache
    npx tsc -p tsconfig.json
    node scripts/bundle.mjs
    npx vitest run
    runHook postBuild
  '';
  installPhase = "touch $out";
}
