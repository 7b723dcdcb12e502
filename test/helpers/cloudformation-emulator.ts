import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * CloudFormation's `DescribeStacks` (AWS query protocol: a form-encoded POST answered in XML),
 * serving the outputs of stacks a test declares, so the CLIs' `--aws --stack` can be run against
 * it with the real SDK client. Point the SDK at it with `AWS_ENDPOINT_URL_CLOUDFORMATION`.
 */
export class CloudFormationEmulator {
  readonly #server: Server;
  readonly #stacks = new Map<string, Record<string, string>>();

  constructor(server: Server) {
    this.#server = server;
    server.on('request', (request, response) => {
      const parts: Buffer[] = [];
      request.on('data', (part: Buffer) => parts.push(part));
      request.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(parts).toString('utf8'));
        const name = form.get('StackName') ?? '';
        const outputs = this.#stacks.get(name);
        const [status, body] =
          form.get('Action') !== 'DescribeStacks'
            ? [400, errorXml('InvalidAction', `This emulator serves DescribeStacks only`)]
            : outputs === undefined
              ? [400, errorXml('ValidationError', `Stack with id ${name} does not exist`)]
              : [200, describeStacksXml(name, outputs)];
        response.writeHead(status, {
          'Content-Type': 'text/xml',
          'x-amzn-RequestId': randomUUID(),
        });
        response.end(body);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  addStack(name: string, outputs: Record<string, string>): void {
    this.#stacks.set(name, outputs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

export async function startCloudFormation(): Promise<CloudFormationEmulator> {
  const server = createServer();
  const emulator = new CloudFormationEmulator(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return emulator;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(
      ([key, value]) =>
        `<member><OutputKey>${escapeXml(key)}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`,
    )
    .join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${escapeXml(name)}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${escapeXml(name)}/${randomUUID()}</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-12-01T00:00:00.000Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}
