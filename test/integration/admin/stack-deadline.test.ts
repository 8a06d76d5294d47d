/**
 * The CLI's first call on a stack, CloudFormation's DescribeStacks, has the same deadline as every
 * other AWS call it makes: a silent endpoint fails the command with one line instead of hanging it.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { cli } from '../../helpers/cli-runner';

let silent: Server;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const env = {
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    MIXROUTE_AWS_TIMEOUT_MS: '300',
  };
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});
afterAll(() => {
  silent.close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

test('a silent CloudFormation endpoint: exit 1 within the deadline, one line saying so', async () => {
  const began = Date.now();
  const result = await cli(['keys', 'list', '--stack', 'Mixroute', '--region', 'eu-west-1']);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('mixroute: AWS did not answer in time while reading the outputs of stack "Mixroute" (0.3 s per call): check your network, then try again\n');
  expect(Date.now() - began).toBeLessThan(8_000);
}, 20_000);
