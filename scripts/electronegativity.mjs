// Electron security review in CI: runs Doyensec's Electronegativity over the Electron shell
// (src-main/app) and the renderer (src-renderer) in one scan, so the global checks see the main
// process's handlers and the page together. Fails on any HIGH or MEDIUM finding that
// docs/security.md does not list (check id, file, and a reason) in its "Accepted findings" table.
//   node scripts/electronegativity.mjs [--json]

import console from 'node:console';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const SCANNED = ['src-main/app', 'src-renderer'];
const FAILING = new Set(['HIGH', 'MEDIUM']);

/** Rows of the "Accepted findings" table: | CHECK_ID | path | reason |. */
function acceptedFindings() {
  const doc = readFileSync(join(root, 'docs', 'security.md'), 'utf8');
  const start = doc.indexOf('## Accepted findings');
  if (start < 0) throw new Error('docs/security.md has no "## Accepted findings" section');
  const section = doc.slice(start).split('\n## ')[0];
  const rows = [];
  for (const line of section.split('\n')) {
    const m = /^\|\s*`?([A-Z0-9_]+)`?\s*\|\s*`?([^|`]+?)`?\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (!m || m[1] === 'Check') continue;
    if (m[3].length < 20) throw new Error(`docs/security.md: the accepted finding ${m[1]} in ${m[2]} needs a reason`);
    rows.push({ id: m[1], file: m[2], reason: m[3] });
  }
  return rows;
}

async function main() {
  const json = process.argv.includes('--json');
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const run = require('@doyensec/electronegativity/dist/runner.js');

  // One tree with both parts at their repository paths, without build output or dependencies.
  const scratch = mkdtempSync(join(tmpdir(), 'bb-electronegativity-'));
  for (const part of SCANNED) {
    cpSync(join(root, part), join(scratch, part), {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|dist|out)([\\/]|$)/.test(relative(root, src)),
    });
  }

  // The runner prints progress and a banner through console.log/winston; keep our output readable.
  const log = console.log;
  const warn = console.warn;
  let result;
  try {
    console.log = () => undefined;
    console.warn = () => undefined;
    result = await run({ input: scratch, electronVersionOverride: electronVersion, isRelative: true, parserPlugins: [] }, false);
  } finally {
    console.log = log;
    console.warn = warn;
    rmSync(scratch, { recursive: true, force: true });
  }

  const accepted = acceptedFindings();
  const findings = result.issues.map((i) => ({
    id: i.id,
    severity: i.severity.name,
    confidence: i.confidence.name,
    file: i.file === 'N/A' ? 'N/A' : i.file.split(sep).join('/'),
    line: i.location?.line ?? 0,
    manualReview: Boolean(i.manualReview),
    description: i.description,
  }));
  const blocking = findings.filter((f) => FAILING.has(f.severity) && !accepted.some((a) => a.id === f.id && a.file === f.file));
  const stale = accepted.filter((a) => !findings.some((f) => f.id === a.id && f.file === a.file));

  if (json) {
    log(JSON.stringify({ electronVersion, checks: result.globalChecks + result.atomicChecks, findings, blocking, errors: result.errors }, null, 2));
  } else {
    log(`Electronegativity: ${result.globalChecks + result.atomicChecks} checks over ${SCANNED.join(', ')} (Electron ${electronVersion})`);
    for (const f of findings) {
      const mark = blocking.includes(f) ? 'FAIL' : FAILING.has(f.severity) ? 'accepted' : 'info';
      log(`  [${mark}] ${f.severity}/${f.confidence} ${f.id} ${f.file}:${f.line}`);
    }
    for (const a of stale) log(`  note: docs/security.md accepts ${a.id} in ${a.file}, which is no longer reported; remove the row`);
    for (const e of result.errors) log(`  parse error: ${JSON.stringify(e)}`);
  }
  if (result.errors.length > 0) {
    console.error('Electronegativity could not parse every file, so not everything was checked.');
    process.exit(1);
  }
  if (blocking.length > 0) {
    console.error(`${blocking.length} HIGH/MEDIUM finding(s) not accepted in docs/security.md: fix them, or list each with its reason.`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exit(1);
});
