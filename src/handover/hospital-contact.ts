/** The hospital contact the packets name when a discharge gives none (HOSPITAL_CONTACT_*). */
import type { Config } from '../platform/config.ts';
import type { HandoverFacts } from './types.ts';

export type HospitalContact = HandoverFacts['hospitalContact'];

/**
 * The configured fallback: organisation, name and a phone or e-mail, or nothing at all.
 * Half a contact is a configuration mistake, refused at start-up rather than sent to a municipality.
 */
export function hospitalContactFromConfig(config: Config): HospitalContact | undefined {
  const organisation = config.HOSPITAL_CONTACT_ORGANISATION;
  const name = config.HOSPITAL_CONTACT_NAME;
  const phone = config.HOSPITAL_CONTACT_PHONE;
  const email = config.HOSPITAL_CONTACT_EMAIL;
  if ([organisation, name, phone, email].every((value) => value === undefined)) return undefined;
  if (organisation === undefined || name === undefined || (phone === undefined && email === undefined)) {
    throw new Error(
      'HOSPITAL_CONTACT_ORGANISATION, HOSPITAL_CONTACT_NAME and HOSPITAL_CONTACT_PHONE or HOSPITAL_CONTACT_EMAIL must be set together (or none of them)',
    );
  }
  return { organisation, name, ...(phone === undefined ? {} : { phone }), ...(email === undefined ? {} : { email }) };
}
