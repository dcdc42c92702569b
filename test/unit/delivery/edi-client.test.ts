// The EDI 2.0 adapter against nock: what it sends NHN's message service, and how each answer
// becomes a message id, a receipt or the one failure shape. The peer suite checks the same
// requests against the published OpenAPI (test/contract/edi-message-service.test.ts).
import nock from 'nock';
import { createEdiClient } from '../../../src/delivery/edi-client.ts';
import type { Outcome, EhrFailure } from '../../../src/delivery/ehr.ts';
import { createFhirAuth } from '../../../src/delivery/fhir-auth.ts';
import { createLogger } from '../../../src/platform/logger.ts';

const BASE = 'https://msh.example.test';
const MESSAGE_ID = '0556bccf-1d5a-4c1f-8f6e-2b8e4a9c7d10';
const DOCUMENT =
  '<?xml version="1.0" encoding="UTF-8"?><MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24"><MsgInfo><MsgId>m-1</MsgId></MsgInfo></MsgHead>';

const client = (timeoutMs = 2000) =>
  createEdiClient({
    baseUrl: `${BASE}/`,
    sourceSystem: 'hit-bridge, v0.1.0',
    auth: createFhirAuth(
      { kind: 'bearer', token: 'unit-token' },
      { logger: createLogger({ level: 'silent', pretty: false }) },
    ),
    timeoutMs,
  });

function failureOf<T>(outcome: Outcome<T>): EhrFailure {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.failure;
}

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('the EDI 2.0 client', () => {
  it('posts the document base64-encoded with both required headers, and answers the id NHN gave it', async () => {
    let sent: Record<string, unknown> = {};
    const scope = nock(BASE, {
      reqheaders: {
        'api-version': '2',
        'nhn-source-system': 'hit-bridge, v0.1.0',
        authorization: 'Bearer unit-token',
        'content-type': 'application/json',
      },
    })
      .post('/Messages', (body: Record<string, unknown>) => {
        sent = body;
        return true;
      })
      .reply(201, JSON.stringify(MESSAGE_ID), {
        'content-type': 'application/json',
        location: `/Messages/${MESSAGE_ID}`,
      });
    const outcome = await client().send({ businessDocument: DOCUMENT, receiverHerIds: [8012345] });
    expect(outcome).toEqual({ ok: true, result: { messageId: MESSAGE_ID } });
    expect(sent).toEqual({
      businessDocument: Buffer.from(DOCUMENT, 'utf8').toString('base64'),
      contentType: 'application/xml',
      contentTransferEncoding: 'base64',
      receiverHerIdsSubset: [8012345],
    });
    expect(scope.isDone()).toBe(true);
  });

  it('reads the status alone while no receipt has come', async () => {
    nock(BASE)
      .get(`/Messages/${MESSAGE_ID}/status`)
      .reply(200, [{ receiverHerId: 8012345, transportDeliveryState: 'Unconfirmed', appRecStatus: null }]);
    expect(await client().receipts(MESSAGE_ID)).toEqual({
      ok: true,
      result: [{ receiverHerId: 8012345, transport: 'Unconfirmed', appRec: undefined }],
    });
  });

  it('reads the AppRec with its errors once the status says one came', async () => {
    nock(BASE)
      .get(`/Messages/${MESSAGE_ID}/status`)
      .reply(200, [{ receiverHerId: 8012345, transportDeliveryState: 'Acknowledged', appRecStatus: 'Rejected' }])
      .get(`/Messages/${MESSAGE_ID}/apprec`)
      .reply(200, [
        {
          receiverHerId: 8012345,
          appRecStatus: 'Rejected',
          appRecErrorList: [
            {
              errorCode: 'E10',
              details: 'Ukjent mottaker',
              description: 'Ugyldig mottaker',
              oid: '2.16.578.1.12.4.1.1.8221',
            },
          ],
        },
      ]);
    expect(await client().receipts(MESSAGE_ID)).toEqual({
      ok: true,
      result: [
        {
          receiverHerId: 8012345,
          transport: 'Acknowledged',
          appRec: {
            status: 'Rejected',
            errors: [{ code: 'E10', details: 'Ukjent mottaker', description: 'Ugyldig mottaker' }],
          },
        },
      ],
    });
  });

  it("makes NHN's 400 a permanent failure in its own words, national ids masked", async () => {
    nock(BASE)
      .post('/Messages')
      .reply(400, {
        error: 'Could not deduce addressees for patient 15838812381',
        errorCode: 1200,
        validationErrors: ['receiver 99999 is unknown'],
        requestId: 'r-1',
      });
    const failure = failureOf(await client().send({ businessDocument: DOCUMENT }));
    expect(failure).toMatchObject({ retriable: false, httpStatus: 400 });
    expect(failure.message).toContain('errorCode 1200: Could not deduce addressees');
    expect(failure.message).toContain('receiver 99999 is unknown');
    expect(failure.message).not.toContain('15838812381');
  });

  it('makes 503 and 423 transient, honouring Retry-After', async () => {
    nock(BASE).post('/Messages').reply(503, 'busy', { 'retry-after': '7' });
    expect(failureOf(await client().send({ businessDocument: DOCUMENT }))).toMatchObject({
      retriable: true,
      httpStatus: 503,
      retryAfterMs: 7000,
    });
    nock(BASE).get(`/Messages/${MESSAGE_ID}/status`).reply(423, { error: 'HER-id locked', requestId: 'r-2' });
    expect(failureOf(await client().receipts(MESSAGE_ID))).toMatchObject({ retriable: true, httpStatus: 423 });
  });

  it('makes no answer a transient failure without a status', async () => {
    nock(BASE).post('/Messages').replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    const failure = failureOf(await client().send({ businessDocument: DOCUMENT }));
    expect(failure).toMatchObject({ retriable: true, httpStatus: undefined });
    expect(failure.message).toContain('no answer');
  });
});
