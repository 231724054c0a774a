#!/usr/bin/env node
// Reads the units a systemd source tree installs (units/meson.build and
// units/user/meson.build) and prints them as a pure-Nix data file for
// nix/lib/systemd-units.nix. A maintainer tool: run it on a checkout of the
// systemd tag a flake input carries, commit the output, never edit it.
//
//   node nix/systemd/units/extract.mjs SYSTEMD_SRC TAG COMMIT > nix/systemd/units/systemd-MAJOR.nix
//
// It understands the subset of meson these two files use: a `units = [ ... ]`
// list of strings or { 'file', 'name', 'conditions', 'symlinks' } dicts,
// `units += ...` inside `if conf.get('X') == 1` blocks, and symlink lists
// joined with `+` or chosen by `VAR ? [...] : [...]` where
// `VAR = conf.get('X') == 1`. Anything else in a unit entry is an error, so a
// reshaped meson.build is noticed, not misread.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "#") { while (i < text.length && text[i] !== "\n") i++; continue; }
    if (c === "\n") { tokens.push({ t: "nl" }); i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = "";
      i++;
      while (text[i] !== "'") {
        if (i >= text.length) throw new Error("unterminated string");
        if (text[i] === "\\") { s += text[i + 1]; i += 2; } else { s += text[i]; i++; }
      }
      i++;
      tokens.push({ t: "str", v: s });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "==" || two === "+=" || two === "!=") { tokens.push({ t: "op", v: two }); i += 2; continue; }
    // Other punctuation only occurs in statements this reader skips.
    if ("[]{}(),:?+=-/*%<>!.".includes(c)) { tokens.push({ t: "op", v: c }); i++; continue; }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (m) { tokens.push({ t: "id", v: m[0] }); i += m[0].length; continue; }
    const n = /^[0-9]+/.exec(text.slice(i));
    if (n) { tokens.push({ t: "num", v: n[0] }); i += n[0].length; continue; }
    throw new Error(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
  }
  return tokens;
}

// A parser over one file's tokens; `vars` maps `VAR = conf.get('X') == 1`
// names to X. Values: strings, lists of { name, conds } items, dicts.
function parser(tokens, vars) {
  let p = 0;
  const peek = () => tokens[p];
  const skipNl = () => { while (peek() && peek().t === "nl") p++; };
  const expect = (v) => {
    skipNl();
    const tok = tokens[p++];
    if (!tok || tok.v !== v) throw new Error(`expected '${v}', found ${JSON.stringify(tok)}`);
  };
  const isOp = (v) => { skipNl(); return peek() && peek().t === "op" && peek().v === v; };

  function primary() {
    skipNl();
    const tok = peek();
    if (tok.t === "str") { p++; return tok.v; }
    if (isOp("[")) {
      p++;
      const items = [];
      while (!isOp("]")) { items.push(expr()); if (isOp(",")) p++; }
      p++;
      return items.flatMap((x) => (Array.isArray(x) ? x : [{ name: x, conds: [] }]));
    }
    if (isOp("{")) {
      p++;
      const dict = {};
      while (!isOp("}")) {
        skipNl();
        const key = tokens[p++];
        if (key.t !== "str") throw new Error(`dict key must be a string, found ${JSON.stringify(key)}`);
        expect(":");
        dict[key.v] = expr();
        if (isOp(",")) p++;
      }
      p++;
      return dict;
    }
    if (isOp("(")) { p++; const e = expr(); expect(")"); return e; }
    if (tok.t === "id" && Object.hasOwn(vars, tok.v)) {
      p++;
      expect("?");
      const yes = expr();
      expect(":");
      const no = expr();
      if (!Array.isArray(yes) || !Array.isArray(no) || no.length > 0) {
        throw new Error(`only 'VAR ? [...] : []' is understood (${tok.v})`);
      }
      return yes.map((x) => ({ name: x.name, conds: [...x.conds, vars[tok.v]] }));
    }
    throw new Error(`unexpected ${JSON.stringify(tok)}`);
  }
  function expr() {
    let left = primary();
    while (isOp("+")) {
      p++;
      const right = primary();
      if (!Array.isArray(left) || !Array.isArray(right)) throw new Error("'+' joins lists only");
      left = [...left, ...right];
    }
    return left;
  }
  return { expr, tokens, get pos() { return p; }, set pos(v) { p = v; } };
}

