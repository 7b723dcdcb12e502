import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/** The stack name `infra/app.ts` deploys under unless `-c stackName=` says otherwise. */
export const DEFAULT_STACK_NAME = 'RunPodGateway';

/**
 * A deployed gateway stack's outputs (`KeyStoreSecretArn`, `JobLedgerTableName`, …), read with
 * the caller's AWS credentials and region, so operators name the stack instead of copying ARNs.
 */
export async function stackOutputsOf(stackName: string): Promise<Record<string, string>> {
  const client = new CloudFormationClient({});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks?.[0];
    if (stack === undefined) throw new Error(`Stack ${stackName} was not found`);
    return Object.fromEntries(
      (stack.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [],
      ),
    );
  } finally {
    client.destroy();
  }
}

/** One named output of the stack, or an error that says which stack lacks it. */
export async function stackOutputOf(stackName: string, output: string): Promise<string> {
  const value = (await stackOutputsOf(stackName))[output];
  if (value === undefined) {
    throw new Error(`Stack ${stackName} has no output ${output}: is it a gateway stack?`);
  }
  return value;
}
