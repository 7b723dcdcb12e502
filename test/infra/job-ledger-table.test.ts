import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/routes.ts';
import { LEDGER_ACTIONS } from '../../infra/constructs/job-ledger-table.ts';
import { synthGateway } from './gateway-fixture.ts';

type Json = Record<string, unknown>;

interface Statement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

describe('the job ledger table', () => {
  const fixture = synthGateway();
  const tableLogicalId = Stack.of(fixture.gateway).getLogicalId(
    fixture.gateway.ledgerTable.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
  );

  it('is one on-demand table with point-in-time recovery, encryption and a TTL attribute, kept on delete', () => {
    fixture.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    fixture.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
  });

  it('takes its removal policy from a prop', () => {
    const { template } = synthGateway({ ledgerRemovalPolicy: RemovalPolicy.DESTROY });

    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('grants each function exactly the ledger actions its operation uses, on this table only', () => {
    const functions = fixture.template.findResources('AWS::Lambda::Function');
    const roles = fixture.template.findResources('AWS::IAM::Role');

    for (const route of ROUTES) {
      const fn = Object.values(functions).find((resource) =>
        String((resource.Properties as Json).Description).includes(`/${route.path.split('/')[1]}`),
      );
      if (!fn) throw new Error(`no function for ${route.operation}`);
      const properties = fn.Properties as Json;
      const roleId = (properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';
      const policies = ((roles[roleId]?.Properties ?? {}) as Json).Policies as {
        PolicyDocument: { Statement: Statement[] };
      }[];
      const statements = policies[0]?.PolicyDocument.Statement ?? [];
      const ledgerStatements = statements.filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('dynamodb:')),
      );
      const variables = (properties.Environment as { Variables: Json }).Variables;

      if (route.ledger === 'none') {
        expect(LEDGER_ACTIONS[route.operation]).toEqual([]);
        expect(ledgerStatements).toEqual([]);
        expect(variables.LEDGER_TABLE).toBeUndefined();
      } else {
        expect(ledgerStatements).toEqual([
          {
            Sid: 'UseJobLedger',
            Effect: 'Allow',
            Action:
              LEDGER_ACTIONS[route.operation].length === 1
                ? LEDGER_ACTIONS[route.operation][0]
                : [...LEDGER_ACTIONS[route.operation]],
            Resource: { 'Fn::GetAtt': [tableLogicalId, 'Arn'] },
          },
        ]);
        expect(variables.LEDGER_TABLE).toEqual({ Ref: tableLogicalId });
      }
    }
  });

  it('gives submissions write access but no read, and follow-ups no way to create records', () => {
    for (const route of ROUTES) {
      const actions = LEDGER_ACTIONS[route.operation];
      if (route.ledger === 'record') expect(actions).not.toContain('dynamodb:GetItem');
      if (route.ledger === 'lookup') expect(actions).not.toContain('dynamodb:PutItem');
      expect(actions.some((action) => /Scan|Query|Delete|\*/.test(action))).toBe(false);
    }
  });
});
