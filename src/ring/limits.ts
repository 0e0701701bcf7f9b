/** Longest accepted node id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 1024;
/** Largest accepted node weight. */
export const MAX_WEIGHT = 100;
/** Largest accepted `vnodes` (points per unit of weight). */
export const MAX_VNODES = 10_000;
/** Default `vnodes`: the busiest of 10 nodes owns at most 1.25x the mean in about 99% of clusters (98.6% measured, see docs/ring.md). */
export const DEFAULT_VNODES = 160;
/** Most points one ring may hold (all nodes together); keeps memory bounded. */
export const MAX_POINTS = 1 << 24;
/** Most meta entries per node. */
export const MAX_META_ENTRIES = 64;
/** Longest meta key or value, in UTF-16 code units. */
export const MAX_META_LENGTH = 4096;
