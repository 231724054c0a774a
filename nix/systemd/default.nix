# systemd with mount_nofollow() as a plain mount() (DESIGN.md §1.6).
# overrideAttrs on the one package NixOS runs as PID 1 (systemd.package), so
# nothing else in the system is rebuilt against it.
{ systemd }:
systemd.overrideAttrs (old: {
  # apply-mount-nofollow.sh fails the build unless the function ends up a
  # plain mount(); the patched text is kept in the output as evidence that
  # checks (and anyone on the device) can read.
  postPatch = (old.postPatch or "") + ''
    bash ${./apply-mount-nofollow.sh} ${./mount-nofollow.patch} "$NIX_BUILD_TOP/shimboot-mount-nofollow.c"
  '';
  postInstall = (old.postInstall or "") + ''
    install -Dm444 "$NIX_BUILD_TOP/shimboot-mount-nofollow.c" $out/share/shimboot/mount-nofollow.c
  '';
  passthru = (old.passthru or { }) // {
    shimbootMountNofollowPatched = true;
  };
})
