/**
 * XML Schema validation with libxml2 (Debian's xmllint, package libxml2-utils): the tests and
 * the EDI peer check a message the way a receiving system's parser would. The document goes in
 * on stdin, so nothing is written to disk.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SCHEMAS = {
  /** MsgHead 1.2 + Dialogmelding 1.1 + Base64Container, one pass. */
  handoverMessage: fileURLToPath(new URL('../../contracts/kith/msghead-dialogmelding-1.1.xsd', import.meta.url)),
  appRec10: fileURLToPath(new URL('../../third_party/kith-xsd/apprec-v1.0.xsd', import.meta.url)),
  appRec11: fileURLToPath(new URL('../../third_party/kith-xsd/apprec-v1.1.xsd', import.meta.url)),
} as const;

export type XsdVerdict = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

export function validateAgainstXsd(xml: string, schemaPath: string): XsdVerdict {
  const run = spawnSync('xmllint', ['--noout', '--nonet', '--schema', schemaPath, '-'], {
    input: xml,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error !== undefined) {
    throw new Error(`xmllint could not be run (install libxml2-utils): ${run.error.message}`);
  }
  if (run.status === 0) return { valid: true };
  const errors = run.stderr.split('\n').filter((line) => line.trim() !== '' && !line.endsWith(' fails to validate'));
  return { valid: false, errors };
}
