# The systemd a shimboot system runs as PID 1 (DESIGN.md §1.6): mount_nofollow()
# as a plain mount(), and the wants directories that NixOS modules written
# for a newer systemd list but this version does not install (empty: there is
# nothing of this version to put in them). overrideAttrs on the one package
# NixOS runs as systemd.package, so nothing else in the system is rebuilt.
{ systemd, stubWants ? [ ] }:
let
  inherit (builtins) concatStringsSep;
  unitDir = "$out/example/systemd/system";
in
systemd.overrideAttrs (old: {
  # apply-mount-nofollow.sh fails the build unless the function ends up a
  # plain mount(); the patched text is kept in the output as evidence that
  # checks (and anyone on the device) can read.
  postPatch = (old.postPatch or "") + ''
    bash ${./apply-mount-nofollow.sh} ${./mount-nofollow.patch} "$NIX_BUILD_TOP/shimboot-mount-nofollow.c"
  '';
  postInstall = (old.postInstall or "") + ''
    install -Dm444 "$NIX_BUILD_TOP/shimboot-mount-nofollow.c" $out/share/shimboot/mount-nofollow.c
  '' + (if stubWants == [ ] then "" else ''
    # nixos/lib/systemd-lib.nix (generateUnits) copies these directories and
    # stops if one is missing; systemd ${old.version} installs none of them.
    for d in ${concatStringsSep " " stubWants}; do
      if [ -e "${unitDir}/$d" ]; then
        echo "shimboot: systemd ${old.version} installs $d after all; drop it from the stubs (nix/lib/systemd-units.nix data)" >&2
        exit 1
      fi
      mkdir -p "${unitDir}/$d"
      echo "$d: empty; systemd ${old.version} has no such directory, newer NixOS modules list it" >> $out/share/shimboot/stub-wants.txt
    done
  '');
  passthru = (old.passthru or { }) // {
    shimbootMountNofollowPatched = true;
    shimbootStubWants = stubWants;
  };
})
