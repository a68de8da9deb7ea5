// No module in src-main/ reaches itself through its imports, and no src-main/ folder reaches itself
// through the other folders (docs/architecture.md: layers point down). The imports are read statically
// with TypeScript's own pre-processor, so type-only imports, re-exports and dynamic imports all count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src-main');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The src-main/ modules a file imports (relative specifiers only; packages are not ours). */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName);
    const hit = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c));
    if (hit) out.push(hit);
  }
  return out;
}

/**
 * The groups of nodes that reach each other (strongly connected components, Tarjan), each shown as
 * the shortest cycle through its first node, then every member: "a → b → a (a, b, c)".
 */
function findCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (n: string): void => {
    index.set(n, next);
    low.set(n, next++);
    stack.push(n);
    onStack.add(n);
    for (const m of graph.get(n) ?? []) {
      if (!index.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n)!, low.get(m)!));
      } else if (onStack.has(m)) low.set(n, Math.min(low.get(n)!, index.get(m)!));
    }
    if (low.get(n) === index.get(n)) {
      const group: string[] = [];
      let m: string;
      do {
        m = stack.pop()!;
        onStack.delete(m);
        group.push(m);
      } while (m !== n);
      if (group.length > 1 || (graph.get(n) ?? []).includes(n)) groups.push(group.sort());
    }
  };
  for (const n of [...graph.keys()].sort()) if (!index.has(n)) visit(n);
  return groups.sort((x, y) => (x[0]! < y[0]! ? -1 : 1)).map((group) => [...shortestLoop(graph, group), `(${group.join(', ')})`]);
}

/** The shortest path from the group's first node back to itself, staying inside the group (breadth first). */
function shortestLoop(graph: Map<string, string[]>, group: string[]): string[] {
  const start = group[0]!;
  const inGroup = new Set(group);
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const m of graph.get(n) ?? []) {
      if (!inGroup.has(m)) continue;
      if (m === start) {
        const path = [n];
        while (path[0] !== start) path.unshift(from.get(path[0]!)!);
        return [...path, start];
      }
      if (!from.has(m)) {
        from.set(m, n);
        queue.push(m);
      }
    }
  }
  return [start];
}

const files = sourceFiles(SRC);
const known = new Set(files);
const moduleGraph = new Map(files.map((f) => [f, importsOf(f, known)]));
const folderOf = (f: string) => relative(SRC, f).split(/[\\/]/)[0]!;
const folderGraph = new Map<string, string[]>();
for (const [f, deps] of moduleGraph) {
  const from = folderOf(f);
  const to = new Set([...(folderGraph.get(from) ?? []), ...deps.map(folderOf).filter((d) => d !== from)]);
  folderGraph.set(from, [...to].sort());
}
const show = (cycles: string[][], name: (n: string) => string) =>
  cycles.map((c) => c.slice(0, -1).map(name).join(' → ') + ' ' + c.at(-1)!.replace(/[^(), ]+/g, name)).join('\n');

describe('src-main imports', () => {
  it('reads the imports it checks (a relative import that resolves to nothing would hide an edge)', () => {
    expect(files.length).toBeGreaterThan(50);
    const usbDump = moduleGraph.get(join(SRC, 'dfu', 'dump.ts')) ?? [];
    expect(usbDump).toContain(join(SRC, 'usb', 'descriptors.ts'));
  });

  it('has no module that imports itself through other modules', () => {
    const cycles = findCycles(moduleGraph);
    expect(show(cycles, (f) => relative(ROOT, f)), 'import cycles between modules').toBe('');
  });

  it('has no folder that imports itself through other folders', () => {
    const cycles = findCycles(folderGraph);
    expect(show(cycles, (f) => `${f}/`), 'import cycles between src-main folders').toBe('');
  });
});

describe('the cycle finder', () => {
  it('finds each group of modules that reach each other once, with its shortest cycle', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', ['d']],
      ['d', ['b']],
      ['e', ['a']],
    ]);
    expect(findCycles(g)).toEqual([['a', 'b', 'a', '(a, b, c, d)']]);
    expect(findCycles(new Map([['x', ['x']], ['y', ['z']], ['z', ['y']]]))).toEqual([
      ['x', 'x', '(x)'],
      ['y', 'z', 'y', '(y, z)'],
    ]);
  });

  it('finds none in a graph that only points down', () => {
    expect(findCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });
});
