/**
 * hit-bridge's own identity on Norsk Helsenett: the hospital and the sending department, each
 * with its HER-id, and the hospital's organisation number. Read from configuration and checked
 * at start-up, so a message is never built with half a sender.
 */
import { parseHerId } from '../../domain/her-id.ts';
import { parseOrganisationNumber } from '../../domain/organisation-number.ts';
import type { Config } from '../../platform/config.ts';

export interface SenderIdentity {
  readonly organisation: { readonly name: string; readonly herId: string; readonly organisationNumber: string };
  readonly department: { readonly name: string; readonly herId: string };
}

const KEYS = [
  'HOSPITAL_NAME',
  'HOSPITAL_HER_ID',
  'HOSPITAL_ORGANISATION_NUMBER',
  'HOSPITAL_DEPARTMENT_NAME',
  'HOSPITAL_DEPARTMENT_HER_ID',
] as const;

/** The configured sender, or undefined when no key is set; throws naming every problem otherwise. */
export function senderIdentityFromConfig(config: Config): SenderIdentity | undefined {
  const values = Object.fromEntries(KEYS.map((key) => [key, config[key]])) as Record<
    (typeof KEYS)[number],
    string | undefined
  >;
  if (KEYS.every((key) => values[key] === undefined)) return undefined;
  const problems = KEYS.filter((key) => values[key] === undefined).map(
    (key) => `${key} is missing (the ${KEYS.join(', ')} keys are set together)`,
  );
  for (const key of ['HOSPITAL_HER_ID', 'HOSPITAL_DEPARTMENT_HER_ID'] as const) {
    const value = values[key];
    const parsed = value === undefined ? undefined : parseHerId(value);
    if (parsed !== undefined && !parsed.ok) problems.push(`${key} is not a HER-id: ${parsed.reason}`);
  }
  const orgnr = values.HOSPITAL_ORGANISATION_NUMBER;
  const parsedOrgnr = orgnr === undefined ? undefined : parseOrganisationNumber(orgnr);
  if (parsedOrgnr !== undefined && !parsedOrgnr.ok) {
    problems.push(`HOSPITAL_ORGANISATION_NUMBER is not an organisation number: ${parsedOrgnr.reason}`);
  }
  if (values.HOSPITAL_HER_ID !== undefined && values.HOSPITAL_HER_ID === values.HOSPITAL_DEPARTMENT_HER_ID) {
    problems.push('HOSPITAL_DEPARTMENT_HER_ID must differ from HOSPITAL_HER_ID (the department is its own party)');
  }
  if (problems.length > 0) throw new Error(`the e-messaging sender identity: ${problems.join('; ')}`);
  return {
    organisation: {
      name: values.HOSPITAL_NAME ?? '',
      herId: values.HOSPITAL_HER_ID ?? '',
      organisationNumber: values.HOSPITAL_ORGANISATION_NUMBER ?? '',
    },
    department: { name: values.HOSPITAL_DEPARTMENT_NAME ?? '', herId: values.HOSPITAL_DEPARTMENT_HER_ID ?? '' },
  };
}
