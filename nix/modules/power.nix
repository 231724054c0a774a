# What the shim kernel cannot do (DESIGN.md §1.7): no suspend, no disk swap.
# zram works, so memory pressure goes there.
{ lib, ... }:
{
  zramSwap.enable = lib.mkDefault true;
  swapDevices = lib.mkForce [ ];
  # enable = false links each unit to /dev/null (masked): logind's lid and
  # power-key handling then cannot put the machine into a sleep it never
  # wakes from.
  systemd.targets = lib.genAttrs [ "sleep" "suspend" "hibernate" "hybrid-sleep" "suspend-then-hibernate" ]
    (_: { enable = false; });
}
