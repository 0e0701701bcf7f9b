import { describe, expect, it } from 'vitest';
import { StoreOutages } from '../../examples/chaos/store-outages.js';

describe('StoreOutages', () => {
  it('counts the part of a window the store was out, including an outage still going', () => {
    const outages = new StoreOutages();
    expect(outages.overlap(0, 1000)).toBe(0);
    outages.begin(100);
    expect(outages.overlap(0, 300)).toBe(200); // still out: counts up to the window's end
    outages.end(400);
    outages.begin(900);
    outages.end(1000);
    expect(outages.overlap(0, 2000)).toBe(400);
    expect(outages.overlap(200, 950)).toBe(250); // 200..400 and 900..950
    expect(outages.overlap(400, 900)).toBe(0);
  });

  it('ignores an end without a begin and a second begin while out', () => {
    const outages = new StoreOutages();
    outages.end(50);
    outages.begin(100);
    outages.begin(150);
    outages.end(200);
    outages.end(300);
    expect(outages.overlap(0, 1000)).toBe(100);
  });
});
