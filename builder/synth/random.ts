/**
 * A small deterministic PRNG: xoshiro128** seeded through splitmix32. The same seed gives the same stream on
 * every platform (pure 32-bit integer arithmetic), which is what makes a synthetic dataset reproducible.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  /** `seed` is any integer up to 2^53; `stream` separates independent streams drawn from the same seed. */
  constructor(seed: number, stream = 0) {
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x100000000) >>> 0;
    const state = { s: (low ^ Math.imul(high, 0x27d4eb2d) ^ Math.imul(stream + 1, 0x165667b1)) | 0 };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = splitmix32(state) | 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in (0, 1]: safe to take the logarithm of. */
  uniformOpen(): number {
    return 1 - this.uniform();
  }

  range(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal (Marsaglia's polar method, keeping the second value). */
  gauss(): number {
    if (!Number.isNaN(this.spare)) {
      const value = this.spare;
      this.spare = NaN;
      return value;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * factor;
    return u * factor;
  }

  normal(mean: number, sigma: number): number {
    return mean + sigma * this.gauss();
  }

  exponential(mean: number): number {
    return -mean * Math.log(this.uniformOpen());
  }

  /** Exponential restricted to [low, high] with density ∝ exp(-x/mean). */
  truncatedExponential(mean: number, low: number, high: number): number {
    const a = Math.exp(-low / mean);
    const b = Math.exp(-high / mean);
    return -mean * Math.log(a - (a - b) * this.uniform());
  }

  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }

  /** Beta(a, 1) or Beta(1, b) shapes via inverse transform; enough for tagger-like scores. */
  powerLaw(exponent: number): number {
    return Math.pow(this.uniform(), 1 / exponent);
  }

  /**
   * Relativistic Breit–Wigner in the mass: s = M² + MΓ tan θ with θ uniform, which is exact for
   * 1/((s − M²)² + M²Γ²), restricted to [low, high].
   */
  breitWigner(mass: number, width: number, low: number, high: number): number {
    const mg = mass * width;
    const t0 = Math.atan((low * low - mass * mass) / mg);
    const t1 = Math.atan((high * high - mass * mass) / mg);
    const s = mass * mass + mg * Math.tan(t0 + (t1 - t0) * this.uniform());
    return Math.sqrt(s);
  }

  /** A transverse momentum with a Drell–Yan-like shape: ∝ qT / (qT² + q0²)^power, power > 1. */
  recoilPt(q0: number, power = 2.5): number {
    const u = this.uniformOpen();
    return q0 * Math.sqrt(Math.pow(u, -1 / (power - 1)) - 1);
  }

  /** An index drawn with probability proportional to `weights`. */
  choose(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
