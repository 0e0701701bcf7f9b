/** User ids of the bench: `user:<n>`, n from 0; n is the user's index in the workload and in delivery checksums. */
export function userId(i: number): string {
  return `user:${i}`;
}

/** The index encoded in a {@link userId}. */
export function userIndex(id: string): number {
  return Number(id.slice(5));
}
