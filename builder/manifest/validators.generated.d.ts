// Types of the ahead-of-time compiled validators (scripts/generate-validators.ts).
import type { ErrorObject } from 'ajv';

export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export const validateLayer: CompiledValidator;
export const validateManifest: CompiledValidator;
