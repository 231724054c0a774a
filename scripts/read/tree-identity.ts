// A directory's identity for the derived identifiers: relative paths, kinds,
// sizes and link targets in sorted order (never readdir's order, modes or
// times, which depend on how and where the tree was copied).
import { createHash } from "node:crypto";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

export async function treeIdentity(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, r));
      const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
      h.update(`${r}\0${kind}\0${kind === "file" ? st.size : 0}\0${kind === "symlink" ? await readlink(join(root, r)) : ""}\n`);
      if (kind === "dir") await walk(r);
    }
  };
  await walk("");
  return h.digest("hex");
}
