// Flattened device tree (FIT image) parsing for arm64 ChromeOS kernels: the
// kernel node named by the default configuration gives the kernel data and
// its compression (devicetree-specification §5, U-Boot doc/usage/fit).
import { UserError } from "../lib/errors.js";

export const FDT_MAGIC = 0xd00dfeed;

export interface FdtNode {
  name: string;
  props: Map<string, Buffer>;
  children: FdtNode[];
}

export function isFdt(buf: Buffer): boolean {
  return buf.length >= 40 && buf.readUInt32BE(0) === FDT_MAGIC;
}

export function parseFdt(buf: Buffer, where: string): { root: FdtNode; totalSize: number } {
  const bad = (what: string) => new UserError(where, `FIT image is malformed: ${what}`, "the kernel partition is damaged");
  if (!isFdt(buf)) throw bad("no FDT magic");
  const totalSize = buf.readUInt32BE(4);
  const offStruct = buf.readUInt32BE(8);
  const offStrings = buf.readUInt32BE(12);
  if (totalSize > buf.length || offStruct >= totalSize || offStrings >= totalSize) throw bad("header offsets outside the blob");
  const str = (off: number) => {
    const s = offStrings + off;
    const e = buf.indexOf(0, s);
    if (e < 0) throw bad("unterminated property name");
    return buf.toString("latin1", s, e);
  };
  let pos = offStruct;
  const stack: FdtNode[] = [];
  let root: FdtNode | null = null;
  for (;;) {
    if (pos + 4 > totalSize) throw bad("structure block runs past the end");
    const token = buf.readUInt32BE(pos);
    pos += 4;
    if (token === 1) {
      const e = buf.indexOf(0, pos);
      if (e < 0 || e >= totalSize) throw bad("unterminated node name");
      const node: FdtNode = { name: buf.toString("latin1", pos, e), props: new Map(), children: [] };
      pos = (e + 4) & ~3;
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
    } else if (token === 2) {
      if (!stack.pop()) throw bad("unbalanced END_NODE");
    } else if (token === 3) {
      if (pos + 8 > totalSize) throw bad("property header runs past the end");
      const len = buf.readUInt32BE(pos);
      const nameOff = buf.readUInt32BE(pos + 4);
      pos += 8;
      if (pos + len > totalSize) throw bad("property runs past the end");
      const node = stack[stack.length - 1];
      if (!node) throw bad("property outside a node");
      node.props.set(str(nameOff), buf.subarray(pos, pos + len));
      pos = (pos + len + 3) & ~3;
    } else if (token === 4) {
      continue;
    } else if (token === 9) {
      break;
    } else throw bad(`unknown token ${token}`);
  }
  if (!root || stack.length) throw bad("unterminated tree");
  return { root, totalSize };
}

const propString = (b: Buffer | undefined) => (b ? b.toString("latin1").replace(/\0.*$/s, "") : undefined);
const child = (n: FdtNode | undefined, name: string) => n?.children.find((c) => c.name === name);

export interface FitKernel {
  node: string;
  compression: string;
  arch: string;
  data: Buffer;
}

/** The kernel of a FIT image: the default configuration's, else the first kernel node. */
export function fitKernel(buf: Buffer, where: string): FitKernel {
  const { root, totalSize } = parseFdt(buf, where);
  const images = child(root, "images");
  if (!images) throw new UserError(where, "FIT image has no /images node", "the kernel partition is damaged");
  const configs = child(root, "configurations");
  const def = propString(configs?.props.get("default"));
  const wanted = propString(child(configs, def ?? "")?.props.get("kernel"));
  const node =
    (wanted && child(images, wanted)) ||
    images.children.find((c) => /^kernel/.test(propString(c.props.get("type")) ?? ""));
  if (!node) throw new UserError(where, "FIT image has no kernel node", "the kernel partition is damaged");
  let data = node.props.get("data");
  if (!data) {
    // external data (mkimage -E): offset after the FDT blob, or absolute position
    const u32 = (name: string) => {
      const v = node.props.get(name);
      return v && v.length >= 4 ? v.readUInt32BE(0) : undefined;
    };
    const size = u32("data-size");
    const off = u32("data-offset");
    const position = u32("data-position");
    const start = position ?? (off !== undefined ? ((totalSize + 3) & ~3) + off : undefined);
    if (size === undefined || start === undefined || start + size > buf.length) {
      throw new UserError(where, `FIT kernel node ${node.name} has no usable data`, "the kernel partition is damaged");
    }
    data = buf.subarray(start, start + size);
  }
  return {
    node: node.name,
    compression: propString(node.props.get("compression")) ?? "none",
    arch: propString(node.props.get("arch")) ?? "unknown",
    data,
  };
}
