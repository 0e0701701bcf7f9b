import { sameNode } from '../ring/node.js';
import type { RingNode } from '../ring/types.js';

/** True when two id-sorted membership lists hold the same nodes with the same weight and meta. */
export function sameMembers(a: readonly RingNode[], b: readonly RingNode[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameNode(a[i]!, b[i]!)) return false;
  return true;
}
