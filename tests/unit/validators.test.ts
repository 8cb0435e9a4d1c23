import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateValidators, VALIDATORS_FILE } from '../../builder/manifest/generate-validators.ts';

describe('precompiled manifest validators', () => {
  it('match builder/manifest/schema.ts (run npx tsx scripts/generate-validators.ts after editing it)', () => {
    expect(readFileSync(VALIDATORS_FILE, 'utf8') === generateValidators()).toBe(true);
  });
});
