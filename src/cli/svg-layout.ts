/**
 * Where text goes in the chart: an estimate of each text's box, and a
 * placer that puts a label at the first candidate position that stays in
 * the drawing and clear of every text, marker and line placed before it. No font is loaded
 * to measure, so widths are estimated on the wide side of Helvetica/Arial.
 */

/** An axis-aligned box: left, top, width, height. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type Anchor = 'start' | 'middle' | 'end';

/** Average advance per character, in ems: above Arial's 0.55 for digits and lower case, so estimates err wide. */
const EM_PER_CHAR = 0.62;
const EM_PER_CHAR_BOLD = 0.68;

/** The box of one line of text drawn at (x, y) (y is the baseline), as `<text>` with `text-anchor` draws it. */
export function textBox(text: string, x: number, y: number, size: number, anchor: Anchor, bold = false): Box {
  const w = [...text].length * size * (bold ? EM_PER_CHAR_BOLD : EM_PER_CHAR);
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w;
  // Ascenders reach about 0.8 em above the baseline, descenders 0.25 em below.
  return { x: left, y: y - size * 0.8, w, h: size * 1.05 };
}

export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function inside(inner: Box, outer: Box): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

/** A straight line from (x1, y1) to (x2, y2). */
export interface Segment {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** Whether `segment` passes through `box` (Liang-Barsky clipping). */
export function crosses(segment: Segment, box: Box): boolean {
  const dx = segment.x2 - segment.x1;
  const dy = segment.y2 - segment.y1;
  let t0 = 0;
  let t1 = 1;
  const edges: Array<[number, number]> = [
    [-dx, segment.x1 - box.x],
    [dx, box.x + box.w - segment.x1],
    [-dy, segment.y1 - box.y],
    [dy, box.y + box.h - segment.y1],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
    } else {
      const t = q / p;
      if (p < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
      if (t0 > t1) return false;
    }
  }
  return true;
}

/** The boxes and lines taken so far in a drawing of the given bounds. */
export class Layout {
  readonly #bounds: Box;
  readonly #taken: Box[] = [];
  readonly #lines: Segment[] = [];

  constructor(bounds: Box) {
    this.#bounds = bounds;
  }

  /** Marks `box` as taken, whether or not it is free (titles, axes, the legend). */
  reserve(box: Box): void {
    this.#taken.push(box);
  }

  /** Marks a drawn line, which labels placed later keep clear of. */
  reserveLine(segment: Segment): void {
    this.#lines.push(segment);
  }

  /** Whether `box` is inside the bounds and clear of everything taken. */
  fits(box: Box): boolean {
    return inside(box, this.#bounds) && !this.#taken.some((t) => overlaps(t, box)) && !this.#lines.some((l) => crosses(l, box));
  }

  /** Takes the first candidate that fits and returns its index, or -1 when none does (the label is left out). */
  place(candidates: readonly Box[]): number {
    const index = candidates.findIndex((box) => this.fits(box));
    if (index !== -1) this.#taken.push(candidates[index]!);
    return index;
  }
}
