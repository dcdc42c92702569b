/**
 * The overload part's door in front of the EHR: it lets `capacity` requests in at once, answers
 * 503 to any more, passes everything else on unchanged, and counts both.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { narrowDoor, type NarrowDoor } from '../../../bench/lib/overload.ts';

let upstream: Server;
let door: NarrowDoor;
/** Requests the upstream holds until released. */
const held: (() => void)[] = [];

beforeEach(async () => {
  upstream = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      held.push(() => {
        response.writeHead(200, { 'content-type': 'application/fhir+json', 'x-path': request.url ?? '' });
        response.end(JSON.stringify({ method: request.method, body }));
      });
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  door = await narrowDoor(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/fhir`, 2);
});

afterEach(async () => {
  releaseAll();
  await door.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

function releaseAll(): void {
  for (const release of held.splice(0)) release();
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('narrow door (bench overload part)', () => {
  it('lets two requests in at once, refuses the third with 503, and passes method, path and body on', async () => {
    const post = (n: number) =>
      fetch(`${door.url}/Patient?n=${n}`, { method: 'POST', body: `bundle ${n}` }).then(async (response) => ({
        status: response.status,
        path: response.headers.get('x-path'),
        body: await response.json(),
      }));
    const first = post(1);
    const second = post(2);
    await until(() => held.length === 2);
    const third = await post(3);
    expect(third.status).toBe(503);
    expect(third.body).toMatchObject({ resourceType: 'OperationOutcome' });

    releaseAll();
    const answers = await Promise.all([first, second]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.path)).toEqual(['/fhir/Patient?n=1', '/fhir/Patient?n=2']);
    expect(answers.map((answer) => answer.body)).toEqual([
      { method: 'POST', body: 'bundle 1' },
      { method: 'POST', body: 'bundle 2' },
    ]);
    expect(door.counts()).toEqual({ forwarded: 2, refused: 1, mostInFlight: 2 });

    // Room again once the EHR has answered.
    const fourth = post(4);
    await until(() => held.length === 1);
    releaseAll();
    expect((await fourth).status).toBe(200);
    expect(door.counts()).toEqual({ forwarded: 3, refused: 1, mostInFlight: 2 });
    door.reset();
    expect(door.counts()).toEqual({ forwarded: 0, refused: 0, mostInFlight: 0 });
  });
});
