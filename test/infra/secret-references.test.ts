import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { importSecretReference } from '../../infra/constructs/secret-references.ts';
import { secretArnPatternOf } from './gateway-fixture.ts';

function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

describe('importSecretReference', () => {
  it('grants a complete ARN exactly and passes it on', () => {
    // Prepare
    const stack = newStack();
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/runpod-Ab12Cd';

    // Act
    const access = importSecretReference(stack, 'Key', arn);

    // Assess
    expect(access).toMatchObject({ reference: arn, policyResource: arn });
    expect(access.secret.secretFullArn).toBe(arn);
  });

  it('matches any version suffix of a partial ARN', () => {
    const stack = newStack();
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/runpod';
    const access = importSecretReference(stack, 'Key', arn);
    expect(access).toMatchObject({ reference: arn, policyResource: `${arn}-??????` });
  });

  it('passes a name as is and grants it in the stack account and region', () => {
    const stack = newStack();
    const access = importSecretReference(stack, 'Key', 'team/runpod');
    expect(access.reference).toBe('team/runpod');
    expect(stack.resolve(access.policyResource)).toEqual(secretArnPatternOf('team/runpod'));
  });

  it.each([
    ['an ARN of another service', 'arn:aws:s3:::bucket', /is not a Secrets Manager secret ARN/],
    ['a name with spaces', 'my secret', /is not a Secrets Manager secret name/],
  ])('refuses %s', (_name, reference, message) => {
    expect(() => importSecretReference(newStack(), 'Key', reference)).toThrow(message);
  });
});
