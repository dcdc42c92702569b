/** The real peers' addresses, set by test/peers/with-peers.ts; a clear failure when run without them. */
export function peerEnv(
  name:
    | 'KAFKA_BROKERS'
    | 'EHR_BASE_URL'
    | 'DIPS_EHR_BASE_URL'
    | 'DATABASE_URL'
    | 'KEYCLOAK_URL'
    | 'KEYCLOAK_ADMIN_PASSWORD'
    | 'KEYCLOAK_ISSUER'
    | 'KEYCLOAK_TOKEN_URL'
    | 'KEYCLOAK_API_AUDIENCE'
    | 'KEYCLOAK_CLINIC_CLIENT_ID'
    | 'KEYCLOAK_CLINIC_CLIENT_SECRET'
    | 'KEYCLOAK_CLINIC_READONLY_CLIENT_ID'
    | 'KEYCLOAK_CLINIC_READONLY_CLIENT_SECRET',
): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this suite through "npm run test:peers" (test/peers/with-peers.ts)`);
  }
  return value;
}
