/**
 * The gateway's admission control and descriptor budget: slots for upgrades
 * in progress (capped per owner node) and for `GET /route`, each with a
 * FIFO wait queue and a deadline, and a count of the descriptors the
 * gateway's own work holds (a queued upgrade 1, a tunnel 2, a route
 * request 1), checked before any work starts so the process refuses
 * cheaply before its limit instead of failing at it.
 */
import { RingError } from '../errors.js';
import { Admission, type AdmissionStats } from '../sessions/admission.js';
import { type DescriptorBudget, openDescriptorsAsync } from '../sessions/descriptors.js';
import { CapacityWait } from './capacity-wait.js';
import type { ResolvedLimits } from './options.js';
import type { DescriptorStats } from './stats.js';


const SAMPLE_MS = 1000;
/** Warn when the process's descriptors pass this share of its limit; warn again after they fell under the lower share. */
const WARN_AT = 0.9;
const REARM_AT = 0.8;

export class GatewayAdmission {
  readonly upgrades: Admission;
  readonly routes: Admission;
  readonly budget: DescriptorBudget;
  /** `Retry-After` when the gateway is full (tunnels or descriptors): from how fast its tunnels close. */
  readonly capacity = new CapacityWait();
  readonly #report: (error: Error) => void;
  #held = 0;
  #open: number | null = null;
  #exhausted = 0;
  #dropped = 0;
  #exhaustedReported = 0;
  #warned = false;
  #sampling = false;
  readonly #sampler: ReturnType<typeof setInterval>;

  constructor(limits: ResolvedLimits, ringSize: () => number, report: (error: Error) => void) {
    this.budget = {
      limit: limits.maxDescriptors,
      reserved: limits.reservedDescriptors,
      sockets: limits.maxDescriptors - limits.reservedDescriptors,
      source: 'option',
    };
    this.#report = report;
    const perNode = limits.maxPendingPerNode;
    this.upgrades = new Admission({
      maxActive: limits.maxPendingUpgrades,
      maxQueued: limits.maxQueued,
      queueTimeoutMs: limits.queueTimeoutMs,
      // Twice the even share: a frozen node holds its share and some, never every slot.
      maxActivePerGroup: perNode > 0 ? perNode : () => Math.max(4, Math.ceil((2 * limits.maxPendingUpgrades) / Math.max(1, ringSize()))),
    });
    this.routes = new Admission({ maxActive: limits.maxPendingRoutes, maxQueued: limits.maxQueued, queueTimeoutMs: limits.queueTimeoutMs });
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sampler.unref?.();
  }

  /** True when `n` more descriptors fit in the budget (and the process is not at its limit by the last sample). */
  fits(n: number): boolean {
    if (this.#held + n > this.budget.sockets) return false;
    return this.#open === null || this.#open + n < this.budget.limit - this.budget.reserved / 4;
  }

  hold(n: number): void {
    this.#held += n;
  }

  free(n: number): void {
    this.#held -= n;
  }

  /** Counts an accept or connect that failed for lack of descriptors and reports it (at most one event a second, with the count). */
  exhausted(error: Error | undefined, what: 'accept' | 'connect'): void {
    this.#exhausted++;
    const now = Date.now();
    if (now - this.#exhaustedReported < 1000) return;
    this.#exhaustedReported = now;
    const code = (error as { code?: string } | undefined)?.code ?? 'EMFILE';
    this.#report(new RingError('OVERLOADED', `${what} failed: out of descriptors (${code}); ${this.#exhausted} so far, the gateway holds ${this.#held} of its budget of ${this.budget.sockets} (limit ${this.budget.limit})`));
  }

  dropped(): void {
    this.#dropped++;
  }

  stats(): { upgrades: AdmissionStats; routes: AdmissionStats; descriptors: DescriptorStats } {
    return {
      upgrades: this.upgrades.stats(),
      routes: this.routes.stats(),
      descriptors: { limit: this.budget.limit, reserved: this.budget.reserved, held: this.#held, open: this.#open, exhausted: this.#exhausted, dropped: this.#dropped },
    };
  }

  close(): void {
    clearInterval(this.#sampler);
    this.upgrades.close();
    this.routes.close();
  }

  /** Reads the process's open descriptors off the event loop, only while the gateway holds a fair share of its budget. */
  #sample(): void {
    if (this.#sampling) return;
    if (this.#held < this.budget.sockets / 4 && !this.#warned) {
      this.#open = null;
      return;
    }
    this.#sampling = true;
    void openDescriptorsAsync().then((open) => {
      this.#sampling = false;
      this.#open = open;
      if (open === null) return;
      if (!this.#warned && open >= this.budget.limit * WARN_AT) {
        this.#warned = true;
        this.#report(new RingError('OVERLOADED', `descriptors near the limit: ${open} of ${this.budget.limit} open (the gateway's upgrades, tunnels and route requests hold ${this.#held}); new upgrades are refused with 503 past ${this.budget.sockets}`));
      } else if (this.#warned && open < this.budget.limit * REARM_AT) this.#warned = false;
    });
  }
}
