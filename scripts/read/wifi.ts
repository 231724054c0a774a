// wifi-credentials.json → NetworkManager keyfiles. Secrets stay in memory
// and in the private work directory; they never reach process arguments or
// the Nix store.
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import * as z from "zod";
import { UserError } from "../lib/errors.js";

const Network = z.object({
  ssid: z.string().min(1).max(32),
  psk: z.string().min(8).max(64).optional(),
  hidden: z.boolean().optional(),
});
const Credentials = z.object({ networks: z.array(Network).min(1) });
export type WifiNetwork = z.infer<typeof Network>;

export async function readWifiCredentials(path: string): Promise<WifiNetwork[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UserError(path, `--wifi: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "pass the path of wifi-credentials.json");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(path, `--wifi: not valid JSON (${(e as Error).message})`, 'expected {"networks":[{"ssid":"…","psk":"…"}]}');
  }
  const r = Credentials.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    // never echo values: they may be passwords
    throw new UserError(path, `--wifi: ${issue.path.join(".") || "file"}: ${issue.message}`, 'expected {"networks":[{"ssid":"…","psk":"… (8–64 characters)"}]}');
  }
  return r.data.networks;
}

/** A stable UUID for a connection, so the image stays reproducible. */
function connectionUuid(ssid: string, seed: string): string {
  const h = createHash("sha256").update(`${seed}\0wifi\0${ssid}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** File name NetworkManager will accept (keyfile plugin: no slashes, not hidden). */
export function keyfileName(ssid: string): string {
  return `${ssid.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\./, "_")}.nmconnection`;
}

export function nmKeyfile(n: WifiNetwork, seed: string): string {
  const lines = [
    "[connection]",
    `id=${n.ssid}`,
    `uuid=${connectionUuid(n.ssid, seed)}`,
    "type=wifi",
    "autoconnect=true",
    "",
    "[wifi]",
    "mode=infrastructure",
    `ssid=${n.ssid}`,
    ...(n.hidden ? ["hidden=true"] : []),
    "",
  ];
  if (n.psk) lines.push("[wifi-security]", "key-mgmt=wpa-psk", `psk=${n.psk}`, "");
  lines.push("[ipv4]", "method=auto", "", "[ipv6]", "method=auto", "");
  return lines.join("\n");
}
