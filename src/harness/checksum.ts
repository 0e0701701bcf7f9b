/**
 * The fingerprint of one delivery, (message id, user index) -> 32 bits.
 * Nodes add these up (sum and xor, both order-independent) so a run can
 * prove that both modes delivered the same messages to the same users, not
 * just the same number of them.
 */
export function mixDelivery(messageId: number, user: number): number {
  let h = Math.imul(messageId ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(user + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A running order-independent checksum of deliveries. */
export class DeliveryChecksum {
  #sum = 0;
  #xor = 0;

  add(messageId: number, user: number): void {
    const h = mixDelivery(messageId, user);
    this.#sum = (this.#sum + h) >>> 0;
    this.#xor = (this.#xor ^ Math.imul(h, 0x9e3779b1)) >>> 0;
  }

  /** Folds in another node's checksum. */
  merge(hex: string): void {
    this.#sum = (this.#sum + parseInt(hex.slice(0, 8), 16)) >>> 0;
    this.#xor = (this.#xor ^ parseInt(hex.slice(8, 16), 16)) >>> 0;
  }

  /** 16 hex digits. */
  toString(): string {
    return this.#sum.toString(16).padStart(8, '0') + this.#xor.toString(16).padStart(8, '0');
  }
}
