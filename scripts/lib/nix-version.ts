// Version comparison exactly as Nix's builtins.compareVersions does it
// (libstore names.cc), so that a policy threshold means the same in Nix and
// in the CLI: components split at "." and "-", digit runs compare as
// numbers, "pre" sorts before anything, a missing component before a number,
// and a string component before a number ("2.3a" < "2.3.1").

function* components(v: string): Generator<string> {
  let i = 0;
  while (i < v.length) {
    while (i < v.length && (v[i] === "." || v[i] === "-")) i++;
    if (i >= v.length) return;
    const start = i;
    if (isDigit(v[i]!)) while (i < v.length && isDigit(v[i]!)) i++;
    else while (i < v.length && !isDigit(v[i]!) && v[i] !== "." && v[i] !== "-") i++;
    yield v.slice(start, i);
  }
}

const isDigit = (c: string) => c >= "0" && c <= "9";

/** Nix's string2Int<int>: digits within a C int, else not a number. */
function asInt(c: string): number | null {
  if (!/^[0-9]+$/.test(c)) return null;
  const n = Number(c);
  return n <= 2 ** 31 - 1 ? n : null;
}

function componentLess(c1: string, c2: string): boolean {
  const n1 = asInt(c1);
  const n2 = asInt(c2);
  if (n1 !== null && n2 !== null) return n1 < n2;
  if (c1 === "" && n2 !== null) return true;
  if (c1 === "pre" && c2 !== "pre") return true;
  if (c2 === "pre") return false;
  if (n2 !== null) return true;
  if (n1 !== null) return false;
  return Buffer.compare(Buffer.from(c1), Buffer.from(c2)) < 0; // std::string's byte order
}

/** -1, 0 or 1, as builtins.compareVersions v1 v2. */
export function compareVersions(v1: string, v2: string): -1 | 0 | 1 {
  const a = components(v1);
  const b = components(v2);
  for (;;) {
    const x = a.next();
    const y = b.next();
    if (x.done && y.done) return 0;
    const c1 = x.done ? "" : x.value;
    const c2 = y.done ? "" : y.value;
    if (componentLess(c1, c2)) return -1;
    if (componentLess(c2, c1)) return 1;
  }
}
