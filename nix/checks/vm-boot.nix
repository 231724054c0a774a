# Boots a shimboot rootfs the way the bootloader does (DESIGN.md §1.4;
# test/qemu does the same with the real shim chain): inside a NixOS VM, the
# image is mounted, /proc /sys /dev are handed in, and /sbin/init is exec'd as
# PID 1 of a new PID namespace. Passing means stage 2 ran (with the /run
# prelude) and the patched systemd reached its default target.
{ testers }:
{ rootfs }:
testers.runNixOSTest {
  name = "shimboot-stage2-handoff";
  nodes.machine = {
    virtualisation.memorySize = 3072;
    virtualisation.diskSize = 8192;
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("cp ${rootfs} /root/rootfs.img && mkdir -p /newroot")
    machine.succeed("mount -o loop /root/rootfs.img /newroot")
    machine.succeed(
      "(unshare --pid --fork --mount sh -c '"
      "mount -t proc proc /newroot/proc && "
      "mount --rbind /sys /newroot/sys && mount --rbind /dev /newroot/dev && "
      "exec chroot /newroot /sbin/init' > /root/boot.log 2>&1 &)"
    )
    machine.wait_until_succeeds("grep -q 'NixOS Stage 2' /root/boot.log", timeout=120)
    machine.wait_until_succeeds("grep -q 'starting systemd' /root/boot.log", timeout=300)
    machine.wait_until_succeeds("grep -q 'Reached target' /root/boot.log", timeout=600)
    machine.fail("grep -q 'Failed to mount API filesystems' /root/boot.log")
  '';
}
