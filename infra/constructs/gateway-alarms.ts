import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  BUFFERED_INTEGRATION_TIMEOUT_SECONDS,
  type Operation,
  ROUTES,
  resourcePathOf,
} from '../../functions/routes.ts';
import { pascalCase } from './names.ts';

const PERIOD = Duration.minutes(5);

/** Buffered responses are cut at 29 s; a p99 above 80 % of that means callers are about to see 504s. */
export const BUFFERED_LATENCY_P99_THRESHOLD_MS = BUFFERED_INTEGRATION_TIMEOUT_SECONDS * 1000 * 0.8;

/** The API 5XX alarm fires from this many 5XX answers in 5 minutes (RunPod outages included). */
export const SERVER_ERRORS_THRESHOLD = 5;

export interface GatewayAlarmTargets {
  readonly api: RestApi;
  readonly stageName: string;
  readonly functions: Readonly<Record<Operation, IFunction>>;
  /** The scheduled sweep of unseen job ends, when it runs. */
  readonly sweep?: IFunction | undefined;
}

/**
 * The alarms an operator wants on day one, without actions: the operator wires them to SNS,
 * PagerDuty, etc. Every alarm treats missing data as not breaching (no traffic is fine).
 */
export function createGatewayAlarms(scope: Construct, targets: GatewayAlarmTargets): Alarm[] {
  const alarms: Alarm[] = [];

  for (const route of ROUTES) {
    const fn = targets.functions[route.operation];
    // Functions turn every failure into a problem response; an Errors datapoint is a crash,
    // a timeout or an out-of-memory, each worth a look.
    alarms.push(
      new Alarm(scope, `${pascalCase(route.operation)}Errors`, {
        alarmDescription: `RunPod gateway: the ${route.operation} function failed (crash, timeout or out of memory) in the last 5 minutes.`,
        metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(scope, `${pascalCase(route.operation)}Throttles`, {
        alarmDescription: `RunPod gateway: the ${route.operation} function was throttled (account or regional concurrency exhausted) in the last 5 minutes.`,
        metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  if (targets.sweep) {
    alarms.push(
      new Alarm(scope, 'JobSweepErrors', {
        alarmDescription:
          'RunPod gateway: the sweep of unseen job ends failed (crash, timeout or the ledger unreadable) in the last 5 minutes; usage and jobs in flight miss the ends of jobs nobody polled until it runs again.',
        metric: targets.sweep.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  alarms.push(
    new Alarm(scope, 'ApiServerErrors', {
      alarmDescription: `RunPod gateway: ${SERVER_ERRORS_THRESHOLD} or more 5XX answers in 5 minutes (gateway faults or RunPod failing).`,
      metric: new Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensionsMap: { ApiName: targets.api.restApiName, Stage: targets.stageName },
        period: PERIOD,
        statistic: 'Sum',
      }),
      threshold: SERVER_ERRORS_THRESHOLD,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }),
  );

  // Per-method latency needs the stage's detailed metrics (enabled by the construct).
  for (const route of ROUTES.filter((candidate) => !candidate.streaming)) {
    for (const method of route.methods) {
      alarms.push(
        new Alarm(scope, `${pascalCase(route.operation)}${method}LatencyP99`, {
          alarmDescription: `RunPod gateway: p99 latency of ${method} ${resourcePathOf(route)} above ${BUFFERED_LATENCY_P99_THRESHOLD_MS} ms in 2 of the last 3 periods of 5 minutes (buffered routes are cut at ${BUFFERED_INTEGRATION_TIMEOUT_SECONDS} s).`,
          metric: new Metric({
            namespace: 'AWS/ApiGateway',
            metricName: 'Latency',
            dimensionsMap: {
              ApiName: targets.api.restApiName,
              Stage: targets.stageName,
              Resource: resourcePathOf(route),
              Method: method,
            },
            period: PERIOD,
            statistic: 'p99',
          }),
          threshold: BUFFERED_LATENCY_P99_THRESHOLD_MS,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }

  return alarms;
}
