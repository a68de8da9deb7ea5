// Browser-test helpers for issue-level checks: axe-core injected into the page (no serious or critical
// violation), no horizontal scroll, an element wholly inside the viewport.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Locator, Page } from 'playwright-core';

// The root tsconfig has no DOM library; these run in the page.
declare const window: Record<string, unknown> & { innerWidth: number };
declare const document: { documentElement: { scrollWidth: number }; querySelectorAll(s: string): ArrayLike<PageElement> };
declare function getComputedStyle(el: PageElement): { overflowX: string };
interface PageElement { scrollWidth: number; clientWidth: number; closest(s: string): unknown }

// Evaluated through the DevTools protocol, as a test harness may: the page's CSP (script-src 'self') stays as shipped.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  const all = await page.evaluate(async () => {
    const axe = window.axe as { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> };
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, ...(n.failureSummary ? { failureSummary: n.failureSummary } : {}) })) }));
  });
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Widest scrolling overflow of the page or of any scroll container, beyond its own width, in px. */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    let worst = document.documentElement.scrollWidth - window.innerWidth;
    for (const el of Array.from(document.querySelectorAll('*'))) {
      const cs = getComputedStyle(el);
      if (cs.overflowX === 'auto' || cs.overflowX === 'scroll') {
        // Tables may scroll inside their own box (a wide hex dump); the page and its panes may not.
        if (el.closest('[data-scroll-x]')) continue;
        worst = Math.max(worst, el.scrollWidth - el.clientWidth);
      }
    }
    return worst;
  });
}

/** True when the element's box lies wholly inside the viewport. */
export async function insideViewport(page: Page, el: Locator): Promise<{ inside: boolean; box: { x: number; y: number; width: number; height: number } | null; viewport: { width: number; height: number } }> {
  const box = await el.boundingBox();
  const viewport = page.viewportSize()!;
  const inside = !!box && box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width + 0.5 && box.y + box.height <= viewport.height + 0.5;
  return { inside, box, viewport };
}

export const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 800 },
  { width: 1024, height: 700 },
] as const;

/**
 * Starts recording the page's main-thread long tasks (Chromium's PerformanceObserver 'longtask': any
 * task over 50 ms). The returned function gives their durations in ms since the call, longest first.
 */
export async function watchLongTasks(page: Page): Promise<() => Promise<number[]>> {
  const key = `__longTasks${Date.now()}`;
  await page.evaluate((k) => {
    const w = window as Record<string, unknown>;
    const list: number[] = [];
    w[k] = list;
    const PO = w.PerformanceObserver as new (cb: (l: { getEntries(): { duration: number }[] }) => void) => { observe(o: unknown): void };
    new PO((l) => {
      for (const e of l.getEntries()) list.push(Math.round(e.duration));
    }).observe({ type: 'longtask' });
  }, key);
  return async () => (await page.evaluate((k) => [...((window as Record<string, unknown>)[k] as number[])], key)).sort((a, b) => b - a);
}
