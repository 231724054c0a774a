#!/usr/bin/env bash
# Applies mount-nofollow.patch to the systemd source tree in the current
# directory (run from postPatch), then proves the result.
#   bash apply-mount-nofollow.sh PATCH [RECORD]
# The function lives in src/basic/mountpoint-util.c up to systemd 257 and may
# move: the patch is applied to whichever .c file defines it. If its context
# no longer matches (a newer body), the body is replaced directly instead.
# Either way the build fails unless the function ends up as a plain mount().
# RECORD, if given, receives the patched function's text.
set -euo pipefail
patchFile=$1 record=${2:-}

# A definition starts a line with `int mount_nofollow(` (systemd's style: the
# parameters follow one per line); headers only declare it.
mapfile -t files < <(grep -rlE --include='*.c' '^int mount_nofollow\($' src | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "shimboot: no definition of mount_nofollow() under src/ (a line 'int mount_nofollow(' in a .c file): systemd moved or reshaped it; update nix/systemd/apply-mount-nofollow.sh" >&2
  exit 1
fi
if [ ${#files[@]} -gt 1 ]; then
  echo "shimboot: mount_nofollow() is defined in more than one file: ${files[*]}" >&2
  exit 1
fi
file=${files[0]}

if patch --dry-run --forward --silent "$file" < "$patchFile" >/dev/null 2>&1; then
  patch --forward "$file" < "$patchFile"
else
  echo "shimboot: $patchFile does not match $file; replacing the body directly" >&2
  awk '
    /^int mount_nofollow\($/ { infn = 1 }
    infn && !inbody {
      print
      if ($0 ~ /\) \{$/) {
        inbody = 1
        print "        /* shimboot: a plain mount() (ChromiumOS LSM, see mount-nofollow.patch). */"
        print "        if (mount(source, target, filesystemtype, mountflags, data) < 0)"
        print "                return -errno;"
        print ""
        print "        return 0;"
      }
      next
    }
    infn && inbody { if ($0 ~ /^}/) { print; infn = 0; inbody = 0 }; next }
    { print }
  ' "$file" > "$file.shimboot" && mv "$file.shimboot" "$file"
fi

body=$(awk '/^int mount_nofollow\($/,/^}/' "$file")
if ! grep -qF 'mount(source, target, filesystemtype, mountflags, data) < 0' <<<"$body" \
   || grep -qE 'open\(|open_tree|move_mount|mount_fd|O_NOFOLLOW' <<<"$body"; then
  echo "shimboot: mount_nofollow() in $file is not a plain mount() after patching:" >&2
  echo "$body" >&2
  exit 1
fi
echo "shimboot: mount_nofollow() in $file is a plain mount()"
if [ -n "$record" ]; then printf '%s\n' "$body" > "$record"; fi
