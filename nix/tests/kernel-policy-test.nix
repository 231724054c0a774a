let
  h = import ./harness.nix;
  inherit (h) check run;
  p = import ../lib/kernel-policy.nix;
  kernels = [ "4.4.35" "4.14.91" "4.19.84" "5.4.85" "5.10.136" "5.15.74" "6.6.0" ];
  subset = a: b: builtins.all (f: builtins.elem f b) a;
in
run ([
  (check "a 4.4 kernel mounts sparse_super2 but not project quotas" (
    builtins.elem "sparse_super2" (p.ext4Mountable "4.4.35") && !(builtins.elem "project" (p.ext4Mountable "4.4.35"))))
  (check "a 5.4 kernel mounts metadata_csum_seed but not orphan_file" (
    builtins.elem "metadata_csum_seed" (p.ext4Mountable "5.4.85") && !(builtins.elem "orphan_file" (p.ext4Mountable "5.4.85"))))
  (check "a 5.15 kernel mounts orphan_file" (builtins.elem "orphan_file" (p.ext4Mountable "5.15.74")))
  (check "no kernel mounts compression" (!(builtins.elem "compression" (p.ext4Mountable "6.6.0"))))
] ++ map (k: check "the features made for kernel ${k} are ones it mounts" (subset (p.ext4Features k) (p.ext4Mountable k))) kernels)
