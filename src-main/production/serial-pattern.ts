// A recipe's serialPattern: regular-expression syntax, matched in time linear in the serial, whatever
// the pattern (no backtracking). JavaScript's RegExp backtracks: `^(a|a)+$` on 27 characters took 3.8 s
// and doubles per character, and a recipe comes from a file. So the pattern is parsed here into a
// Thompson NFA (Thompson, "Regular expression search algorithm", CACM 11(6), 1968) and run by keeping
// the set of live states per character: O(serial length × pattern states), never exponential.
//
// Syntax (a subset of ECMAScript's, so existing patterns keep their meaning): literals; `.`; escapes
// \d \D \w \W \s \S and escaped punctuation; classes [a-z0-9_] and [^…]; groups ( … ) and (?: … );
// alternation |; quantifiers * + ? {n} {n,} {n,m} (n, m ≤ 64), lazy forms accepted (same match);
// anchors ^ at the start and $ at the end. Refused with a reason: backreferences, lookaround, named
// groups, flags, anchors elsewhere. Unanchored patterns match anywhere in the serial, as RegExp.test.

type CharTest = (c: number) => boolean;

type Node =
  | { k: 'char'; test: CharTest }
  | { k: 'seq'; items: Node[] }
  | { k: 'alt'; options: Node[] }
  | { k: 'rep'; node: Node; min: number; max: number } // max = Infinity for unbounded
  | { k: 'empty' };

const MAX_COUNT = 64;
const MAX_STATES = 20_000;

export class SerialPatternError extends Error {}

const isDigit: CharTest = (c) => c >= 48 && c <= 57;
const isWord: CharTest = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: CharTest = (c) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029;

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): { node: Node; start: boolean; end: boolean } {
    let start = false;
    let end = false;
    if (this.src[this.i] === '^') {
      start = true;
      this.i++;
    }
    const node = this.alternation();
    if (this.src[this.i] === '$' && this.i === this.src.length - 1) {
      end = true;
      this.i++;
    }
    if (this.i < this.src.length) this.fail(this.src[this.i] === ')' ? 'unbalanced )' : `"${this.src[this.i]}" here`);
    return { node, start, end };
  }

  private fail(why: string): never {
    throw new SerialPatternError(`${why} at character ${this.i + 1}`);
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0]! : { k: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length) {
      const c = this.src[this.i]!;
      if (c === '|' || c === ')') break;
      if (c === '$' && this.i === this.src.length - 1) break;
      if (c === '^' || c === '$') this.fail('an anchor (^ or $) is allowed only at the start or the end');
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0]! : items.length === 0 ? { k: 'empty' } : { k: 'seq', items };
  }

  private quantified(node: Node): Node {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (min > MAX_COUNT || (max !== Infinity && max > MAX_COUNT)) this.fail(`a count over ${MAX_COUNT}`);
      if (max < min) this.fail('a count {n,m} with m < n');
    } else return node;
    if (this.src[this.i] === '?') this.i++; // lazy: the same language, so the same answer for test()
    if ('*+?{'.includes(this.src[this.i] ?? '') && !(this.src[this.i] === '{' && !/^\{\d+(,\d*)?\}/.test(this.src.slice(this.i)))) this.fail('a quantifier after a quantifier');
    return { k: 'rep', node, min, max };
  }

  private atom(): Node {
    const c = this.src[this.i]!;
    if (c === '(') {
      this.i++;
      if (this.src[this.i] === '?') {
        if (this.src[this.i + 1] === ':') this.i += 2;
        else this.fail('lookaround and named groups are not supported');
      }
      const inner = this.alternation();
      if (this.src[this.i] !== ')') this.fail('unbalanced (');
      this.i++;
      return inner;
    }
    if (c === '[') return { k: 'char', test: this.klass() };
    if (c === '.') {
      this.i++;
      return { k: 'char', test: (x) => x !== 10 && x !== 13 && x !== 0x2028 && x !== 0x2029 };
    }
    if (c === '\\') return { k: 'char', test: this.escape(false) };
    if ('*+?{}'.includes(c) && !(c === '{' && !/^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) && c !== '}') this.fail('nothing to repeat');
    this.i++;
    const code = c.charCodeAt(0);
    return { k: 'char', test: (x) => x === code };
  }

  private escape(inClass: boolean): CharTest {
    this.i++;
    const e = this.src[this.i];
    if (e === undefined) this.fail('a \\ at the end');
    this.i++;
    switch (e) {
      case 'd':
        return isDigit;
      case 'D':
        return (x) => !isDigit(x);
      case 'w':
        return isWord;
      case 'W':
        return (x) => !isWord(x);
      case 's':
        return isSpace;
      case 'S':
        return (x) => !isSpace(x);
      case 't':
        return (x) => x === 9;
      case 'n':
        return (x) => x === 10;
      case 'r':
        return (x) => x === 13;
      default:
        if (/[0-9]/.test(e)) this.fail(e === '0' ? '\\0 is not supported' : 'backreferences are not supported');
        if (!inClass && (e === 'b' || e === 'B')) this.fail('word boundaries are not supported');
        if (/[A-Za-z]/.test(e)) this.fail(`\\${e} is not supported`);
        return (x) => x === e.charCodeAt(0);
    }
  }

  /** A single character of a class (for ranges), or a set when it is an escape like \d. */
  private classAtom(): { code?: number; test: CharTest } {
    if (this.src[this.i] === '\\') {
      const e = this.src[this.i + 1] ?? '';
      const test = this.escape(true);
      return /[dDwWsS]/.test(e) ? { test } : { code: e === 't' ? 9 : e === 'n' ? 10 : e === 'r' ? 13 : e.charCodeAt(0), test };
    }
    const code = this.src.charCodeAt(this.i++);
    return { code, test: (x) => x === code };
  }

  private klass(): CharTest {
    this.i++; // [
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const tests: CharTest[] = [];
    while (this.i < this.src.length && this.src[this.i] !== ']') {
      const a = this.classAtom();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const b = this.classAtom();
        if (a.code === undefined || b.code === undefined) this.fail('a range of a class escape');
        const [lo, hi] = [a.code, b.code];
        if (hi < lo) this.fail('a range out of order');
        tests.push((x) => x >= lo && x <= hi);
      } else tests.push(a.test);
    }
    if (this.src[this.i] !== ']') this.fail('unbalanced [');
    this.i++;
    return negate ? (x) => !tests.some((t) => t(x)) : (x) => tests.some((t) => t(x));
  }
}

