// A directory's identity for the derived identifiers: relative paths, kinds,
// sizes and link targets in sorted order (never readdir's order, modes or
// times, which depend on how and where the tree was copied).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Synchronously, as the other tree walks (rootfs-input.ts says why). */
export async function treeIdentity(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
      h.update(`${r}\0${kind}\0${kind === "file" ? st.size : 0}\0${kind === "symlink" ? readlinkSync(join(root, r)) : ""}\n`);
      if (kind === "dir") walk(r);
    }
  };
  walk("");
  return h.digest("hex");
}
