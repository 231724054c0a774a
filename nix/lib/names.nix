# Names a rootfs carries (DESIGN.md §1.4, §2): pure helpers, no nixpkgs.
# The bootloader finds the partition by its GPT name; NixOS mounts it by the
# ext4 label. Both come from one user-facing name, so they are derived here.
let
  inherit (builtins) stringLength substring match;
  gptPrefix = "shimboot_rootfs:";
  # GPT names hold 36 UTF-16 units; the prefix takes 16.
  maxNameLength = 36 - stringLength gptPrefix;
  # ext4 labels hold 16 bytes (s_volume_name).
  labelBytes = 16;
in
rec {
  inherit gptPrefix maxNameLength labelBytes;

  # ASCII only: a byte cut can then never split a character, and the name
  # survives UTF-16 (GPT) and the bootloader's busybox shell unchanged.
  isValidName = name:
    name != "" && stringLength name <= maxNameLength
    && match "[A-Za-z0-9._+-]+" name != null;

  checkName = name:
    if isValidName name then name
    else throw "shimboot: rootfs name '${name}' must be 1-${toString maxNameLength} characters of A-Z a-z 0-9 . _ + -";

  # "shimboot_rootfs:<name>"
  gptName = name: gptPrefix + checkName name;

  # The ext4 label: the name cut to 16 bytes.
  ext4Label = name: substring 0 labelBytes (checkName name);
}
