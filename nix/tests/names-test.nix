let
  h = import ./harness.nix;
  inherit (h) check throws run;
  n = import ../lib/names.nix;
in
run [
  (check "the GPT name is the prefix and the rootfs name"
    (n.gptName "nixos" == "shimboot_rootfs:nixos"))
  (check "a short name is its own ext4 label" (n.ext4Label "nixos" == "nixos"))
  (check "a long name is cut to 16 bytes for the ext4 label"
    (n.ext4Label "nixos-desktop-2026" == "nixos-desktop-20"))
  (check "a name of exactly 16 bytes is kept whole"
    (n.ext4Label "abcdefghijklmnop" == "abcdefghijklmnop"))
  (check "a 20-character name fits the 36-unit GPT name"
    (builtins.stringLength (n.gptName "abcdefghijklmnopqrst") == 36))
  (check "a 21-character name is refused" (throws (n.gptName "abcdefghijklmnopqrstu")))
  (check "an empty name is refused" (throws (n.ext4Label "")))
  (check "a name with a space is refused" (throws (n.ext4Label "my nixos")))
  (check "a name with a colon is refused" (throws (n.gptName "a:b")))
  (check "a non-ASCII name is refused" (throws (n.ext4Label "nixös")))
]