// The statements of a units meson.build: variable definitions, the units
// list, `units +=` under `if conf.get(...) == 1`. Returns raw unit entries.
export function unitEntries(text) {
  const tokens = tokenize(text);
  const vars = {};
  const entries = [];
  const conds = [];
  const ps = parser(tokens, vars);
  const line = (from) => {
    const out = [];
    while (from < tokens.length && tokens[from].t !== "nl") out.push(tokens[from++]);
    return out;
  };
  const add = (value) => {
    const list = Array.isArray(value) ? value : typeof value === "string" ? [{ name: value, conds: [] }] : [value];
    for (const e of list) entries.push({ entry: e.name ?? e, conds: [...conds, ...(e.conds ?? [])] });
  };
  let depth = 0; // foreach/if blocks we do not interpret
  while (ps.pos < tokens.length) {
    const start = ps.pos;
    const l = line(start);
    const vs = l.map((t) => t.v);
    if (l.length === 0) { ps.pos = start + 1; continue; }
    const confGet = vs.length >= 8 && vs[1] === "=" && vs[2] === "conf.get" && vs[6] === "==" && vs[7] === "1";
    if (depth === 0 && confGet) {
      vars[vs[0]] = l[4].v;
    } else if (depth === 0 && vs[0] === "units" && (vs[1] === "=" || vs[1] === "+=")) {
      ps.pos = start + 2;
      add(ps.expr());
      continue;
    } else if (vs[0] === "if" && vs[1] === "conf.get" && vs[5] === "==" && vs[6] === "1" && depth === 0) {
      conds.push(l[3].v);
    } else if (vs[0] === "endif" && conds.length > 0 && depth === 0) {
      conds.pop();
    } else if (vs[0] === "foreach" || vs[0] === "if") {
      depth++;
    } else if (vs[0] === "endforeach" || vs[0] === "endif") {
      depth--;
    }
    ps.pos = start + l.length;
  }
  return entries;
}

const known = new Set(["file", "name", "conditions", "symlinks", "install_tag"]);

// Installed unit names (with the conditions they are built under) and the
// wants directories meson links them into.
export function installed(text) {
  const units = {};
  const wants = {};
  const put = (name, conds) => {
    const prev = units[name];
    // Listed twice (rare): installed if either entry is.
    units[name] = prev && prev.length <= conds.length ? prev : conds;
  };
  for (const { entry, conds } of unitEntries(text)) {
    if (typeof entry === "string") { put(entry.replace(/\.in$/, ""), conds); continue; }
    for (const k of Object.keys(entry)) if (!known.has(k)) throw new Error(`unknown unit key '${k}' in ${JSON.stringify(entry)}`);
    const file = entry.file;
    if (typeof file !== "string") throw new Error(`unit entry without 'file': ${JSON.stringify(entry)}`);
    const name = entry.name ?? file.replace(/\.in$/, "");
    const own = [...conds, ...(entry.conditions ?? []).map((c) => c.name)];
    put(name, own);
    for (const link of entry.symlinks ?? []) {
      const lc = [...own, ...link.conds];
      if (link.name.endsWith("/")) {
        const dir = link.name.slice(0, -1);
        (wants[dir] ??= []).push({ unit: name, conds: lc });
      } else {
        put(link.name, lc);
      }
    }
  }
  return { units, wants };
}

const nixString = (s) => JSON.stringify(s).replace(/\$\{/g, "\\${");
const condList = (c) => (c.length === 0 ? "[ ]" : `[ ${c.map(nixString).join(" ")} ]`);

function nixUnits(units, indent) {
  return Object.keys(units).sort().map((n) => `${indent}${nixString(n)} = ${condList(units[n])};`).join("\n");
}
function nixWants(wants, indent) {
  return Object.keys(wants).sort().map((d) => {
    const items = [...wants[d]].sort((a, b) => a.unit.localeCompare(b.unit))
      .map((w) => `${indent}  { unit = ${nixString(w.unit)}; conditions = ${condList(w.conds)}; }`).join("\n");
    return `${indent}${nixString(d)} = [\n${items}\n${indent}];`;
  }).join("\n");
}

export function render({ tag, commit, system, user }) {
  const version = tag.replace(/^v/, "");
  return `# Units systemd ${tag} installs, generated by nix/systemd/units/extract.mjs from
# systemd's units/meson.build and units/user/meson.build at tag ${tag}
# (commit ${commit}). Do not edit: regenerate from the tag.
# unit name -> the meson conditions it is built under ([ ] = always).
{
  tag = ${nixString(tag)};
  version = ${nixString(version)};
  commit = ${nixString(commit)};
  system = {
${nixUnits(system.units, "    ")}
  };
  systemWants = {
${nixWants(system.wants, "    ")}
  };
  user = {
${nixUnits(user.units, "    ")}
  };
  userWants = {
${nixWants(user.wants, "    ")}
  };
}
`;
}

function main(argv) {
  const [src, tag, commit] = argv;
  if (!src || !tag || !commit) {
    process.stderr.write("usage: extract.mjs SYSTEMD_SRC TAG COMMIT\n");
    process.exit(2);
  }
  const read = (p) => readFileSync(join(src, p), "utf8");
  try {
    process.stdout.write(render({
      tag, commit,
      system: installed(read("units/meson.build")),
      user: installed(read("units/user/meson.build")),
    }));
  } catch (e) {
    process.stderr.write(`extract.mjs: ${src}: ${e.message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main(process.argv.slice(2));
