import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  CfnInsightRule,
  ComparisonOperator,
  ConcreteWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/observability/request-metrics.ts';

const PERIOD = Duration.minutes(5);

export interface GatewayDashboardProps {
  /** The `service` dimension of the functions' metrics (`SERVICE_NAME`). */
  readonly service: string;
  /** Every function's log group: the top-consumer rules read their request lines. */
  readonly logGroups: readonly ILogGroup[];
  /** Whether the functions write the breakdown by operation and surface (else totals only). */
  readonly breakdown: boolean;
}

/**
 * What an operator watches the gateway with: a CloudWatch dashboard of the functions' embedded
 * metrics (traffic, errors, latency, RunPod's health, streams, limits, tokens — per operation and
 * surface through SEARCH expressions over the breakdown), two Contributor Insights rules ranking
 * consumer keys by requests and by GPU time from the request log lines, and the alarms on the
 * totals: RunPod refusing the gateway's key, RunPod's 429s, and the job ledger failing.
 */
export class GatewayDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly topKeysByRequests: CfnInsightRule;
  readonly topKeysByGpuTime: CfnInsightRule;
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: GatewayDashboardProps) {
    super(scope, id);
    const total = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.service },
        period: PERIOD,
        statistic,
      });
    /** One line per operation and surface that has the metric (the total without a breakdown). */
    const breakdown = (metricName: string, statistic = 'Sum', label = metricName) =>
      props.breakdown
        ? new MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,operation,surface} service="${props.service}" MetricName="${metricName}"', '${statistic}', ${PERIOD.toSeconds()})`,
            label,
            period: PERIOD,
            usingMetrics: {},
          })
        : total(metricName, statistic);

    this.topKeysByRequests = this.insightRule('TopKeysByRequests', props.logGroups, {
      Keys: ['$.keyId'],
      Filters: [
        { Match: '$.message', In: ['request completed'] },
        { Match: '$.keyId', IsPresent: true },
      ],
    });
    this.topKeysByGpuTime = this.insightRule(
      'TopKeysByGpuTime',
      props.logGroups,
      {
        Keys: ['$.ownerKeyId'],
        ValueOf: '$.gpuMs',
        Filters: [{ Match: '$.gpuMs', IsPresent: true }],
      },
      'Sum',
    );

    const graph = (title: string, left: (Metric | MathExpression)[], width = 12) =>
      new GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new TextWidget({
            markdown: `# RunPod gateway (${props.service})\nTotals, then each operation and surface. Alarms and their first response: docs/deployment.md, "Runbook".`,
            width: 24,
            height: 2,
          }),
        ],
        [
          graph('Requests per operation and surface', [breakdown('Requests')]),
          graph('Errors (4xx, 5xx)', [total('Errors4xx'), total('Errors5xx')]),
        ],
        [
          graph('Latency p99 per operation and surface (ms)', [breakdown('Latency', 'p99')]),
          graph('Latency (ms)', [total('Latency', 'p50'), total('Latency', 'p99')]),
        ],
        [
          graph('RunPod answers', [
            total('RunPod2xx'),
            total('RunPod4xx'),
            total('RunPod429'),
            total('RunPod5xx'),
            total('RunPodTimeout'),
            total('RunPodUnreachable'),
            total('RunPodAuthFailures'),
          ]),
          graph('RunPod latency (ms)', [
            total('RunPodLatency', 'p50'),
            total('RunPodLatency', 'p99'),
          ]),
        ],
        [
          graph('Streams', [
            total('StreamDone'),
            total('StreamTimeout'),
            total('StreamError'),
            total('StreamDisconnected'),
          ]),
          graph('Stream chunks and duration', [
            total('StreamChunks'),
            total('StreamDuration', 'p99'),
          ]),
        ],
        [
          graph('Limits, auth and the ledger', [
            total('LimiterRejections'),
            total('AuthFailures'),
            total('LedgerFailures'),
            total('IdempotentReplays'),
          ]),
          graph('Tokens (OpenAI-compatible routes)', [
            total('PromptTokens'),
            total('CompletionTokens'),
          ]),
        ],
        [
          new ContributorWidget('Top consumer keys by requests', this.topKeysByRequests, 'Count'),
          new ContributorWidget('Top consumer keys by GPU time (ms)', this.topKeysByGpuTime, 'Sum'),
        ],
      ],
    });

    const alarm = (id: string, description: string, metric: Metric, threshold: number) =>
      new Alarm(this, id, {
        alarmDescription: `RunPod gateway: ${description} See docs/deployment.md, "Runbook".`,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.alarms = [
      alarm(
        'RunPodAuthFailuresAlarm',
        'RunPod refused the gateway’s RunPod key (401/403) in the last 5 minutes: every call on that key fails.',
        total('RunPodAuthFailures'),
        1,
      ),
      alarm(
        'RunPodRateLimitedAlarm',
        '20 or more RunPod 429s in 5 minutes: an endpoint’s limits are reached for every consumer.',
        total('RunPod429'),
        20,
      ),
      alarm(
        'LedgerFailuresAlarm',
        'the job ledger could not be read or written (503 ledger_unavailable) in the last 5 minutes.',
        total('LedgerFailures'),
        1,
      ),
    ];
  }

  private insightRule(
    id: string,
    logGroups: readonly ILogGroup[],
    contribution: Record<string, unknown>,
    aggregateOn: 'Count' | 'Sum' = 'Count',
  ): CfnInsightRule {
    return new CfnInsightRule(this, id, {
      ruleName: `${Stack.of(this).stackName}-${id}`,
      ruleState: 'ENABLED',
      ruleBody: Stack.of(this).toJsonString({
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
        LogGroupNames: logGroups.map((group) => group.logGroupName),
        LogFormat: 'JSON',
        Contribution: contribution,
        AggregateOn: aggregateOn,
      }),
    });
  }
}

/** A Contributor Insights graph of a rule's top contributors (no L2 widget exists for it). */
class ContributorWidget extends ConcreteWidget {
  readonly #title: string;
  readonly #rule: CfnInsightRule;
  readonly #orderBy: 'Count' | 'Sum';

  constructor(title: string, rule: CfnInsightRule, orderBy: 'Count' | 'Sum') {
    super(12, 6);
    this.#title = title;
    this.#rule = rule;
    this.#orderBy = orderBy;
  }

  toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.#title,
          view: 'timeSeries',
          stacked: false,
          region: Stack.of(this.#rule).region,
          insightRule: {
            maxContributorCount: 10,
            orderBy: this.#orderBy,
            ruleName: this.#rule.attrRuleName,
          },
          legend: { position: 'bottom' },
        },
      },
    ];
  }
}
