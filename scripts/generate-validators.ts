/**
 * Writes builder/manifest/validators.generated.js from builder/manifest/schema.ts (the logic is
 * builder/manifest/generate-validators.ts; tests/unit/validators.test.ts fails when the file is out of date).
 * Run: npx tsx scripts/generate-validators.ts
 */
import { echo, fs, path } from 'zx';
import { generateValidators, VALIDATORS_FILE } from '../builder/manifest/generate-validators.ts';

await fs.writeFile(VALIDATORS_FILE, generateValidators());
echo(`wrote ${path.relative(process.cwd(), VALIDATORS_FILE)}`);
