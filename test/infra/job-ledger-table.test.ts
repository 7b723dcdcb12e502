import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { LONG_RUNNING_OPERATIONS, ROUTES, resourcePathOf } from '../../functions/routes.ts';
import {
  CONCURRENCY_ACTIONS,
  IDEMPOTENCY_ACTIONS,
  JOURNAL_ACTIONS,
  LEDGER_ACTIONS,
  RATE_LIMIT_ACTIONS,
} from '../../infra/constructs/job-ledger-table.ts';
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
        String((resource.Properties as Json).Description).endsWith(` ${resourcePathOf(route)}`),
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

      const table = { 'Fn::GetAtt': [tableLogicalId, 'Arn'] };
      const actionsOf = (actions: readonly string[]) =>
        actions.length === 1 ? actions[0] : [...actions];
      const expected: unknown[] = [];
      if (route.ledger === 'none') {
        expect(LEDGER_ACTIONS[route.operation]).toEqual([]);
      } else {
        expected.push({
          Sid: 'UseJobLedger',
          Effect: 'Allow',
          Action: actionsOf(LEDGER_ACTIONS[route.operation]),
          // Usage reads the owner index, and nothing else of the table.
          Resource:
            route.ledger === 'report' ? { 'Fn::Join': ['', [table, '/index/byOwner']] } : table,
        });
      }
      const idempotency = IDEMPOTENCY_ACTIONS[route.operation];
      if (idempotency !== undefined) {
        expected.push({
          Sid: 'KeepIdempotencyRecords',
          Effect: 'Allow',
          Action: actionsOf(idempotency),
          Resource: table,
          Condition: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idempotency#*'] },
          },
        });
      }
      const journal = JOURNAL_ACTIONS[route.operation];
      if (journal !== undefined) {
        expected.push({
          Sid: 'KeepStreamJournal',
          Effect: 'Allow',
          Action: actionsOf(journal),
          Resource: table,
          Condition: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['journal#*', 'lease#*'] },
          },
        });
      }
      // Every function keeps its keys' rate counters; those that submit or follow jobs, their
      // quotas and jobs in flight too; the OpenAI-compatible ones that answer with tokens, the
      // token counters.
      const counters = route.openAi
        ? route.operation === 'openai-models'
          ? ['rate#*']
          : ['rate#*', 'tokens#*']
        : route.ledger === 'none'
          ? ['rate#*']
          : ['rate#*', 'quota#*', 'flight#*'];
      expected.push({
        Sid: 'CountKeyRates',
        Effect: 'Allow',
        Action: actionsOf(RATE_LIMIT_ACTIONS),
        Resource: table,
        Condition: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': counters,
          },
        },
      });
      if (LONG_RUNNING_OPERATIONS.has(route.operation)) {
        expected.push({
          Sid: 'HoldKeySlots',
          Effect: 'Allow',
          Action: actionsOf(CONCURRENCY_ACTIONS),
          Resource: table,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['conc#*'] } },
        });
      }
      expect(ledgerStatements).toEqual(expected);
      expect(variables.LEDGER_TABLE).toEqual({ Ref: tableLogicalId });
    }
  });

  it('lets submissions write job records but not read them, and follow-ups not create them', () => {
    for (const route of ROUTES) {
      const actions = LEDGER_ACTIONS[route.operation];
      if (route.ledger === 'record') expect(actions).toEqual(['dynamodb:PutItem']);
      if (route.ledger === 'lookup') expect(actions).not.toContain('dynamodb:PutItem');
      if (route.ledger === 'report') expect(actions).toEqual(['dynamodb:Query']);
      else expect(actions.some((action) => /Scan|Query|Delete|\*/.test(action))).toBe(false);
      // Idempotency records (and their deletes) for the submitting functions only.
      expect(IDEMPOTENCY_ACTIONS[route.operation] !== undefined).toBe(route.ledger === 'record');
      // The stream journal's writes (and lease deletes) for the stream function only.
      expect(JOURNAL_ACTIONS[route.operation] !== undefined).toBe(route.operation === 'stream');
    }
  });
});
