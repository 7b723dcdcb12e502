import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * A Secrets Manager secret the functions read, with what they need to reach it:
 * the reference they are given at run time and the resource their policy names.
 */
export interface SecretAccess {
  readonly secret: ISecret;
  /** What the function passes as `SecretId` (a complete ARN when known, else a name or partial ARN). */
  readonly reference: string;
  /** The IAM resource granting `GetSecretValue` on it and nothing else. */
  readonly policyResource: string;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** Secrets Manager appends `-` and six random characters to the name in a complete ARN. */
const COMPLETE_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Access to a secret handed to the construct as an `ISecret` (created or imported by the caller). */
export function accessOf(secret: ISecret): SecretAccess {
  const fullArn = secret.secretFullArn;
  return {
    secret,
    reference: fullArn ?? secret.secretArn,
    // `ISecret` keeps its policy ARN protected; an imported name or partial ARN matches any
    // version suffix the same way `Secret.grantRead` does.
    policyResource: fullArn ?? `${secret.secretArn}-??????`,
  };
}

/**
 * Imports a secret named in the routing config (`surfaces.*.apiKeySecret`): a complete ARN
 * as is, a partial ARN or a name with the `-??????` suffix wildcard Secrets Manager requires
 * in policies for secrets whose random suffix is unknown.
 */
export function importSecretReference(
  scope: Construct,
  id: string,
  reference: string,
): SecretAccess {
  if (Token.isUnresolved(reference)) {
    throw new Error(
      `Secret reference must be a literal name or ARN known at synth time, got the token ${reference}`,
    );
  }
  if (reference.startsWith('arn:')) {
    if (!SECRET_ARN.test(reference)) {
      throw new Error(
        `"${reference}" is not a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)`,
      );
    }
    if (COMPLETE_ARN_SUFFIX.test(reference)) {
      const secret = Secret.fromSecretCompleteArn(scope, id, reference);
      return { secret, reference, policyResource: reference };
    }
    const secret = Secret.fromSecretPartialArn(scope, id, reference);
    return { secret, reference, policyResource: `${reference}-??????` };
  }
  if (!SECRET_NAME.test(reference)) {
    throw new Error(
      `"${reference}" is not a Secrets Manager secret name (1-512 characters of A-Z a-z 0-9 / _ + = . @ -)`,
    );
  }
  const secret = Secret.fromSecretNameV2(scope, id, reference);
  return {
    secret,
    // The name, not the partial ARN: a name resolves in the function's own account and region,
    // exactly where the policy below points.
    reference,
    policyResource: Stack.of(scope).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${reference}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  };
}