// ---- Thompson NFA ----------------------------------------------------------------------------------

interface State {
  /** A character edge: to `next` when the character passes. */
  test?: CharTest;
  next?: number;
  /** Epsilon edges. */
  eps: number[];
}

class Nfa {
  readonly states: State[] = [];
  add(s: Partial<State> = {}): number {
    if (this.states.length >= MAX_STATES) throw new SerialPatternError(`the pattern is too large (over ${MAX_STATES} states once counts are expanded)`);
    this.states.push({ eps: [], ...s });
    return this.states.length - 1;
  }
  /** Builds `node` between a new start state and a new end state; returns both. */
  build(node: Node): [number, number] {
    switch (node.k) {
      case 'empty': {
        const s = this.add();
        return [s, s];
      }
      case 'char': {
        const e = this.add();
        const s = this.add({ test: node.test, next: e });
        return [s, e];
      }
      case 'seq': {
        const [s, e0] = this.build(node.items[0]!);
        let e = e0;
        for (const item of node.items.slice(1)) {
          const [s2, e2] = this.build(item);
          this.states[e]!.eps.push(s2);
          e = e2;
        }
        return [s, e];
      }
      case 'alt': {
        const s = this.add();
        const e = this.add();
        for (const o of node.options) {
          const [s2, e2] = this.build(o);
          this.states[s]!.eps.push(s2);
          this.states[e2]!.eps.push(e);
        }
        return [s, e];
      }
      case 'rep': {
        const s = this.add();
        let e = s;
        for (let n = 0; n < node.min; n++) {
          const [s2, e2] = this.build(node.node);
          this.states[e]!.eps.push(s2);
          e = e2;
        }
        if (node.max === Infinity) {
          const [s2, e2] = this.build(node.node);
          const loop = this.add();
          this.states[e]!.eps.push(loop);
          this.states[loop]!.eps.push(s2);
          this.states[e2]!.eps.push(loop);
          return [s, loop];
        }
        const end = this.add();
        this.states[e]!.eps.push(end);
        for (let n = node.min; n < node.max; n++) {
          const [s2, e2] = this.build(node.node);
          this.states[e]!.eps.push(s2);
          this.states[e2]!.eps.push(end);
          e = e2;
        }
        return [s, end];
      }
    }
  }
}

export interface SerialMatcher {
  /** The pattern as written in the recipe. */
  readonly source: string;
  test(serial: string): boolean;
}

/** Compiles a recipe's serialPattern; throws SerialPatternError saying what is not supported. */
export function compileSerialPattern(source: string): SerialMatcher {
  const { node, start: anchoredStart, end: anchoredEnd } = new Parser(source).parse();
  const nfa = new Nfa();
  const [start, accept] = nfa.build(node);
  const states = nfa.states;

  const closure = (set: Set<number>, from: number) => {
    const stack = [from];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (set.has(s)) continue;
      set.add(s);
      for (const t of states[s]!.eps) stack.push(t);
    }
  };

  return {
    source,
    test(serial: string): boolean {
      let live = new Set<number>();
      closure(live, start);
      for (let i = 0; i <= serial.length; i++) {
        if (live.has(accept) && (!anchoredEnd || i === serial.length)) return true;
        if (i === serial.length) break;
        const c = serial.charCodeAt(i);
        const next = new Set<number>();
        for (const s of live) {
          const st = states[s]!;
          if (st.test && st.test(c)) closure(next, st.next!);
        }
        // Unanchored at the start: a match may begin at every position (RegExp.test semantics).
        if (!anchoredStart) closure(next, start);
        live = next;
      }
      return false;
    },
  };
}
