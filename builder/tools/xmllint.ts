import { run } from './exec.ts';

/** Validates an XML file against an XSD, offline; throws with xmllint's complaints when it does not validate. */
export async function xmllintValidate(file: string, schema: string): Promise<void> {
  await run('xmllint', ['--noout', '--nonet', '--schema', schema, file], { aptPackage: 'libxml2-utils' });
}
