// A tree as kbuild's file list (usr/gen_init_cpio's input, the format of
// CONFIG_INITRAMFS_SOURCE when it names a list): what a kernel build that
// makes its own initramfs archives. Owners are root, device nodes come from
// DEVICE_NODES (the host tree has none), hard links stay one group.
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { DEVICE_NODES } from "../fixtures/kernel-blob.js";

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

/** The file list of `root`, one entry a line, parents before children. */
export async function genInitCpioList(root: string): Promise<string> {
  const lines: string[] = [];
  const links = new Map<string, { line: number; names: string[] }>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (/\s/.test(path)) throw new Error(`gen_init_cpio cannot name ${path} (white space)`);
      const full = join(root, path);
      const st = await lstat(full);
      if (st.isDirectory()) {
        lines.push(`dir /${path} ${octal(st.mode)} 0 0`);
        await walk(path);
      } else if (st.isSymbolicLink()) {
        lines.push(`slink /${path} ${await readlink(full)} 0777 0 0`);
      } else if (st.isFile()) {
        const id = `${st.dev}:${st.ino}`;
        const group = st.nlink > 1 ? links.get(id) : undefined;
        if (group) group.names.push(`/${path}`);
        else {
          if (st.nlink > 1) links.set(id, { line: lines.length, names: [] });
          lines.push(`file /${path} ${full} ${octal(st.mode)} 0 0`);
        }
      } else throw new Error(`${full}: only directories, files and symlinks go into the file list`);
    }
  };
  await walk("");
  // `file NAME LOCATION MODE UID GID [HARDLINKS...]`: one archive entry a name
  for (const g of links.values()) lines[g.line] += ` ${g.names.join(" ")}`;
  for (const n of DEVICE_NODES) lines.push(`nod /${n.path} ${octal(n.mode)} 0 0 c ${n.major} ${n.minor}`);
  return lines.join("\n") + "\n";
}
