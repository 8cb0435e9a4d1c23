import type { Rng } from './random.ts';

/** √(a² + b²): Math.hypot guards against overflow, which these magnitudes never reach, and is several times slower. */
export function quadrature(a: number, b: number): number {
  return Math.sqrt(a * a + b * b);
}

/** A four-momentum in MeV (E, px, py, pz), with the few operations the toys need. */
export class P4 {
  constructor(
    public px: number,
    public py: number,
    public pz: number,
    public e: number,
  ) {}

  static ptEtaPhiM(pt: number, eta: number, phi: number, m: number): P4 {
    const px = pt * Math.cos(phi);
    const py = pt * Math.sin(phi);
    const pz = pt * Math.sinh(eta);
    return new P4(px, py, pz, Math.sqrt(px * px + py * py + pz * pz + m * m));
  }

  /** From transverse momentum, rapidity, azimuth and mass. */
  static ptYPhiM(pt: number, y: number, phi: number, m: number): P4 {
    const mt = Math.sqrt(pt * pt + m * m);
    return new P4(pt * Math.cos(phi), pt * Math.sin(phi), mt * Math.sinh(y), mt * Math.cosh(y));
  }

  get pt(): number {
    return quadrature(this.px, this.py);
  }
  get p(): number {
    return Math.sqrt(this.px * this.px + this.py * this.py + this.pz * this.pz);
  }
  get phi(): number {
    return Math.atan2(this.py, this.px);
  }
  get eta(): number {
    const pt = this.pt;
    if (pt === 0) return this.pz >= 0 ? 1e6 : -1e6;
    return Math.asinh(this.pz / pt);
  }
  get mass(): number {
    const m2 = this.e * this.e - this.px * this.px - this.py * this.py - this.pz * this.pz;
    return m2 > 0 ? Math.sqrt(m2) : 0;
  }

  plus(other: P4): P4 {
    return new P4(this.px + other.px, this.py + other.py, this.pz + other.pz, this.e + other.e);
  }

  /** This momentum, given in the rest frame of `frame`, expressed in the frame where `frame` is as given. */
  boostedTo(frame: P4): P4 {
    const bx = frame.px / frame.e;
    const by = frame.py / frame.e;
    const bz = frame.pz / frame.e;
    const b2 = bx * bx + by * by + bz * bz;
    if (b2 <= 0) return new P4(this.px, this.py, this.pz, this.e);
    const gamma = 1 / Math.sqrt(1 - b2);
    const bp = bx * this.px + by * this.py + bz * this.pz;
    const gamma2 = (gamma - 1) / b2;
    return new P4(
      this.px + gamma2 * bp * bx + gamma * bx * this.e,
      this.py + gamma2 * bp * by + gamma * by * this.e,
      this.pz + gamma2 * bp * bz + gamma * bz * this.e,
      gamma * (this.e + bp),
    );
  }
}

export function invariantMass(...parts: P4[]): number {
  let e = 0;
  let px = 0;
  let py = 0;
  let pz = 0;
  for (const p of parts) {
    e += p.e;
    px += p.px;
    py += p.py;
    pz += p.pz;
  }
  const m2 = e * e - px * px - py * py - pz * pz;
  return m2 > 0 ? Math.sqrt(m2) : 0;
}

/** Momentum of either daughter in the rest frame of a parent of mass m decaying to masses m1, m2. */
export function twoBodyMomentum(m: number, m1: number, m2: number): number {
  const a = m * m - (m1 + m2) * (m1 + m2);
  const b = m * m - (m1 - m2) * (m1 - m2);
  return a <= 0 ? 0 : Math.sqrt(a * b) / (2 * m);
}

/** cos θ distributions for two-body decays, θ measured from the beam axis in the parent rest frame. */
export type Angular = 'isotropic' | 'vector' | 'vminusa-plus' | 'vminusa-minus';

function sampleCosTheta(rng: Rng, angular: Angular): number {
  switch (angular) {
    case 'isotropic':
      return 2 * rng.uniform() - 1;
    case 'vector': {
      // 1 + cos²θ, by rejection (acceptance 2/3).
      for (;;) {
        const c = 2 * rng.uniform() - 1;
        if (2 * rng.uniform() <= 1 + c * c) return c;
      }
    }
    case 'vminusa-plus':
    case 'vminusa-minus': {
      // (1 ± cos θ)², the V−A shape of a W decay's charged lepton.
      const sign = angular === 'vminusa-plus' ? 1 : -1;
      for (;;) {
        const c = 2 * rng.uniform() - 1;
        const f = (1 + sign * c) * (1 + sign * c);
        if (4 * rng.uniform() <= f) return c;
      }
    }
  }
}

/** Decays `parent` into two daughters of masses m1 and m2; returns them in the lab frame. */
export function twoBodyDecay(rng: Rng, parent: P4, m1: number, m2: number, angular: Angular = 'isotropic'): [P4, P4] {
  const m = parent.mass;
  const p = twoBodyMomentum(m, m1, m2);
  const cos = sampleCosTheta(rng, angular);
  const sin = Math.sqrt(Math.max(0, 1 - cos * cos));
  const phi = 2 * Math.PI * rng.uniform();
  const px = p * sin * Math.cos(phi);
  const py = p * sin * Math.sin(phi);
  const pz = p * cos;
  const d1 = new P4(px, py, pz, Math.sqrt(p * p + m1 * m1));
  const d2 = new P4(-px, -py, -pz, Math.sqrt(p * p + m2 * m2));
  return [d1.boostedTo(parent), d2.boostedTo(parent)];
}

export function deltaPhi(a: number, b: number): number {
  let d = a - b;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return d;
}

export function wrapPhi(phi: number): number {
  return Math.atan2(Math.sin(phi), Math.cos(phi));
}
