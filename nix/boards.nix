# The board table: pure data, the one place Nix and the TypeScript CLI learn
# what is known about a board (DESIGN.md §6). Facts only; policy that follows
# from them (systemd ceiling, ext4 features) lives in lib/kernel-policy.nix.
#
# kernel: the shim's kernel release (major.minor.patch) as published.
# shim.sha256: SRI hash of the unzipped shim .bin (user supplied, requireFile).
# recovery: the official recovery image, fetched by URL.
let
  recoveryBase = "https://dl.google.com/dl/edgedl/chromeos/recovery/";
  board = arch: cpu: kernel: shimHash: recoveryZip: recoveryHash: {
    inherit arch cpu kernel;
    shim.sha256 = shimHash;
    recovery = {
      url = recoveryBase + recoveryZip;
      sha256 = recoveryHash;
    };
  };
in
{
  dedede = board "x86_64" "intel" "5.4.85"
    "sha256-x8/mzZOs7xu/ni6ByqY8X1cLXW5vydmIZl0Thri+CVs="
    "chromeos_13597.105.0_dedede_recovery_stable-channel_mp-v3.bin.zip"
    "sha256-4YNU6qHF/LF/znVJ1pOJpI+NJYB/B/TGGMaHM5uyJhQ=";
  octopus = board "x86_64" "intel" "4.14.91"
    "sha256-sh6iEkfeAQasV4PtxhXWgasqOjI2LgFWpobuPJSkWD8="
    "chromeos_11316.165.0_octopus_recovery_stable-channel_mp-v5.bin.zip"
    "sha256-wZS7P8Ad2xYTPb8RtT4YiH9SXGCclped/nls+Y+XCRQ=";
  nissa = board "x86_64" "intel" "5.15.74"
    "sha256-YX5ahUWKMLGCpW+gkoju7A6h8Sq+zy3d5+3ruSpHOSQ="
    "chromeos_15236.80.0_nissa_recovery_stable-channel_mp-v2.bin.zip"
    "sha256-dfNnmYrjIIpDVcp4Dh6OLoRmami4N4+XCPsqXjbITog=";
  hatch = board "x86_64" "intel" "4.19.84"
    "sha256-EPS6sCDVAM89J3JvtB9QOBTEwxtzCf1ony02MTLv5s0="
    "chromeos_12739.94.0_hatch_recovery_stable-channel_mp-v4.bin.zip"
    "sha256-H34UUn4iwo2wuOAxE4LjbkynUmE8BKHYkUKPagIji6Q=";
  snappy = board "x86_64" "intel" "4.4.35"
    "sha256-p2+xJS5ZS8rk+Jls9MhuWjT6m6MVlz6N0yoidkht7h8="
    "chromeos_9334.72.0_snappy_recovery_stable-channel_mp.bin.zip"
    "sha256-Bh7YW9xl0KDIW9nNXR1m+xUgZumQJ421B5QgpJkoGEo=";
  zork = board "x86_64" "amd" "5.4.85"
    "sha256-G+dOxqWJ26vRKz0nt6Nvs2+H9XvB1Wzkwfjk/7Vsr6o="
    "chromeos_13505.73.0_zork_recovery_stable-channel_mp-v4.bin.zip"
    "sha256-WGhEKw68CGEhPcXVTRUSrYguUBPUnKnPH28338PHmDM=";
  grunt = board "x86_64" "amd" "4.14.75"
    "sha256-q6ZKuXj+5FbhIuA2wUqj3a88L8RlBsEJlp1bnQdSkOE="
    "chromeos_11151.113.0_grunt_recovery_stable-channel_mp-v5.bin.zip"
    "sha256-aIYRcj8+Lx5PLz9PWfYp4xnzy9f5TNYnRp9S5DdrlW4=";
}
